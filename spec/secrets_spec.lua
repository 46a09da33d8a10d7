-- The secret and the session token never appear in an error, a printable object or a warning, on any path.

local oss = require "oss"
local fixtures = require "spec.support.fixtures"
local support = require "spec.support.emulator"
local rules = dofile("examples/reference_rules.lua")

local KEY_ID = "ak-leak-test"
local SECRET = "Zq81-secret-VALUE-never-shown"
local TOKEN = "Tk55-session-TOKEN-never-shown"
local BUCKET = "examplebucket"

-- Every string reachable from `value`: table keys and values (metatables included), and tostring of the rest.
local function texts(value, found, seen)
  found, seen = found or {}, seen or {}
  local kind = type(value)
  if kind == "string" then
    found[#found + 1] = value
  elseif kind == "table" then
    if seen[value] then return found end
    seen[value] = true
    found[#found + 1] = tostring(value)
    for key, item in pairs(value) do
      texts(key, found, seen)
      texts(item, found, seen)
    end
  elseif value ~= nil then
    found[#found + 1] = tostring(value)
  end
  return found
end

-- The secret key appears nowhere; the token is in no printable form. (A request's headers must hold the token:
-- it is what is sent. Its tostring redacts it.)
local function assert_clean(label, ...)
  for index = 1, select("#", ...) do
    local value = select(index, ...)
    local meta = type(value) == "table" and getmetatable(value)
    local sent_request = meta and meta.__tostring and value.headers and value.url
    for _, text in ipairs(texts(value)) do
      for _, secret in ipairs(sent_request and { SECRET } or { SECRET, TOKEN }) do
        assert.falsy(text:find(secret, 1, true), label .. " shows a secret: " .. text)
      end
    end
  end
end

describe("the secret", function()
  local emulator, warnings, checked

  local function new_client(options)
    local settings = {
      region = "cn-hangzhou", endpoint = emulator.endpoint, path_style = true,
      access_key_id = KEY_ID, access_key_secret = SECRET, security_token = TOKEN,
      sleep = function() end,
      warn = function(message) warnings[#warnings + 1] = message end,
    }
    for name, value in pairs(options or {}) do settings[name] = value end
    local client, err = oss.new(settings)
    assert_clean("oss.new", client, err)
    return client, err
  end

  -- Runs one operation and checks everything it returns, and the error's tostring.
  local function check(label, ...)
    checked = checked + 1
    local results = table.pack(...)
    for index = 1, results.n do
      local value = results[index]
      assert_clean(label, value)
      if type(value) == "table" then assert_clean(label, tostring(value)) end
    end
    return ...
  end

  setup(function()
    emulator = support.start { buckets = { BUCKET, "destbucket" }, keys = { KEY_ID .. ":" .. SECRET .. ":" .. TOKEN } }
    checked = 0
  end)

  teardown(function()
    if emulator then emulator:stop() end
    print(("\n  %d results searched for the secret and the token"):format(checked))
  end)

  before_each(function()
    emulator:reset()
    warnings = {}
  end)

  it("is in no printable object: client, dry-run request, signer, transport", function()
    local client = new_client()
    assert_clean("client", client, tostring(client))
    local request = check("dry run", client:put_bucket_inventory(BUCKET, rules.full, { dry_run = true }))
    assert.truthy(tostring(request):find("<redacted>", 1, true))
    for _, method in ipairs { "get_bucket_inventory", "delete_bucket_inventory" } do
      check(method .. " dry run", client[method](client, BUCKET, "report1", { dry_run = true }))
    end
    check("list dry run", client:list_bucket_inventory(BUCKET, { dry_run = true }))
  end)

  it("is in no validation error", function()
    local client = new_client()
    local bad = fixtures.copy(rules.full)
    bad.IsEnable = true
    check("unknown element", client:put_bucket_inventory(BUCKET, bad))
    check("bad bucket", client:get_bucket_inventory("Bad_Bucket", "report1"))
    check("bad id", client:get_bucket_inventory(BUCKET, "a\r\nb"))
    check("bad option", new_client { signature_version = "v9" })
    check("bad timeout", new_client { timeout = -1 })
    check("bad attempts", new_client { max_attempts = 0 })
    check("secret with LF", new_client { access_key_secret = SECRET .. "\n" })
    check("token with CR", new_client { security_token = TOKEN .. "\r" })
    check("secret of the wrong type", new_client { access_key_id = SECRET, access_key_secret = 5 })
    local failing = new_client { credentials_provider = function() return nil, "cannot reach the metadata service" end }
    check("provider failure", failing:get_bucket_inventory(BUCKET, "report1"))
    local raising = new_client { credentials_provider = function() return KEY_ID, SECRET .. "\0", TOKEN, os.time() + 3600 end }
    check("provider with NUL", raising:get_bucket_inventory(BUCKET, "report1"))
  end)

  it("is in no service error", function()
    local client = new_client()
    check("404", client:get_bucket_inventory(BUCKET, "nothing"))
    check("put", client:put_bucket_inventory(BUCKET, rules.full))
    check("409", client:put_bucket_inventory(BUCKET, rules.full))
    local _, denied = check("wrong secret",
      new_client({ access_key_secret = SECRET .. "x" }):get_bucket_inventory(BUCKET, "x"))
    -- the service echoes the canonical request it computed; the token in it is redacted
    assert.are.equal("SignatureDoesNotMatch", denied.code)
    assert.truthy(table.concat(texts(denied), "\n"):find("x-oss-security-token:<redacted>", 1, true))
    check("wrong token", new_client({ security_token = TOKEN .. "x" }):get_bucket_inventory(BUCKET, "x"))
    for _, fault in ipairs { { status = 500 }, { status = 503 }, { status = 429 }, { action = "malformed_xml" } } do
      fault.times = 3
      emulator:faults { fault }
      check("fault " .. (fault.action or fault.status), client:get_bucket_inventory(BUCKET, rules.full.Id))
    end
    emulator:set_clock_offset(1200)
    check("skewed", new_client({ max_attempts = 1 }):get_bucket_inventory(BUCKET, rules.full.Id))
    check("skew corrected", client:list_bucket_inventory(BUCKET))
  end)

  it("is in no network error", function()
    local client = new_client { timeout = 1 }
    for _, fault in ipairs { { action = "reset" }, { action = "truncate" }, { delay = 2 } } do
      fault.times = 3
      emulator:faults { fault }
      check("fault " .. (fault.action or "delay"), client:list_bucket_inventory(BUCKET))
    end
    check("refused", new_client({ endpoint = "http://127.0.0.1:1" }):get_bucket_inventory(BUCKET, "x"))
    check("proxy", new_client({ proxy = "http://127.0.0.1:1" }):get_bucket_inventory(BUCKET, "x"))
    check("tls", new_client({ endpoint = "https://127.0.0.1:" .. emulator.port }):get_bucket_inventory(BUCKET, "x"))
    for index = 1, 30 do
      local rule = fixtures.copy(rules.full)
      rule.Id = "many-" .. index
      check("put " .. index, client:put_bucket_inventory(BUCKET, rule))
    end
    check("too large", new_client({ max_response_size = 1024 }):list_bucket_inventory(BUCKET))
  end)

  it("is in no warning and no iterator failure", function()
    local client = new_client { ssl_verify = false }
    assert_clean("warnings", warnings)
    emulator:faults { { status = 500, times = 3 } }
    for rule, err in client:each_bucket_inventory(BUCKET) do
      check("each", rule, err)
    end
  end)

  it("signs with V1 too without showing it", function()
    local client = new_client { signature_version = "v1" }
    check("v1 dry run", client:get_bucket_inventory(BUCKET, "report1", { dry_run = true }))
    check("v1 wrong secret", new_client({ signature_version = "v1", access_key_secret = SECRET .. "y" })
      :get_bucket_inventory(BUCKET, "report1"))
  end)
end)

describe("header and URL injection", function()
  local sent

  local function client_with(options)
    sent = {}
    local settings = {
      region = "cn-hangzhou", access_key_id = KEY_ID, access_key_secret = SECRET,
      transport = function(request)
        sent[#sent + 1] = request
        return { status = 200, headers = {}, body = "" }
      end,
    }
    for name, value in pairs(options or {}) do settings[name] = value end
    return oss.new(settings)
  end

  it("is refused in the options with a validation error naming the option", function()
    for _, case in ipairs {
      { "endpoint", { endpoint = "http://host\r\nX-Injected: 1" } },
      { "region", { region = "cn-hangzhou\r\nX-Injected: 1" } },
      { "access_key_id", { access_key_id = "ak\nX-Injected: 1" } },
      { "security_token", { security_token = "token\0" } },
      { "proxy", { proxy = "http://proxy:8080\r\n" } },
      { "no_proxy", { no_proxy = "localhost\n" } },
    } do
      local client, err = client_with(case[2])
      assert.is_nil(client)
      assert.are.same({ "validation", case[1] }, { err.kind, err.path })
    end
  end)

  it("is refused in a bucket name or an Id, and nothing is sent", function()
    local client = assert(client_with())
    for _, bucket in ipairs { "bucket\r\nx", "bucket/../other", "bucket?acl", "bucket%2f", "bucket\0" } do
      local _, err = client:get_bucket_inventory(bucket, "report1")
      assert.are.same({ "validation", "bucket" }, { err.kind, err.path })
    end
    for _, id in ipairs { "id\r\nX-Injected: 1", "id\0", "../x", "a b", "a&b=c", "a#b", "a?b" } do
      local _, err = client:delete_bucket_inventory("examplebucket", id)
      assert.are.same({ "validation", "id" }, { err.kind, err.path })
      local rule = fixtures.copy(rules.full)
      rule.Id = id
      local _, put_err = client:put_bucket_inventory("examplebucket", rule)
      assert.are.same({ "validation", "Id" }, { put_err.kind, put_err.path })
    end
    assert.are.equal(0, #sent)
  end)

  it("is refused in what a credentials provider returns, and nothing is sent", function()
    local client = assert(client_with { credentials_provider = function()
      return KEY_ID, SECRET, "token\r\nX-Injected: 1", os.time() + 3600
    end })
    local _, err = client:get_bucket_inventory("examplebucket", "report1")
    assert.are.same({ "validation", "security_token" }, { err.kind, err.path })
    assert.are.equal(0, #sent)
  end)

  it("cannot happen through a continuation token: refused with CR/LF/NUL, percent-encoded otherwise", function()
    local client = assert(client_with())
    local _, err = client:list_bucket_inventory("examplebucket", { continuation_token = "t\r\nX-Injected: 1" })
    assert.are.equal("validation", err.kind)
    assert.truthy(err.path:find("continuation-token", 1, true))
    local request = assert(client:list_bucket_inventory("examplebucket",
      { continuation_token = "t X&inventoryId=x#y", dry_run = true }))
    assert.truthy(request.url:find("continuation-token=t%20X%26inventoryId%3Dx%23y&inventory", 1, true))
    assert.are.equal(0, #sent)
  end)
end)
