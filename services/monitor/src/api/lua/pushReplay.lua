--[[
  Appends one batch of a replay's events to the queue, unless the bucket is gone or the
  request's deadline has passed (a frozen Redis that thaws never pushes a batch of a replay
  the API has already answered as failed). The object state is not touched.

  KEYS[1] event queue    list    RPUSH of JSON events
  KEYS[2] bucket config  string  must still exist
  ARGV[1] deadline, ms in the Redis clock
  ARGV[2..] the entries, in order

  Returns the number of entries pushed, -1 when the bucket is gone, -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
if past_deadline(ARGV[1]) then return -3 end
if rcall('EXISTS', KEYS[2]) == 0 then return -1 end
return rcall('RPUSH', KEYS[1], unpack(ARGV, 2))
