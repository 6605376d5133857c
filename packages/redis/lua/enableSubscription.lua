--[[
  Enables a subscription: its state becomes active (its failure record cleared), its
  receiver's 410 mark is cleared, and its parked entries move to the head of the queue,
  oldest first, ahead of every newer event.

  KEYS[1] subscription  hash  state, reason, changed_at (ms), failing_since (ms)
  KEYS[2] parked        list  parked entries, oldest first
  KEYS[3] queue            list  raw event JSON, claimed from the head
  KEYS[4] endpoint status  hash  field = webhook URL (the 410 marks)
  ARGV[1] now (epoch ms)
  ARGV[2] the subscription's webhook URL, or empty

  Returns the number of entries moved.
]]
local rcall = redis.call
local subKey, parkedKey, queueKey, statusKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]

rcall('HSET', subKey, 'state', 'active', 'changed_at', ARGV[1])
rcall('HDEL', subKey, 'reason', 'failing_since')
if ARGV[2] ~= '' then rcall('HDEL', statusKey, ARGV[2]) end
-- Newest first onto the head, so the oldest ends up first.
local moved = 0
while rcall('RPOPLPUSH', parkedKey, queueKey) do moved = moved + 1 end
return moved
