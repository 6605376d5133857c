--[[
  Moves retries that are due back to the tail of the queue.

  KEYS[1] retry  zset  member = entry, score = due (ms)
  KEYS[2] queue  list  raw event JSON
  ARGV[1] now (epoch ms)
  ARGV[2] max count per call

  Returns the number of entries moved.
]]
local rcall = redis.call
local retryKey, queueKey = KEYS[1], KEYS[2]

local due = rcall('ZRANGEBYSCORE', retryKey, '-inf', tonumber(ARGV[1]), 'LIMIT', 0, tonumber(ARGV[2]))
for _, entry in ipairs(due) do
  rcall('ZREM', retryKey, entry)
  rcall('RPUSH', queueKey, entry)
end
return #due
