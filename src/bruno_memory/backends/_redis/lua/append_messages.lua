-- Append messages to a conversation: the commit point of store_messages (all or none).
-- KEYS: conversation (see conversation.lua). ARGV: expected owner, writing user ('' = none),
-- now, ttl, refs ttl, search documents' key prefix ('' = postings engine), then per message:
-- id, JSON, role, timestamp (us), index terms (postings) or words (search document).
local expected, user, now = ARGV[1], ARGV[2], ARGV[3]
local ttl, refs_ttl, documents = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local first_arg, width = 7, 5
if owner_of() ~= expected then return {'retry'} end
local refused = admit(user)
if refused then return refused end
local count = (#ARGV - first_arg + 1) / width
for i = 0, count - 1 do
  local id = ARGV[first_arg + i * width]
  if redis.call('HEXISTS', KEYS[2], id) == 1 then return {'conflict', id} end
end
local first = redis.call('HINCRBY', KEYS[1], 'seq', count) - count + 1
local owner = owner_of()
for i = 0, count - 1 do
  local at = first_arg + i * width
  local id, role = ARGV[at], ARGV[at + 2]
  redis.call('HSET', KEYS[2], id, ARGV[at + 1])
  redis.call('ZADD', KEYS[3], first + i, id)
  redis.call('ZADD', KEYS[4], ARGV[at + 3], id)
  if role == 'system' then redis.call('ZADD', KEYS[5], first + i, id) end
  redis.call('HINCRBY', KEYS[1], 'n:' .. role, 1)
  if documents == '' then
    redis.call('HSET', KEYS[7], 'm:' .. id, ARGV[at + 4])
  else
    redis.call('HSET', KEYS[7], 'm:' .. id, '')
    write_document(documents, id, ARGV[at + 4], owner)
  end
end
for _, key in ipairs(redis.call('SMEMBERS', KEYS[6])) do
  if redis.call('HGET', key, 'is_active') == '1' then
    redis.call('HSET', key, 'last_activity', now)
  end
end
refresh_ttl(ttl, refs_ttl)
return {'ok', owner, tostring(first)}
