-- Add or remove the postings of documents in one index scope (one slot), and count them.
-- KEYS: the scope's documents counter, then posting lists.
-- ARGV: 'add' or 'remove', then per document: its member, its number of terms n, then n
-- pairs (index of the term's posting list in KEYS, weight).
local add = ARGV[1] == 'add'
local at, documents = 2, 0
while at <= #ARGV do
  local member, count = ARGV[at], tonumber(ARGV[at + 1])
  at = at + 2
  for _ = 1, count do
    local key = KEYS[tonumber(ARGV[at])]
    if add then
      redis.call('ZADD', key, ARGV[at + 1], member)
    else
      redis.call('ZREM', key, member)
    end
    at = at + 2
  end
  documents = documents + 1
end
redis.call('INCRBY', KEYS[1], add and documents or -documents)
return documents
