-- A memory hash records the index keys it is in: 'sets' and 'postings' (newline-separated).
-- Memory scripts receive the user's memory keys first:
--   KEYS[1] the memory hash  KEYS[2] memories  KEYS[3] importance  KEYS[4] confidence
--   KEYS[5] created  KEYS[6] expires  KEYS[7] profile  KEYS[8] documents counter

-- Take memory `id` out of the type/category/tag sets and the postings it is in.
local function unlink_memory(id)
  for key in string.gmatch(redis.call('HGET', KEYS[1], 'sets') or '', '[^\n]+') do
    redis.call('SREM', key, id)
  end
  for key in string.gmatch(redis.call('HGET', KEYS[1], 'postings') or '', '[^\n]+') do
    redis.call('ZREM', key, id)
  end
  redis.call('ZREM', KEYS[6], id)
end
