-- The user's memories matching every filter, best first (counted as accessed unless ARGV[8] is '').
-- KEYS: memories, importance, confidence, created, expires, documents counter, two scratch
-- keys, then the key groups (types, categories, tags: a memory must be in one set of each
-- group), then the postings of the query terms.
-- ARGV: memory hash key prefix, text mode ('all', 'any' or '' for no text), min confidence,
-- min importance, include expired ('1'/'0'), now (us), limit, now (ISO; '' records no
-- access), number of groups, then the size of each group, then the order: item fields
-- ('relevance', 'importance', 'created', 'stored') compared in turn, highest first.
local prefix, text = ARGV[1], ARGV[2]
local tmp, tmp2 = KEYS[7], KEYS[8]
local group_count = tonumber(ARGV[9])
local next_key = 9

local function keep_only(source_keys)
  redis.call('SUNIONSTORE', tmp2, unpack(source_keys))
  redis.call('ZINTERSTORE', tmp, 2, tmp, tmp2, 'WEIGHTS', 1, 0)
end

local function keep_scores_at_least(scores_key, minimum)
  redis.call('ZRANGESTORE', tmp2, scores_key, minimum, '+inf', 'BYSCORE')
  redis.call('ZINTERSTORE', tmp, 2, tmp, tmp2, 'WEIGHTS', 1, 0)
end

local groups = {}
for g = 1, group_count do
  local size, keys = tonumber(ARGV[9 + g]), {}
  for i = 1, size do keys[i] = KEYS[next_key + i - 1] end
  next_key = next_key + size
  groups[g] = keys
end
if text ~= '' then
  local terms = {}
  for i = next_key, #KEYS do terms[#terms + 1] = KEYS[i] end
  if not rank_into(tmp, KEYS[6], terms, text == 'all') then return {} end
else
  redis.call('ZUNIONSTORE', tmp, 1, KEYS[1], 'WEIGHTS', 0)
end
for _, keys in ipairs(groups) do keep_only(keys) end
if tonumber(ARGV[3]) > 0 then keep_scores_at_least(KEYS[3], ARGV[3]) end
if tonumber(ARGV[4]) > 0 then keep_scores_at_least(KEYS[2], ARGV[4]) end
if ARGV[5] ~= '1' then
  redis.call('ZRANGESTORE', tmp2, KEYS[5], '-inf', ARGV[6], 'BYSCORE')
  redis.call('ZDIFFSTORE', tmp, 2, tmp, tmp2)
end

local rows = redis.call('ZRANGE', tmp, 0, -1, 'WITHSCORES')
redis.call('DEL', tmp, tmp2)
local items = {}
for i = 1, #rows, 2 do
  local id = rows[i]
  items[#items + 1] = {
    id = id,
    relevance = tonumber(rows[i + 1]),
    importance = tonumber(redis.call('ZSCORE', KEYS[2], id)),
    created = tonumber(redis.call('ZSCORE', KEYS[4], id)),
    stored = tonumber(redis.call('ZSCORE', KEYS[1], id)),
  }
end
local order = {}
for i = 10 + group_count, #ARGV do order[#order + 1] = ARGV[i] end
table.sort(items, function(a, b)
  for _, field in ipairs(order) do
    if a[field] ~= b[field] then return a[field] > b[field] end
  end
  return false
end)

local out = {}
for i = 1, math.min(#items, tonumber(ARGV[7])) do
  local key = prefix .. items[i].id
  if ARGV[8] ~= '' then
    redis.call('HINCRBY', key, 'access_count', 1)
    redis.call('HSET', key, 'last_accessed', ARGV[8])
  end
  local fields = redis.call('HMGET', key, 'doc', 'access_count', 'last_accessed')
  for _, value in ipairs(fields) do out[#out + 1] = value end
end
return out
