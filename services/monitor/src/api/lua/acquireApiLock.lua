--[[
  Takes the API's per-bucket lock unless another request holds it, or unless the request's
  deadline has passed (a lock taken after the request gave up would block the bucket's
  changes for the lock's whole lifetime).

  KEYS[1] lock   string  owner token, PX-expiring
  ARGV[1] owner token
  ARGV[2] lock lifetime, ms
  ARGV[3] deadline, ms in the Redis clock

  Returns 1 when taken, 0 when held by another request, -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
if past_deadline(ARGV[3]) then return -3 end
if rcall('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end
return 0
