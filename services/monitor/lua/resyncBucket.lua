--[[
  Makes a bucket due now; with forget, drops its object state first so the next scan
  announces every object again.

  KEYS[1] schedule      zset  member = bucket, score = next due (epoch ms)
  KEYS[2] object state  hash
  KEYS[3] scan status   hash
  ARGV[1] bucket name
  ARGV[2] now (epoch ms)
  ARGV[3] '1' to forget the state

  Returns 1.
]]
local rcall = redis.call
if ARGV[3] == '1' then rcall('DEL', KEYS[2]) end
rcall('ZADD', KEYS[1], ARGV[2], ARGV[1])
rcall('HSET', KEYS[3], 'next_scan_due', ARGV[2])
return 1
