--[[
  Takes the due buckets whose lease is free. Each claimed bucket gets a lease owned by the
  caller and is rescheduled at now + lease TTL: if the owner dies, the bucket falls due
  again as its lease runs out and another replica takes it over. The owner sets the real
  next due time when the scan ends (finishScan).

  KEYS[1]    schedule  zset    member = bucket, score = next due (epoch ms)
  KEYS[2..]  leases    string  owner token, PX lease TTL; one per candidate bucket
  ARGV[1]    now (epoch ms)
  ARGV[2]    owner token
  ARGV[3]    lease TTL (ms)
  ARGV[4..]  candidate bucket names, in the order of KEYS[2..]

  Returns { bucket1, due1, bucket2, due2, ... } for the buckets claimed, with the due time
  each had (the owner keeps the bucket's phase from it).
]]
local rcall = redis.call
local scheduleKey = KEYS[1]
local now, owner, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])

local claimed = {}
for i = 2, #KEYS do
  local bucket = ARGV[i + 2]
  local due = rcall('ZSCORE', scheduleKey, bucket)
  if due and tonumber(due) <= now and rcall('SET', KEYS[i], owner, 'NX', 'PX', ttl) then
    rcall('ZADD', scheduleKey, now + ttl, bucket)
    claimed[#claimed + 1] = bucket
    claimed[#claimed + 1] = due
  end
end
return claimed
