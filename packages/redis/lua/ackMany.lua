--[[
  Acknowledges delivered entries: each leaves this consumer's processing list. One call
  settles every delivery that finished in the same event-loop turn.

  KEYS[1] processing  list  entries this consumer is delivering
  ARGV[n] an entry exactly as claimed

  Returns, per entry, 1 when removed or 0 when it was no longer ours.
]]
local rcall = redis.call
local processingKey = KEYS[1]

local removed = {}
for i, entry in ipairs(ARGV) do
  removed[i] = rcall('LREM', processingKey, 1, entry)
end
return removed
