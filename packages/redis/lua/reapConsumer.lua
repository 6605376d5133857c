--[[
  Returns a silent consumer's in-flight entries to the head of the queue, in their claimed
  order, and forgets the consumer. Also used by a consumer on itself at a clean shutdown.

  KEYS[1] consumers   zset  member = consumer id, score = last heartbeat (ms)
  KEYS[2] processing  list  that consumer's in-flight entries
  KEYS[3] queue       list  raw event JSON
  ARGV[1] consumer id
  ARGV[2] cutoff (epoch ms): only a heartbeat older than this counts as dead; '+inf' = always

  Returns the number of entries returned, or -1 when the consumer is alive after all.
]]
local rcall = redis.call
local consumersKey, processingKey, queueKey = KEYS[1], KEYS[2], KEYS[3]
local id, cutoff = ARGV[1], ARGV[2]

local beat = rcall('ZSCORE', consumersKey, id)
if beat and cutoff ~= '+inf' and tonumber(beat) >= tonumber(cutoff) then return -1 end
local moved = 0
-- Taking from the tail and pushing on the head keeps the claimed order at the head.
while rcall('LMOVE', processingKey, queueKey, 'RIGHT', 'LEFT') do moved = moved + 1 end
rcall('ZREM', consumersKey, id)
return moved
