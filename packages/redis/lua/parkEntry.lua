--[[
  Settles an entry of a disabled subscription by parking it: the entry leaves this
  consumer's processing list and joins the tail of the subscription's parked list, kept
  until the subscription is enabled again. Beyond `max parked`, the oldest parked entries go
  to the head of the dead-letter list, each as a record with the reason.

  KEYS[1] processing     list  entries this consumer is delivering
  KEYS[2] subscription   hash  state (active | disabled), reason, changed_at (ms), failing_since (ms)
  KEYS[3] parked         list  the subscription's parked entries, oldest first
  KEYS[4] dead letter    list  JSON records, newest first
  ARGV[1] the entry exactly as claimed
  ARGV[2] the entry as parked
  ARGV[3] now (epoch ms)
  ARGV[4] max parked
  ARGV[5] the reason to disable the subscription with (gone, failing), or empty
  ARGV[6] '1' when the subscription's config says disabled (reason operator)
  ARGV[7] grace (ms): an enable this recent outweighs a config that still says disabled
          (a replica whose view of the config lags behind the enable)
  ARGV[8] dead-letter record id prefix (a counter is appended)
  ARGV[9] dead_at (ISO 8601)
  ARGV[10] the subscription id
  ARGV[11] the dead-letter reason of an overflowing entry

  Returns { 1, overflowed } when parked; { 2, 0 } when the subscription is active (nothing
  changed: the caller delivers); { 0, 0 } when the entry was no longer ours.
]]
local rcall = redis.call
local processingKey, subKey, parkedKey, deadKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local now, maxParked, disable = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5]

local state = rcall('HGET', subKey, 'state')
local newReason = nil
if disable ~= '' then
  if state ~= 'disabled' then newReason = disable end
elseif state ~= 'disabled' then
  if ARGV[6] ~= '1' then return { 2, 0 } end
  local changed = tonumber(rcall('HGET', subKey, 'changed_at'))
  if state == 'active' and changed and now - changed < tonumber(ARGV[7]) then return { 2, 0 } end
  newReason = 'operator'
end

if rcall('LREM', processingKey, 1, ARGV[1]) == 0 then return { 0, 0 } end
if newReason then
  rcall('HSET', subKey, 'state', 'disabled', 'reason', newReason, 'changed_at', now)
end
rcall('RPUSH', parkedKey, ARGV[2])

local overflowed = 0
while rcall('LLEN', parkedKey) > maxParked do
  local oldest = rcall('LPOP', parkedKey)
  overflowed = overflowed + 1
  -- The parked entry is a JSON object already: it becomes the record's event as it is.
  rcall('LPUSH', deadKey, '{"id":"' .. ARGV[8] .. '-' .. overflowed .. '","reason":' .. cjson.encode(ARGV[11])
    .. ',"attempts":0,"last_status":null,"response_excerpt":null,"dead_at":"' .. ARGV[9]
    .. '","subscription":' .. cjson.encode(ARGV[10]) .. ',"event":' .. oldest .. '}')
end
return { 1, overflowed }
