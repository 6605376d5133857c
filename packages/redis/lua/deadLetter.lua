--[[
  Settles an entry that will not be delivered: it leaves this consumer's processing list
  and goes to the head of the dead-letter list as a JSON record built by the caller.

  KEYS[1] processing   list  entries this consumer is delivering
  KEYS[2] dead letter  list  JSON records, newest first
  ARGV[1] the entry exactly as claimed
  ARGV[2] the dead-letter record

  Returns 1, or 0 when the entry was no longer ours (then nothing is recorded).
]]
local rcall = redis.call
local processingKey, deadKey = KEYS[1], KEYS[2]

if rcall('LREM', processingKey, 1, ARGV[1]) == 0 then return 0 end
rcall('LPUSH', deadKey, ARGV[2])
return 1
