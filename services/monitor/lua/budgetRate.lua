--[[
  Reads a bucket's request rate now in force (for status), without granting anything.

  KEYS[1] rate  hash  rate, lowered_at
  ARGV[1] limit   ARGV[2] recovery per second
  Returns the rate (requests per second).
]]
--- @include "clock"
--- @include "budgetRate"

return math.floor(current_rate(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), now_ms()))
