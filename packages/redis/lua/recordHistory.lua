--[[
  Records one step of an event in the attempt history: the event's fields (kept from its
  first record), the subscription's state and its last attempts, and the event's place in its
  bucket's index. Every key touched expires at ARGV[1], so an event
  stays for the history TTL after its last step; the index drops entries older than the TTL
  and beyond a maximum count.

  An event's string is its fields' JSON, a newline, and a JSON object of its deliveries:
  { subscription: { state, next_at, reason, attempts: [ { at, status, duration_ms, error, excerpt } ] } }
  (the fields' JSON, written by JSON.stringify, holds no raw newline).

  KEYS[1] event  string  fields JSON .. "\n" .. deliveries JSON
  KEYS[2] index  zset    all scores 0; member = newest-first sort key .. ":" .. event id
  ARGV[1] expire-at (epoch ms): the caller's now plus the history TTL
  ARGV[2] index floor: members sorting after it are older than the TTL and are removed
  ARGV[3] most index entries per bucket
  ARGV[4] most attempts kept per subscription
  ARGV[5] fields JSON
  ARGV[6] index member
  ARGV[7] subscription ('' = a detection, no delivery)
  ARGV[8] state
  ARGV[9] attempt JSON ('' = none)
  ARGV[10] next_at (epoch ms, '' = none)
  ARGV[11] reason ('' = none)

  Returns 1.
]]
local rcall = redis.call
local expireAt, floor = ARGV[1], ARGV[2]
local maxIndex, maxAttempts = tonumber(ARGV[3]), tonumber(ARGV[4])

local function split (doc)
  local cut = string.find(doc, '\n', 1, true)
  return string.sub(doc, 1, cut - 1), string.sub(doc, cut + 1)
end

local function withDelivery (text, sub, state, attempt, nextAt, reason)
  local deliveries = {}
  if text ~= '' then deliveries = cjson.decode(text) end
  local d = deliveries[sub] or { attempts = {} }
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

local eventKey, indexKey = KEYS[1], KEYS[2]
local doc = rcall('GET', eventKey)
local fields, deliveries = ARGV[5], ''
if doc then fields, deliveries = split(doc) end
if ARGV[7] ~= '' then
  deliveries = withDelivery(deliveries, ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11])
end
rcall('SET', eventKey, fields .. '\n' .. deliveries, 'PXAT', expireAt)
rcall('ZADD', indexKey, 0, ARGV[6])
rcall('ZREMRANGEBYLEX', indexKey, '(' .. floor, '+')
rcall('ZREMRANGEBYRANK', indexKey, maxIndex, -1)
rcall('PEXPIREAT', indexKey, expireAt)
return 1
