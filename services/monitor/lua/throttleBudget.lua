--[[
  The store answered a bucket's request with SlowDown (503) or 429: halves the bucket's
  rate, at most once per second however many requests were refused together (they all saw
  the same overload), never below ARGV[3]. The rate then recovers by ARGV[2] per second
  (takeBudget.lua reads it the same way).

  KEYS[1] rate  hash  rate, lowered_at
  ARGV[1] limit   ARGV[2] recovery per second   ARGV[3] lowest rate
  Returns the rate now in force (requests per second).
]]
--- @include "clock"
--- @include "budgetRate"

local limit, recover, lowest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = now_ms()
local lowered_at = tonumber(redis.call('HGET', KEYS[1], 'lowered_at') or '0')
local rate = current_rate(KEYS[1], limit, recover, now)
if now - lowered_at < 1000 then return math.floor(rate) end
rate = math.max(lowest, math.floor(rate / 2))
redis.call('HSET', KEYS[1], 'rate', rate, 'lowered_at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((limit - rate) / recover * 1000) + 1000)
return rate
