--[[
  Extends a lease its owner still holds, and pushes the bucket's takeover time along with it
  (unless a resync made the bucket due meanwhile: that request is kept).

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
local now, ttl = tonumber(ARGV[3]), tonumber(ARGV[2])
if rcall('GET', leaseKey) ~= ARGV[1] then return 0 end
rcall('PEXPIRE', leaseKey, ttl)
local due = rcall('ZSCORE', scheduleKey, ARGV[4])
if due and tonumber(due) > now then rcall('ZADD', scheduleKey, 'XX', now + ttl, ARGV[4]) end
return 1
