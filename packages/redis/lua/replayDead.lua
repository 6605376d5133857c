--[[
  Puts one dead-lettered event back on the queue.

  KEYS[1] dead letter  list  JSON records
  KEYS[2] queue        list  raw event JSON
  ARGV[1] the record exactly as stored
  ARGV[2] the entry to enqueue (retry_count reset)
  ARGV[3] optional deadline, ms in the Redis clock: past it, nothing is changed (the
          caller has given up and answered that the replay failed)

  Returns 1, 0 when the record was gone (replayed or purged by someone else), or -3 when
  the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
local deadKey, queueKey = KEYS[1], KEYS[2]
if past_deadline(ARGV[3]) then return -3 end

if rcall('LREM', deadKey, 1, ARGV[1]) == 0 then return 0 end
rcall('RPUSH', queueKey, ARGV[2])
return 1
