-- End a session (ending an ended one changes nothing).
-- KEYS: conversation, then the session hash. ARGV: now, ttl, refs ttl.
if redis.call('EXISTS', KEYS[8]) == 0 then return {'missing'} end
if redis.call('HGET', KEYS[8], 'is_active') == '1' then
  redis.call('HSET', KEYS[8], 'is_active', '0', 'ended_at', ARGV[1], 'last_activity', ARGV[1])
end
refresh_ttl(tonumber(ARGV[2]), tonumber(ARGV[3]))
return {'ok', redis.call('HGET', KEYS[8], 'user_id')}
