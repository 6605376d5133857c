--[[
  Grants up to ARGV[2] S3 requests to one bucket within its per-second budget, shared by
  every replica. Each grant is logged with its size; the grants of the last ARGV[3] ms (one
  second plus the time a granted request may take to reach the store) never add up to more
  than the bucket's current rate, so no one-second window at the store sees more requests
  than the limit, and a burst is never larger than the limit itself. The clock is Redis's own
  (TIME), the same for every replica.

  KEYS[1] grants  zset   score = grant time (ms), member = "<nonce>:<count>"
  KEYS[2] rate    hash   rate, lowered_at: the rate a SlowDown lowered the bucket to
  ARGV[1] limit (requests per second)   ARGV[2] wanted   ARGV[3] window ms
  ARGV[4] recovery (requests per second gained per second)   ARGV[5] nonce (unique per call)
  Returns { granted, wait_ms (until a grant leaves the window; 0 when granted), rate }.
]]
--- @include "clock"
--- @include "budgetRate"

local limit, wanted, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local rate = math.max(1, math.floor(current_rate(KEYS[2], limit, tonumber(ARGV[4]), now)))
local used = 0
for _, member in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  used = used + tonumber(string.match(member, ':(%d+)$'))
end
local free = rate - used
if free <= 0 then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  local wait = oldest[2] and (tonumber(oldest[2]) + window - now) or 1
  return { 0, math.max(1, wait), rate }
end
local granted = math.min(wanted, free)
redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. granted)
redis.call('PEXPIRE', KEYS[1], window * 2)
return { granted, 0, rate }
