-- Ranking shared by the search scripts.

-- Okapi BM25 inverse document frequencies of the posting lists `terms` in a scope that
-- indexes GET(docs_key) documents; nil when every term must match and one matches nothing.
local function idf_weights(docs_key, terms, every)
  local n = tonumber(redis.call('GET', docs_key) or '0')
  local weights = {}
  for i, key in ipairs(terms) do
    local df = redis.call('ZCARD', key)
    if df == 0 and every then return nil end
    if n < df then n = df end
    weights[i] = math.log(1 + (n - df + 0.5) / (df + 0.5))
  end
  return weights
end

-- Store into `dest` the documents of `terms`, scored by BM25 (intersection or union).
local function rank_into(dest, docs_key, terms, every)
  local weights = idf_weights(docs_key, terms, every)
  if weights == nil then return false end
  local args = {dest, #terms}
  for _, key in ipairs(terms) do args[#args + 1] = key end
  args[#args + 1] = 'WEIGHTS'
  for _, weight in ipairs(weights) do args[#args + 1] = weight end
  redis.call(every and 'ZINTERSTORE' or 'ZUNIONSTORE', unpack(args))
  return true
end
