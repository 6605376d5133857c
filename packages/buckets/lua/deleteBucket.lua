--[[
  Removes everything Redis holds of a bucket (config, switch, schedule, lease, state,
  status, last scan, request budget, attempt history) and announces it. Secrets are removed by the caller's secret store.

  KEYS[1] bucket config   KEYS[2] notifications_disabled   KEYS[3] last_scan
  KEYS[4] object state    KEYS[5] scan status              KEYS[6] lease
  KEYS[7] schedule (zset) KEYS[8] legacy webhook_url       KEYS[9] deletion-pass seen set
  KEYS[10] config version
  KEYS[11] state index (zset of chunk lower bounds)   KEYS[12] state meta
  KEYS[13] S3 request grants (zset)   KEYS[14] S3 request rate after a SlowDown
  KEYS[15] fast-lane schedule (zset)
  KEYS[16] history index (zset, member = 13-digit sort key .. ":" .. event id)
  ARGV[1] bucket name
  ARGV[2] pub/sub channel
  ARGV[3] optional deadline, ms in the Redis clock: past it, nothing is changed (the
          caller has given up and answered that the write failed)
  ARGV[4] state chunk key prefix (a chunk's hash is prefix .. lower bound)
  ARGV[5] history event key prefix (an event's string is prefix .. event id)

  Returns the new config version, or -2 when the bucket does not exist, or -3 when the deadline has passed.
]]
--- @include "clock"

local rcall = redis.call
if past_deadline(ARGV[3]) then return -3 end
if rcall('EXISTS', KEYS[1]) == 0 then return -2 end
rcall('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[8], KEYS[9])
for _, lower in ipairs(rcall('ZRANGE', KEYS[11], 0, -1)) do rcall('DEL', ARGV[4] .. lower) end
rcall('DEL', KEYS[11], KEYS[12], KEYS[13], KEYS[14])
for _, member in ipairs(rcall('ZRANGE', KEYS[16], 0, -1)) do rcall('DEL', ARGV[5] .. string.sub(member, 15)) end
rcall('DEL', KEYS[16])
rcall('ZREM', KEYS[7], ARGV[1])
rcall('ZREM', KEYS[15], ARGV[1])
local version = rcall('INCR', KEYS[10])
rcall('PUBLISH', ARGV[2], ARGV[1])
return version
