-- The ECS instance metadata service's RAM role part: session tokens (IMDSv2), the role name, its credentials.
local cjson = require "cjson"
local issued_credentials = require "oss.emulator.issued_credentials"
local utc = require "oss.utc"

local M = {}

local PREFIX = "/latest/"
local TOKEN_PATH = "/latest/api/token"
local ROLES_PATH = "/latest/meta-data/ram/security-credentials/"
local TTL_HEADER = "x-aliyun-ecs-metadata-token-ttl-seconds"
local TOKEN_HEADER = "x-aliyun-ecs-metadata-token"
-- The service accepts session tokens of one second to six hours.
local MAX_TOKEN_TTL = 21600

local Metadata = {}
Metadata.__index = Metadata

-- context: { role = name, imdsv2_only = boolean, issued = issued credentials, clock }
function M.new(context)
  return setmetatable({
    name = "metadata",
    role = context.role, imdsv2_only = context.imdsv2_only, issued = context.issued, clock = context.clock,
    tokens = {},
  }, Metadata)
end

function Metadata:matches(request)
  return self.role ~= nil and request.path:sub(1, #PREFIX) == PREFIX
end

local function text(status, body)
  return { status = status, body = body, content_type = "text/plain" }
end

-- The service's answers to wrong input are bare statuses with their reason as the body.
local REASONS = {
  [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden", [404] = "Not Found",
  [405] = "Method Not Allowed",
}

function Metadata:refusal(status, _, message)
  return text(status, message or REASONS[status] or "Error")
end

function Metadata:forget_expired_tokens(now)
  for token, expires in pairs(self.tokens) do
    if now >= expires then
      self.tokens[token] = nil
    end
  end
end

function Metadata:issue_token(request)
  if request.method ~= "PUT" then
    return self:refusal(405)
  end
  local ttl = request.headers[TTL_HEADER]
  local seconds = ttl and ttl:match("^%d+$") and tonumber(ttl)
  if not seconds or seconds < 1 or seconds > MAX_TOKEN_TTL then
    return self:refusal(400)
  end
  local now = self.clock:now()
  self:forget_expired_tokens(now)
  local token = issued_credentials.random_text(48)
  self.tokens[token] = now + seconds
  return text(200, token)
end

-- nil when the request may read metadata; else the refusal. A token that is sent is always checked; none at
-- all is refused only when the instance allows IMDSv2 alone.
function Metadata:check_token(request)
  local token = request.headers[TOKEN_HEADER]
  if token == nil then
    return self.imdsv2_only and self:refusal(401) or nil
  end
  local expires = self.tokens[token]
  if not expires or self.clock:now() >= expires then
    return self:refusal(401)
  end
  return nil
end

function Metadata:credentials_document()
  local credential = self.issued:current("ecs-role:" .. self.role)
  return cjson.encode {
    Code = "Success",
    AccessKeyId = credential.id,
    AccessKeySecret = credential.secret,
    SecurityToken = credential.token,
    Expiration = utc.iso8601(credential.expires),
    LastUpdated = utc.iso8601(credential.issued),
  }
end

function Metadata:handle(request)
  if request.path == TOKEN_PATH then
    return self:issue_token(request)
  end
  if request.method ~= "GET" then
    return self:refusal(405)
  end
  local refused = self:check_token(request)
  if refused then
    return refused
  end
  if request.path == ROLES_PATH then
    return text(200, self.role)
  end
  if request.path == ROLES_PATH .. self.role then
    return text(200, self:credentials_document())
  end
  return self:refusal(404)
end

function Metadata:reset()
  self.tokens = {}
end

return M
