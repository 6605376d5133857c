--[[
  Makes a bucket due now; with forget, drops its object state first so the next scan
  announces every object again.

  KEYS[1] schedule      zset  member = bucket, score = next due (epoch ms)
  KEYS[2] object state  hash  the state before chunks
  KEYS[3] scan status   hash
  KEYS[4] state index   zset  chunk lower bounds
  KEYS[5] state meta    hash
  ARGV[1] bucket name
  ARGV[2] now (epoch ms)
  ARGV[3] '1' to forget the state
  ARGV[4] chunk key prefix (a chunk's hash is prefix .. lower bound)

  Returns 1.
]]
local rcall = redis.call
if ARGV[3] == '1' then
  for _, lower in ipairs(rcall('ZRANGE', KEYS[4], 0, -1)) do rcall('DEL', ARGV[4] .. lower) end
  rcall('DEL', KEYS[2], KEYS[4], KEYS[5])
end
rcall('ZADD', KEYS[1], ARGV[2], ARGV[1])
rcall('HSET', KEYS[3], 'next_scan_due', ARGV[2])
return 1
