--[[
  Turns a bucket's notifications on or off (the Python monitor's flag key) and announces it.

  KEYS[1] bucket config            string (must exist)
  KEYS[2] notifications_disabled   string "true" when off; absent when on
  KEYS[3] config version           string counter
  ARGV[1] 'enable' | 'disable'
  ARGV[2] pub/sub channel
  ARGV[3] bucket name
  ARGV[4] optional deadline, ms in the Redis clock: past it, nothing is changed (the
          caller has given up and answered that the write failed)

  Returns the new config version, or -2 when the bucket does not exist, or -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
local configKey, flagKey, versionKey = KEYS[1], KEYS[2], KEYS[3]
if past_deadline(ARGV[4]) then return -3 end
if rcall('EXISTS', configKey) == 0 then return -2 end
if ARGV[1] == 'disable' then rcall('SET', flagKey, 'true') else rcall('DEL', flagKey) end
local version = rcall('INCR', versionKey)
rcall('PUBLISH', ARGV[2], ARGV[3])
return version
