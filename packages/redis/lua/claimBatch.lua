--[[
  Moves up to ARGV[1] entries from the head of the queue to the tail of this consumer's
  processing list, without blocking (the worker blocks with BLMOVE only when this finds none).

  KEYS[1] queue        list  raw event JSON, pushed by the monitor with RPUSH
  KEYS[2] processing   list  entries this consumer is delivering
  ARGV[1] max count

  Returns the moved entries, oldest first.
]]
local rcall = redis.call
local queueKey, processingKey = KEYS[1], KEYS[2]
local limit = tonumber(ARGV[1])

local claimed = {}
for _ = 1, limit do
  local entry = rcall('LMOVE', queueKey, processingKey, 'LEFT', 'RIGHT')
  if not entry then break end
  claimed[#claimed + 1] = entry
end
return claimed
