-- Read messages of a conversation in one round trip.
-- KEYS: order, messages. ARGV: 'latest', stop (last index, newest first; -1: all)
--                        or 'page', count, after id (or ''), before id (or '').
-- Returns 'ok' and the messages' JSON, or 'missing' and the cursor that is not there.
local function with_bodies(ids)
  local out = {'ok'}
  for i = 1, #ids, 1000 do
    local chunk = {unpack(ids, i, math.min(i + 999, #ids))}
    for _, body in ipairs(redis.call('HMGET', KEYS[2], unpack(chunk))) do out[#out + 1] = body end
  end
  return out
end

-- The exclusive score bound of a cursor message ('' gives the open end), nil if it is absent.
local function bound(cursor, open_end)
  if cursor == '' then return open_end end
  local position = redis.call('ZSCORE', KEYS[1], cursor)
  return position and ('(' .. position) or nil
end

if ARGV[1] == 'latest' then
  return with_bodies(redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[2])))
end
local count, after, before = tonumber(ARGV[2]), ARGV[3], ARGV[4]
local low, high = bound(after, '-inf'), bound(before, '+inf')
if not low then return {'missing', 'after'} end
if not high then return {'missing', 'before'} end
if before ~= '' and after == '' then
  local newest = redis.call('ZREVRANGEBYSCORE', KEYS[1], high, low, 'LIMIT', 0, count)
  local ids = {}
  for i = #newest, 1, -1 do ids[#ids + 1] = newest[i] end
  return with_bodies(ids)
end
return with_bodies(redis.call('ZRANGEBYSCORE', KEYS[1], low, high, 'LIMIT', 0, count))
