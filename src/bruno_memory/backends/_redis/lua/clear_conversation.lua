-- Delete a conversation's messages, but its system messages when ARGV[1] is '1'.
-- KEYS: conversation. ARGV: keep system, ttl, refs ttl, search documents' key prefix ('' =
-- postings engine: the caller removes the postings).
-- Returns the owner, then id and index terms of each deleted message.
local keep_system = ARGV[1] == '1'
local out, deleted = {owner_of()}, {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  if not (keep_system and redis.call('ZSCORE', KEYS[5], id)) then
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGET', KEYS[7], 'm:' .. id) or ''
    deleted[#deleted + 1] = id
    redis.call('HDEL', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
    redis.call('ZREM', KEYS[5], id)
    redis.call('HDEL', KEYS[7], 'm:' .. id)
  end
end
for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(field, 1, 2) == 'n:' and not (keep_system and field == 'n:system') then
    redis.call('HDEL', KEYS[1], field)
  end
end
drop_documents(ARGV[4], deleted)
refresh_ttl(tonumber(ARGV[2]), tonumber(ARGV[3]))
return out
