--[[
  Sets a bucket's flag key (the notifications switch written before a new bucket's config)
  unless the request's deadline has passed, so a frozen Redis that thaws never applies a
  write the API has already answered as failed.

  KEYS[1] flag   string
  ARGV[1] value
  ARGV[2] deadline, ms in the Redis clock

  Returns 1 when set, -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
if past_deadline(ARGV[2]) then return -3 end
rcall('SET', KEYS[1], ARGV[1])
return 1
