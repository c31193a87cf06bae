-- The best `count` documents of one index scope for the query terms, with their scores.
-- KEYS: documents counter, scratch key, then the terms' posting lists.
-- ARGV: 'all' (every term) or 'any', count.
local terms = {}
for i = 3, #KEYS do terms[#terms + 1] = KEYS[i] end
if not rank_into(KEYS[2], KEYS[1], terms, ARGV[1] == 'all') then return {} end
local best = redis.call('ZREVRANGE', KEYS[2], 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
redis.call('DEL', KEYS[2])
return best
