--[[
  Counts one token request of a client address in the current fixed window, shared by every
  monitor replica. The window's index is part of the key (the caller computes it from its
  clock), so a new window starts from zero and an old key only waits for its expiry.

  KEYS[1] counter   string, `<prefix><address>:<window index>`
  ARGV[1] window length, ms (the key expires after it)

  Returns the count in this window, this request included.
]]
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
