-- Conversation scripts receive the conversation's keys first, in ConversationKeys.fixed()
-- order, then its refs hash:
--   KEYS[1] meta  KEYS[2] messages  KEYS[3] order  KEYS[4] times  KEYS[5] system
--   KEYS[6] sessions (a set of session hash keys, all in this slot)  KEYS[7] refs

-- The owner of the conversation ('' when none).
local function owner_of()
  return redis.call('HGET', KEYS[1], 'owner') or ''
end

-- Make `user` the owner of a conversation that has none and no messages yet, or check that
-- it is the owner. Returns nil when it may write, else the status to return.
local function admit(user)
  local owner = owner_of()
  if user == '' or owner == user then return nil end
  if owner ~= '' then return {'denied', owner} end
  if redis.call('ZCARD', KEYS[3]) > 0 then return {'claim'} end -- its messages need indexing
  redis.call('HSET', KEYS[1], 'owner', user)
  redis.call('HSET', KEYS[7], 'owner', user)
  return nil
end

-- Give every key of the conversation the same deadline (ttl seconds; 0: no expiry). The
-- refs hash lives longer, so the sweeper can still unindex what expired.
local function refresh_ttl(ttl, refs_ttl)
  if ttl <= 0 then return end
  for i = 1, 6 do redis.call('EXPIRE', KEYS[i], ttl) end
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[6])) do redis.call('EXPIRE', key, ttl) end
  redis.call('EXPIRE', KEYS[7], refs_ttl)
end

-- Search documents (RediSearch engine) live in the conversation's slot: `documents`, their
-- key prefix, carries its hash tag; it is '' with the postings engine, where these do nothing.

-- Write the search document of message `id`: its words, and its owner's tag (none while
-- the conversation has no owner).
local function write_document(documents, id, text, owner)
  if documents == '' then return end
  if owner == '' then
    redis.call('HSET', documents .. id, 'content', text)
  else
    redis.call('HSET', documents .. id, 'content', text, 'user', redis.sha1hex(owner))
  end
end

-- Tag the search documents of every message of the conversation with its new owner.
local function tag_documents(documents, owner)
  if documents == '' then return end
  local tag = redis.sha1hex(owner)
  for _, id in ipairs(redis.call('HKEYS', KEYS[2])) do
    redis.call('HSET', documents .. id, 'user', tag)
  end
end

-- Delete the search documents of messages `ids`.
local function drop_documents(documents, ids)
  if documents == '' then return end
  for _, id in ipairs(ids) do redis.call('DEL', documents .. id) end
end
