-- Store a user's context if nobody changed it since it was read (compare and set).
-- KEYS: the user's profile hash. ARGV: the version read ('' when there was none), the
-- context JSON, now (ISO: the user's created_at if the profile is new).
-- Returns {1} when stored, {0} when another write came first (read again and retry).
local version = redis.call('HGET', KEYS[1], 'context_version') or ''
if version ~= ARGV[1] then return {0} end
redis.call('HSET', KEYS[1], 'context', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'context_version', 1)
redis.call('HSETNX', KEYS[1], 'created_at', ARGV[3])
return {1}
