-- Included by scripts that compare object keys (defineScript resolves `--- @include`).
-- Lua's `<` follows the server's collation locale; keys are ordered by their bytes.
local function before (a, b)
  if a == b then return false end
  local n = math.min(#a, #b)
  local i = 1
  while i + 7 <= n and string.sub(a, i, i + 7) == string.sub(b, i, i + 7) do i = i + 8 end
  while i <= n do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
    i = i + 1
  end
  return #a < #b
end
