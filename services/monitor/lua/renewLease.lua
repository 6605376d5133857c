--[[
  Extends a lease its owner still holds, and pushes the bucket's takeover time along with it.

  KEYS[1] lease     string  owner token
  KEYS[2] schedule  zset    member = bucket, score = next due (epoch ms)
  ARGV[1] owner token
  ARGV[2] lease TTL (ms)
  ARGV[3] now (epoch ms)
  ARGV[4] bucket name

  Returns 1 when renewed, 0 when the lease is no longer the caller's.
]]
local rcall = redis.call
local leaseKey, scheduleKey = KEYS[1], KEYS[2]
if rcall('GET', leaseKey) ~= ARGV[1] then return 0 end
rcall('PEXPIRE', leaseKey, ARGV[2])
rcall('ZADD', scheduleKey, 'XX', tonumber(ARGV[3]) + tonumber(ARGV[2]), ARGV[4])
return 1
