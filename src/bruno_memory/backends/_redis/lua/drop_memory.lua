-- Delete a memory. KEYS: memory keys (see memory.lua). ARGV: id.
-- Returns 'ok' and the memory's index terms, or 'missing'.
local id = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local terms = redis.call('HGET', KEYS[1], 'terms') or ''
unlink_memory(id)
for i = 2, 5 do redis.call('ZREM', KEYS[i], id) end
redis.call('DECR', KEYS[8])
redis.call('DEL', KEYS[1])
return {'ok', terms}
