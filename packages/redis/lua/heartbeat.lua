--[[
  Records that a consumer is alive.

  KEYS[1] consumers  zset  member = consumer id, score = last heartbeat (ms)
  ARGV[1] consumer id
  ARGV[2] now (epoch ms)

  Returns 1 when the consumer was registered already, 0 when it was not (first beat, or
  another consumer reaped it after a stall: its in-flight events are someone else's now).
]]
local rcall = redis.call
local consumersKey = KEYS[1]

local known = rcall('ZSCORE', consumersKey, ARGV[1])
rcall('ZADD', consumersKey, tonumber(ARGV[2]), ARGV[1])
if known then return 1 end
return 0
