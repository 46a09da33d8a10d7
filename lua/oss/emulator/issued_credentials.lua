-- The temporary credentials the emulated platform hands out (STS, instance metadata, credentials URI), kept so
-- that the OSS side and chained AssumeRole calls accept each one with its token until it expires.
local core = require "oss.core"

local M = {}

-- The newest this many are kept, so a client that calls STS in a loop cannot grow the emulator without end; an
-- older one is then refused as an unknown key.
M.KEPT = 10000

-- Letters and digits only, as the service's own key ids and secrets are; from a cryptographic generator, since a
-- guessable secret would let one spec's credentials pass for another's.
local function random_text(count)
  return (core.base64_encode(core.random_bytes(count * 2)):gsub("[^%w]", ""):sub(1, count))
end

M.random_text = random_text

local Issued = {}
Issued.__index = Issued

-- clock: the emulator's clock (expiry follows set_clock_offset); lifetime: seconds a credential lives at most.
function M.new(clock, lifetime)
  return setmetatable({
    clock = clock, lifetime = lifetime, by_id = {}, current_of = {}, ring = {}, count = 0,
  }, Issued)
end

--- A fresh credential: { id, secret, token, issued, expires } (times in the emulator's unix seconds).
-- duration, when given, shortens the lifetime as STS's DurationSeconds does; it never lengthens it.
function Issued:issue(duration)
  local now = self.clock:now()
  local lifetime = duration and math.min(duration, self.lifetime) or self.lifetime
  local credential = {
    id = "STS." .. random_text(24),
    secret = random_text(40),
    token = "CAIS" .. core.base64_encode(core.random_bytes(96)),
    issued = now,
    expires = now + lifetime,
  }
  self.by_id[credential.id] = credential
  self.count = self.count + 1
  local slot = (self.count - 1) % M.KEPT + 1
  if self.ring[slot] then
    self.by_id[self.ring[slot]] = nil
  end
  self.ring[slot] = credential.id
  return credential
end

--- The credential `holder` (an instance role, the credentials URI) currently hands out. Like the instance's own
-- rotation it is replaced once half its lifetime has passed, so a client refreshing ahead of expiry gets a new one.
function Issued:current(holder)
  local credential = self.current_of[holder]
  local now = self.clock:now()
  if not credential or now >= credential.issued + (credential.expires - credential.issued) / 2 then
    credential = self:issue()
    self.current_of[holder] = credential
  end
  return credential
end

--- The credential with this access key id, expired or not (the caller refuses expired ones with its own error).
function Issued:find(id)
  return self.by_id[id]
end

function Issued:clear()
  self.by_id, self.current_of, self.ring, self.count = {}, {}, {}, 0
end

return M
