--[[
  Records steps of events in the attempt history, a batch at once: per event its fields (kept
  from its first step), per subscription its state and its last attempts, and the event's place
  in its bucket's index. An event expires at ARGV[1], so it stays for the history TTL after its
  last step; an index, written at an event's first step, expires with its newest event and
  drops entries older than the TTL and beyond a maximum count.

  An event's string is its fields' JSON, a newline, and a JSON object of its deliveries:
  { subscription: { state, next_at, reason, attempts: [ { at, status, duration_ms, error, excerpt } ] } }
  (the fields' JSON, written by JSON.stringify, holds no raw newline).

  A step of a bucket that no longer exists, or of a subscription the bucket's config no longer
  lists (other than `default`), is left out: a delivery settled after the deletion must not
  bring its history back.

  Per step i, three keys (KEYS[1] to KEYS[3] for the first step):
  KEYS[3i-2] event          string  fields JSON .. "\n" .. deliveries JSON
  KEYS[3i-1] index          zset    all scores 0; member = newest-first sort key .. ":" .. event id
  KEYS[3i]   bucket config  string  must exist (JSON; `subscriptions` lists `{ id }`)
  ARGV[1] expire-at (epoch ms): the caller's now plus the history TTL
  ARGV[2] index floor: members sorting after it are older than the TTL and are removed
  ARGV[3] most index entries per bucket
  ARGV[4] most attempts kept per subscription
  ARGV[5..] per step, 7 values: fields JSON, index member, subscription ('' = a detection,
            no delivery), state, attempt JSON ('' = none), next_at (epoch ms, '' = none),
            reason ('' = none)

  Returns the number of events that were new (their index entry written).
]]
local rcall = redis.call
local expireAt, floor = ARGV[1], ARGV[2]
local maxIndex, maxAttempts = tonumber(ARGV[3]), tonumber(ARGV[4])

-- An event's first delivery step (the common case: one subscription, one attempt) is
-- written as a string, without decoding and encoding JSON: the attempt arrives as JSON and
-- next_at as the digits of an integer.
local function firstDelivery (sub, state, attempt, nextAt, reason)
  local d = '{"state":' .. cjson.encode(state)
  if nextAt ~= '' then d = d .. ',"next_at":' .. nextAt end
  if reason ~= '' then d = d .. ',"reason":' .. cjson.encode(reason) end
  return '{' .. cjson.encode(sub) .. ':' .. d .. ',"attempts":[' .. attempt .. ']}}'
end

local function withDelivery (text, sub, state, attempt, nextAt, reason)
  if text == '' then return firstDelivery(sub, state, attempt, nextAt, reason) end
  local deliveries = cjson.decode(text)
  local d = deliveries[sub] or {}
  if type(d.attempts) ~= 'table' or next(d.attempts) == nil then d.attempts = {} end
  d.state = state
  d.next_at = nextAt ~= '' and tonumber(nextAt) or nil
  d.reason = reason ~= '' and reason or nil
  if attempt ~= '' then
    d.attempts[#d.attempts + 1] = cjson.decode(attempt)
    while #d.attempts > maxAttempts do table.remove(d.attempts, 1) end
  end
  deliveries[sub] = d
  return cjson.encode(deliveries)
end

local created = 0
local indexes = {}

local function record (eventKey, indexKey, a)
  local doc = rcall('GET', eventKey)
  local fields, deliveries = ARGV[a], ''
  if doc then
    local cut = string.find(doc, '\n', 1, true)
    fields, deliveries = string.sub(doc, 1, cut - 1), string.sub(doc, cut + 1)
  end
  if ARGV[a + 2] ~= '' then
    deliveries = withDelivery(deliveries, ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6])
  end
  rcall('SET', eventKey, fields .. '\n' .. deliveries, 'PXAT', expireAt)
  -- The index member never changes, so an index is written at an event's first step only;
  -- each index's new members go in with one ZADD at the end.
  if not doc then
    local added = indexes[indexKey]
    if not added then added = {}; indexes[indexKey] = added end
    added[#added + 1] = 0
    added[#added + 1] = ARGV[a + 1]
    created = created + 1
  end
end

-- Per bucket config key: false when it is gone, else the set of its subscription ids.
local configs = {}
local function subscriptionsOf (configKey)
  if configs[configKey] == nil then
    local raw = rcall('GET', configKey)
    local ids = false
    if raw then
      ids = {}
      local ok, config = pcall(cjson.decode, raw)
      if ok and type(config) == 'table' and type(config.subscriptions) == 'table' then
        for _, sub in ipairs(config.subscriptions) do if type(sub) == 'table' and sub.id then ids[sub.id] = true end end
      end
    end
    configs[configKey] = ids
  end
  return configs[configKey]
end

for i = 1, #KEYS / 3 do
  local a = 5 + (i - 1) * 7
  local ids, sub = subscriptionsOf(KEYS[3 * i]), ARGV[a + 2]
  if ids and (sub == '' or sub == 'default' or ids[sub]) then record(KEYS[3 * i - 2], KEYS[3 * i - 1], a) end
end
for indexKey, added in pairs(indexes) do
  rcall('ZADD', indexKey, unpack(added))
  rcall('ZREMRANGEBYLEX', indexKey, '(' .. floor, '+')
  rcall('ZREMRANGEBYRANK', indexKey, maxIndex, -1)
  rcall('PEXPIREAT', indexKey, expireAt)
end
return created
