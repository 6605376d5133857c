--[[
  Removes one subscription's deliveries from events of the attempt history (a deleted
  subscription leaves nothing behind); each event keeps its expiry.

  KEYS[1..n] event strings (fields JSON .. "\n" .. deliveries JSON, see recordHistory.lua): KEYS[1], KEYS[2], ...
  ARGV[1] subscription id

  Returns the number of events changed.
]]
local rcall = redis.call
local sub = ARGV[1]
local quoted = cjson.encode(sub)
local changed = 0
for _, key in ipairs(KEYS) do
  local doc = rcall('GET', key)
  -- Most events never went to the subscription: its quoted id is not even in the text.
  if doc and string.find(doc, quoted, 1, true) then
    local cut = string.find(doc, '\n', 1, true)
    local text = string.sub(doc, cut + 1)
    if text ~= '' then
      local deliveries = cjson.decode(text)
      if deliveries[sub] then
        deliveries[sub] = nil
        local rest = next(deliveries) == nil and '' or cjson.encode(deliveries)
        rcall('SET', key, string.sub(doc, 1, cut) .. rest, 'KEEPTTL')
        changed = changed + 1
      end
    end
  end
end
return changed
