-- Count one access of each memory (hashes in KEYS) that still exists. ARGV: now (ISO).
-- Returns doc, access count and last access of each, or three false values if it is gone.
local out = {}
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    redis.call('HINCRBY', key, 'access_count', 1)
    redis.call('HSET', key, 'last_accessed', ARGV[1])
  end
  for _, value in ipairs(redis.call('HMGET', key, 'doc', 'access_count', 'last_accessed')) do
    out[#out + 1] = value
  end
end
return out
