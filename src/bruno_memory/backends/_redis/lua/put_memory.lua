-- Insert a memory, or replace a stored one (its access count and last access stay).
-- KEYS: memory keys (see memory.lua), then its type/category/tag sets, then its postings.
-- ARGV: 'insert' or 'update', expected version (update), id, number of sets, importance,
-- confidence, created (us), expires (us or ''), index terms, now, then one weight per
-- posting, then field/value pairs of the memory hash.
local mode, id, set_count = ARGV[1], ARGV[3], tonumber(ARGV[4])
local posting_count = #KEYS - 8 - set_count
local exists = redis.call('EXISTS', KEYS[1]) == 1
if mode == 'insert' then
  if exists then return {'conflict'} end
  redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[7], 'memory_seq', 1), id)
  redis.call('HSETNX', KEYS[7], 'created_at', ARGV[10])
  redis.call('INCR', KEYS[8])
else
  if not exists then return {'missing'} end
  if redis.call('HGET', KEYS[1], 'version') ~= ARGV[2] then return {'retry'} end
  unlink_memory(id)
end
redis.call('ZADD', KEYS[3], ARGV[5], id)
redis.call('ZADD', KEYS[4], ARGV[6], id)
redis.call('ZADD', KEYS[5], ARGV[7], id)
if ARGV[8] ~= '' then redis.call('ZADD', KEYS[6], ARGV[8], id) end
local sets, postings = {}, {}
for i = 1, set_count do
  sets[i] = KEYS[8 + i]
  redis.call('SADD', sets[i], id)
end
for i = 1, posting_count do
  postings[i] = KEYS[8 + set_count + i]
  redis.call('ZADD', postings[i], ARGV[10 + i], id)
end
local fields = {}
for i = 11 + posting_count, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], 'sets', table.concat(sets, '\n'),
  'postings', table.concat(postings, '\n'), 'terms', ARGV[9], unpack(fields))
redis.call('HINCRBY', KEYS[1], 'version', 1)
return {'ok'}
