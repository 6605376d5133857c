--[[
  Makes a bucket due now; with forget, drops its object state first so the next scan
  announces every object again, under a new id epoch (the ids of that announcement differ
  from the earlier ones, so receivers deduplicating on webhook-id take it). Runs before the
  caller's deadline or not at all: a frozen Redis that thaws never applies a resync the API
  has already answered as failed.

  KEYS[1] schedule      zset  member = bucket, score = next due (epoch ms)
  KEYS[2] object state  hash  the state before chunks
  KEYS[3] scan status   hash
  KEYS[4] state index   zset  chunk lower bounds
  KEYS[5] state meta    hash  id_epoch = the epoch of the scan's event ids
  ARGV[1] bucket name
  ARGV[2] now (epoch ms)
  ARGV[3] '1' to forget the state
  ARGV[4] chunk key prefix (a chunk's hash is prefix .. lower bound)
  ARGV[5] deadline, ms in the Redis clock ('' = none)
  ARGV[6] the new id epoch (with forget)

  Returns 1, or -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
if past_deadline(ARGV[5]) then return -3 end
if ARGV[3] == '1' then
  -- UNLINK frees the chunks' memory off the main thread; a chunk is one small listpack.
  for _, lower in ipairs(rcall('ZRANGE', KEYS[4], 0, -1)) do rcall('UNLINK', ARGV[4] .. lower) end
  rcall('UNLINK', KEYS[2], KEYS[4], KEYS[5])
  rcall('HSET', KEYS[5], 'id_epoch', ARGV[6])
end
rcall('ZADD', KEYS[1], ARGV[2], ARGV[1])
rcall('HSET', KEYS[3], 'next_scan_due', ARGV[2])
return 1
