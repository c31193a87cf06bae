-- Start a session in a conversation, which the user then owns.
-- KEYS: conversation, then the session hash. ARGV: user, session id, reuse ('1': do
-- nothing when the conversation already has a session), ttl, refs ttl, then field/value
-- pairs of the session hash. A session hash already there is a conflict (an id given twice).
local user, session_id, reuse = ARGV[1], ARGV[2], ARGV[3]
if redis.call('EXISTS', KEYS[8]) == 1 then return {'conflict'} end
local refused = admit(user)
if refused then return refused end
if reuse == '1' and redis.call('SCARD', KEYS[6]) > 0 then return {'exists'} end
local fields = {}
for i = 6, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[8], unpack(fields))
redis.call('SADD', KEYS[6], KEYS[8])
redis.call('HSET', KEYS[7], 's:' .. session_id, '')
refresh_ttl(tonumber(ARGV[4]), tonumber(ARGV[5]))
return {'ok'}
