--[[
  Settles an entry that matches several subscriptions by replacing it with one entry per
  subscription (the same event tagged with the subscription id) at the head of the queue:
  each is then claimed, retried, breaker-checked and dead-lettered on its own, so a slow or
  failing receiver never holds back another's delivery.

  KEYS[1] processing  list  entries this consumer is delivering
  KEYS[2] queue       list  raw event JSON
  ARGV[1] the entry exactly as claimed
  ARGV[2..n] the per-subscription entries, in delivery order

  Returns 1, or 0 when the entry was no longer ours (then nothing is queued).
]]
local rcall = redis.call
local processingKey, queueKey = KEYS[1], KEYS[2]

if rcall('LREM', processingKey, 1, ARGV[1]) == 0 then return 0 end
for i = #ARGV, 2, -1 do
  rcall('LPUSH', queueKey, ARGV[i])
end
return 1
