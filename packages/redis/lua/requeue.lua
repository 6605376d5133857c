--[[
  Returns one entry from a consumer's processing list to the head of the queue (an entry
  whose settle was lost, found by the consumer's own stale check).

  KEYS[1] processing  list  that consumer's in-flight entries
  KEYS[2] queue       list  raw event JSON
  ARGV[1] the entry

  Returns 1, or 0 when the entry was not there.
]]
local rcall = redis.call
local processingKey, queueKey = KEYS[1], KEYS[2]

if rcall('LREM', processingKey, 1, ARGV[1]) == 0 then return 0 end
rcall('LPUSH', queueKey, ARGV[1])
return 1
