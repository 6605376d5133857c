--[[
  Settles an attempt that will be tried again later: the entry leaves this consumer's
  processing list and waits in the retry set, holding no worker, until it is due.

  KEYS[1] processing  list  entries this consumer is delivering
  KEYS[2] retry       zset  member = updated entry (carries retry_count, request_id), score = due (ms)
  ARGV[1] the entry exactly as claimed
  ARGV[2] due time (epoch ms)
  ARGV[3] the updated entry

  Returns 1, or 0 when the entry was no longer ours (reclaimed by another consumer): then
  nothing is scheduled, so the event is not delivered twice in parallel.
]]
local rcall = redis.call
local processingKey, retryKey = KEYS[1], KEYS[2]

if rcall('LREM', processingKey, 1, ARGV[1]) == 0 then return 0 end
rcall('ZADD', retryKey, tonumber(ARGV[2]), ARGV[3])
return 1
