--[[
  Settles a failed attempt that will be tried again later, as retryLater does, and records
  when the subscription's current run of failures began (kept until a delivery succeeds).

  KEYS[1] processing    list  entries this consumer is delivering
  KEYS[2] retry         zset  member = updated entry, score = due (ms)
  KEYS[3] subscription  hash  failing_since (ms) among its fields
  ARGV[1] the entry exactly as claimed
  ARGV[2] due time (epoch ms)
  ARGV[3] the updated entry
  ARGV[4] now (epoch ms)

  Returns the subscription's failing_since (ms), or -1 when the entry was no longer ours
  (then nothing is scheduled or recorded).
]]
local rcall = redis.call
local processingKey, retryKey, subKey = KEYS[1], KEYS[2], KEYS[3]

if rcall('LREM', processingKey, 1, ARGV[1]) == 0 then return -1 end
rcall('ZADD', retryKey, tonumber(ARGV[2]), ARGV[3])
rcall('HSETNX', subKey, 'failing_since', ARGV[4])
return tonumber(rcall('HGET', subKey, 'failing_since'))
