--[[
  Removes what Redis still holds of a deleted subscription: its entries waiting in the retry
  set, its dead-letter records, its state and parked entries, and (when no other subscription of the bucket uses the URL)
  the URL's endpoint-status mark. Entries on the queue and in processing lists are dropped by
  the consumer when it finds the subscription gone.

  KEYS[1] retry            zset  member = entry JSON (carries bucket and subscription)
  KEYS[2] dead letter      list  JSON records (event.bucket, event.subscription)
  KEYS[3] endpoint status  hash  field = webhook URL
  KEYS[4] subscription     hash  its state (lifecycle.ts)
  KEYS[5] parked           list  its parked entries
  ARGV[1] bucket name
  ARGV[2] subscription id
  ARGV[3] the subscription's webhook URL to unmark, or empty
  ARGV[4] optional deadline, ms in the Redis clock: past it, nothing is changed

  Returns the number of entries and records removed, or -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
local retryKey, deadKey, statusKey, subKey, parkedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local bucket, subscription, url = ARGV[1], ARGV[2], ARGV[3]
if past_deadline(ARGV[4]) then return -3 end

-- A plain search first: most entries do not name the subscription at all, and decoding
-- every one would cost far more.
local needle = '"subscription":"' .. subscription .. '"'
local function owned (text, viaEvent)
  if not string.find(text, needle, 1, true) then return false end
  local ok, value = pcall(cjson.decode, text)
  if not ok or type(value) ~= 'table' then return false end
  if viaEvent then value = value.event end
  return type(value) == 'table' and value.bucket == bucket and value.subscription == subscription
end

local removed = 0
for _, entry in ipairs(rcall('ZRANGE', retryKey, 0, -1)) do
  if owned(entry, false) then removed = removed + rcall('ZREM', retryKey, entry) end
end
for _, record in ipairs(rcall('LRANGE', deadKey, 0, -1)) do
  if owned(record, true) then removed = removed + rcall('LREM', deadKey, 1, record) end
end
if url ~= '' then rcall('HDEL', statusKey, url) end
removed = removed + rcall('LLEN', parkedKey)
rcall('DEL', subKey, parkedKey)
return removed
