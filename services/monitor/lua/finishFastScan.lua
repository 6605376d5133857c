--[[
  Ends a fast-lane scan (the keys after the highest one tracked): if the caller still holds
  the bucket's lease, releases it (compare-and-delete) and sets the next fast-lane time; adds
  the events it announced to the bucket's status counters. A bucket removed meanwhile, or
  one whose fast lane was switched off, leaves the fast-lane schedule.

  KEYS[1] lease           string  owner token
  KEYS[2] fast schedule   zset    member = bucket, score = next fast-lane scan (epoch ms)
  KEYS[3] scan status     hash    per-bucket status for the API
  KEYS[4] bucket config   string  must still exist
  ARGV[1] owner token   ARGV[2] bucket name   ARGV[3] next fast-lane scan (epoch ms; '' = off)
  ARGV[4..] field/increment pairs for the status counters

  Returns 1 when the lease was still the caller's, 0 when not, -1 when the bucket is gone.
]]
local rcall = redis.call
if rcall('EXISTS', KEYS[4]) == 0 then
  rcall('ZREM', KEYS[2], ARGV[2])
  return -1
end
for i = 4, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) ~= 0 then rcall('HINCRBY', KEYS[3], ARGV[i], ARGV[i + 1]) end
end
if ARGV[3] == '' then rcall('ZREM', KEYS[2], ARGV[2]) end
if rcall('GET', KEYS[1]) ~= ARGV[1] then return 0 end
rcall('DEL', KEYS[1])
if ARGV[3] ~= '' then rcall('ZADD', KEYS[2], ARGV[3], ARGV[2]) end
return 1
