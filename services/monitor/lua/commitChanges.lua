--[[
  Records a page's changes and enqueues their events in one step, as compare-and-set: a
  change is applied only if the stored fingerprint is still the one the scan compared
  against, and never when it already equals the new one. A crash-and-rescan or a replica
  whose lease ran out therefore never enqueues a change twice.

  Whether events go out is decided here, from the notification switch as Redis holds it at
  this instant, not from the caller's memory of it: a switch acknowledged by the API before
  this commit is honoured whatever the scanning replica last heard.

  KEYS[1] object state  hash  field = object key, value = fingerprint
  KEYS[2] event queue   list  RPUSH of JSON events
  KEYS[3] bucket config string  must still exist (a bucket removed mid-scan gets no writes)
  KEYS[4] notifications_disabled string  "true" when the bucket's notifications are off
  ARGV[1] what the caller prepared: 'push' (events built; pushed unless the switch is off),
          'off' (no events built because the switch was off when the scan read it),
          'baseline' (the first scan records state only, whatever the switch says)
  ARGV[2..] quads: object key, expected fingerprint ('' = no state),
            new fingerprint ('' = remove the state), event JSON ('' = no event)

  Returns { applied, pushed, skipped, i1, i2, ... }: the counts, then the 0-based index of
  every quad skipped; { -1 } when the bucket is gone; { -2 } when the caller prepared no
  events ('off') but notifications are on now: nothing is applied, so a rescan announces them.
]]
local rcall = redis.call
local stateKey, queueKey = KEYS[1], KEYS[2]
local mode = ARGV[1]
if rcall('EXISTS', KEYS[3]) == 0 then return { -1 } end
local enabled = rcall('GET', KEYS[4]) ~= 'true'
if mode == 'off' and enabled then return { -2 } end
local push = mode == 'push' and enabled

local applied, pushed = 0, 0
local skippedAt = {}
for i = 2, #ARGV, 4 do
  local field, expected, fp, event = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local cur = rcall('HGET', stateKey, field) or ''
  if cur == fp or cur ~= expected then
    skippedAt[#skippedAt + 1] = (i - 2) / 4
  else
    if fp == '' then rcall('HDEL', stateKey, field) else rcall('HSET', stateKey, field, fp) end
    applied = applied + 1
    if push and event ~= '' then
      rcall('RPUSH', queueKey, event)
      pushed = pushed + 1
    end
  end
end
return { applied, pushed, #skippedAt, unpack(skippedAt) }
