-- A keyset page of the members of a set (or the fields of a hash) in byte order: at most
-- ARGV[3] of those above ARGV[2] ('': from the first). Redis sets and hashes keep no order,
-- so the members are put in a scratch sorted set of equal scores (ordered by ZRANGEBYLEX,
-- byte by byte, whatever the server's locale) and it is deleted before returning.
-- KEYS: the set or hash, the scratch key (in its slot). ARGV: 'set' or 'hash', after, limit.
local members
if ARGV[1] == 'hash' then
  members = redis.call('HKEYS', KEYS[1])
else
  members = redis.call('SMEMBERS', KEYS[1])
end
if #members == 0 then return {} end
for i = 1, #members, 1000 do
  local batch = {}
  for j = i, math.min(i + 999, #members) do
    batch[#batch + 1] = 0
    batch[#batch + 1] = members[j]
  end
  redis.call('ZADD', KEYS[2], unpack(batch))
end
local low = '-'
if ARGV[2] ~= '' then low = '(' .. ARGV[2] end
local page = redis.call('ZRANGEBYLEX', KEYS[2], low, '+', 'LIMIT', 0, tonumber(ARGV[3]))
redis.call('DEL', KEYS[2])
return page
