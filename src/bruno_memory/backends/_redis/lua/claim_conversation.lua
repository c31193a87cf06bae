-- Give an unowned conversation (and so its messages) to a user, if no message was added
-- since the caller indexed them for that user (postings engine; with search documents, they
-- are tagged here).
-- KEYS: conversation. ARGV: user, position (seq) the caller read, ttl, refs ttl, search
-- documents' key prefix ('' = postings engine).
local user, seen = ARGV[1], ARGV[2]
local owner = owner_of()
if owner == user then return {'ok'} end
if owner ~= '' then return {'denied', owner} end
if (redis.call('HGET', KEYS[1], 'seq') or '0') ~= seen then return {'retry'} end
redis.call('HSET', KEYS[1], 'owner', user)
redis.call('HSET', KEYS[7], 'owner', user)
tag_documents(ARGV[5], user)
refresh_ttl(tonumber(ARGV[3]), tonumber(ARGV[4]))
return {'ok'}
