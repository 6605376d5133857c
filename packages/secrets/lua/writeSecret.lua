--[[
  Sets or removes one encrypted secret of the embedded store, unless the caller has given up.

  KEYS[1] secrets   hash  field = secret name, value = AES-256-GCM blob
  ARGV[1] deadline, ms in the Redis clock: past it, nothing is changed (the caller has
          answered that the write failed)
  ARGV[2] secret name
  ARGV[3] 'set' or 'delete'
  ARGV[4] the encrypted value (set only)

  Returns 1 when written, or -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
if past_deadline(ARGV[1]) then return -3 end
if ARGV[3] == 'set' then rcall('HSET', KEYS[1], ARGV[2], ARGV[4]) else rcall('HDEL', KEYS[1], ARGV[2]) end
return 1
