-- Delete a whole conversation of a user (delete_user).
-- KEYS: conversation. ARGV: user, search documents' key prefix ('' = postings engine).
-- Returns 'ok', messages, sessions, then the refs hash (field, value, ...) so the caller
-- can clean what other slots hold; 'skip' when the conversation is not the user's.
if owner_of() ~= ARGV[1] then return {'skip'} end
local out = {'ok', redis.call('HLEN', KEYS[2]), redis.call('SCARD', KEYS[6])}
for _, item in ipairs(redis.call('HGETALL', KEYS[7])) do out[#out + 1] = item end
drop_documents(ARGV[2], redis.call('HKEYS', KEYS[2]))
for _, key in ipairs(redis.call('SMEMBERS', KEYS[6])) do redis.call('DEL', key) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
return out
