--[[
  Deletes one dead-lettered record, or every one.

  KEYS[1] dead letter  list  JSON records
  ARGV[1] the record exactly as stored, or empty to delete every record
  ARGV[2] optional deadline, ms in the Redis clock: past it, nothing is changed (the
          caller has given up and answered that the purge failed)

  Returns how many records went, or -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
local deadKey = KEYS[1]
if past_deadline(ARGV[2]) then return -3 end
if ARGV[1] ~= '' then return rcall('LREM', deadKey, 1, ARGV[1]) end
local count = rcall('LLEN', deadKey)
rcall('DEL', deadKey)
return count
