-- Redis's own clock in ms (TIME), the same for every caller, and whether a caller's
-- deadline in that clock has passed: a write the caller gave up on (it has answered that the
-- write failed) must then change nothing. An empty or absent deadline never passes.
local function now_ms ()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function past_deadline (deadline)
  local at = tonumber(deadline)
  return at ~= nil and now_ms() > at
end
