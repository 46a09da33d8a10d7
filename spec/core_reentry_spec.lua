-- The C core against Lua that calls back into it: metamethods that re-enter or close a signer or an HTTP handle in
-- the middle of a call, and finalizers that resurrect a schema after it was collected. Each must raise a clear
-- error (or be refused) and leave the object usable, never read freed memory or mix two calls' state.

local core = require "oss.core"
local inventory = require "oss.schema.inventory"

local AK = { access_key_id = "ak", access_key_secret = "sk" }

local function base_request()
  return {
    method = "GET", bucket = "examplebucket", query = { inventory = "", inventoryId = "report1" },
    headers = { ["Content-Type"] = "application/xml", ["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg==" },
    region = "cn-hangzhou", time = 1702743657,
  }
end

-- A request whose `field` is looked up through __index, which runs `hook` first.
local function request_with_hook(field, value, hook)
  local request = base_request()
  request[field] = nil
  return setmetatable(request, {
    __index = function(_, key)
      if key == field then
        hook()
        return value
      end
    end,
  })
end

local function reference_v4()
  return core.signer():sign_v4(base_request(), AK)
end

describe("core: a signer re-entered from Lua", function()
  it("refuses sign_v4 called from a request's __index", function()
    local signer = core.signer()
    local inner_error
    local request = request_with_hook("region", "cn-hangzhou", function()
      local ok, message = pcall(signer.sign_v4, signer, base_request(), AK)
      assert.is_false(ok)
      inner_error = message
    end)
    local authorization = signer:sign_v4(request, AK)
    assert.matches("oss%.signer: called again while signing", inner_error)
    -- The outer signature covers only its own request.
    assert.equal(reference_v4(), authorization)
  end)

  it("raises a clear error when the re-entering call is not caught", function()
    local signer = core.signer()
    local request = request_with_hook("time", 1702743657, function() signer:sign_v4(base_request(), AK) end)
    assert.has_error(function() signer:sign_v4(request, AK) end)
    local ok, message = pcall(signer.sign_v4, signer, request, AK)
    assert.is_false(ok)
    assert.matches("called again while signing", message)
    assert.equal(reference_v4(), (signer:sign_v4(base_request(), AK)))
  end)

  it("refuses both versions from inside either", function()
    local signer = core.signer()
    local attempts = {
      function() return signer:sign_v1(base_request(), AK) end,
      function() return signer:sign_v4(base_request(), AK) end,
    }
    for _, outer in ipairs({ "sign_v4", "sign_v1" }) do
      for _, attempt in ipairs(attempts) do
        local credentials = setmetatable({ access_key_id = "ak" }, {
          __index = function(_, key)
            if key == "access_key_secret" then
              attempt()
              return "sk"
            end
          end,
        })
        local ok, message = pcall(signer[outer], signer, base_request(), credentials)
        assert.is_false(ok)
        assert.matches("oss%.signer: called again while signing", message)
      end
    end
    assert.equal(reference_v4(), (signer:sign_v4(base_request(), AK)))
  end)

  it("refuses close from inside a signing call and stays usable", function()
    local signer = core.signer()
    local request = request_with_hook("method", "GET", function() signer:close() end)
    local ok, message = pcall(signer.sign_v4, signer, request, AK)
    assert.is_false(ok)
    assert.matches("oss%.signer: cannot close while signing", message)
    assert.equal(reference_v4(), (signer:sign_v4(base_request(), AK)))
    signer:close()
    assert.has_error(function() signer:sign_v4(base_request(), AK) end, "oss.signer: used after close")
  end)

  it("is usable again after a metamethod raises mid-call", function()
    local signer = core.signer()
    local request = request_with_hook("headers", {}, function() error("boom", 0) end)
    for _ = 1, 3 do
      local ok, message = pcall(signer.sign_v4, signer, request, AK)
      assert.is_false(ok)
      assert.equal("boom", message)
    end
    local ok = pcall(signer.sign_v1, signer, request, AK)
    assert.is_false(ok)
    -- A field error raised by the core itself clears the mark as well.
    assert.has_error(function() signer:sign_v4({ method = "GET", headers = {}, time = 1 }, AK) end)
    assert.equal(reference_v4(), (signer:sign_v4(base_request(), AK)))
  end)
end)

describe("core: canonical_query's shared scratch", function()
  it("is usable again after a call raises", function()
    for _ = 1, 3 do
      local ok, message = pcall(core.canonical_query, { a = {} })
      assert.is_false(ok)
      assert.matches("query%.a: expected a string, got table", message)
    end
    assert.equal("a=1%20x&b=2", core.canonical_query { b = "2", a = "1 x" })
    assert.equal("a%20b/c", core.uri_encode("a b/c", true))
  end)
end)

describe("core: an HTTP handle re-entered from Lua", function()
  local URL = "http://127.0.0.1:1/"

  local function request_with_hook(hook)
    return setmetatable({ method = "GET" }, {
      __index = function(_, key)
        if key == "url" then
          hook()
          return URL
        end
      end,
    })
  end

  it("refuses close from a request's __index, and no request runs on a closed handle", function()
    local http = assert(core.http())
    local ok, message = pcall(http.request, http, request_with_hook(function() http:close() end))
    assert.is_false(ok)
    assert.matches("oss%.http: cannot close while a request is being prepared", message)
    assert.matches("^oss%.http: 0x%x+$", tostring(http))
    -- The handle is still whole: a request after the refusal reaches libcurl (nothing listens on port 1).
    local response, _, code = http:request { method = "GET", url = URL, connect_timeout = 2, timeout = 2 }
    assert.is_nil(response)
    assert.is_string(code)
    http:close()
    assert.has_error(function() http:request { method = "GET", url = URL } end, "attempt to use a closed oss.http")
  end)

  it("refuses a request started from inside another", function()
    local http = assert(core.http())
    local inner_error
    local request = request_with_hook(function()
      local ok, message = pcall(http.request, http, { method = "GET", url = URL })
      assert.is_false(ok)
      inner_error = message
    end)
    request.connect_timeout, request.timeout = 2, 2
    local response = http:request(request)
    assert.is_nil(response)
    assert.matches("oss%.http: used while a request is being prepared", inner_error)
    http:close()
  end)

  it("is usable again after a metamethod raises mid-call", function()
    local http = assert(core.http())
    for _ = 1, 3 do
      local ok, message = pcall(http.request, http, request_with_hook(function() error("boom", 0) end))
      assert.is_false(ok)
      assert.equal("boom", message)
    end
    http:close() -- would be refused if the mark had stayed set
    assert.matches("%(closed%)$", tostring(http))
  end)
end)

describe("core: a schema resurrected by a finalizer", function()
  -- Makes an object whose finalizer stores `value` in _G[name], and drops it: Lua 5.2+ finalizes tables, LuaJIT and
  -- Lua 5.1 only userdata from newproxy.
  local function resurrect_later(name, value)
    local function finalizer() _G[name] = value end
    if newproxy then
      local proxy = newproxy(true)
      getmetatable(proxy).__gc = finalizer
    else
      setmetatable({}, { __gc = finalizer })
    end
  end

  local function collect()
    for _ = 1, 4 do collectgarbage("collect") end
  end

  it("raises on every use after its __gc ran", function()
    if _VERSION == "Lua 5.1" and not newproxy then
      pending("no finalizers on Lua 5.1 without newproxy")
      return
    end
    resurrect_later("OSS_RESURRECTED_SCHEMA", core.schema(inventory.InventoryConfiguration))
    collect()
    local schema = _G.OSS_RESURRECTED_SCHEMA
    _G.OSS_RESURRECTED_SCHEMA = nil
    assert.is_not_nil(schema)
    local collected = "oss%.schema: used after it was collected"
    local ok, message = pcall(schema.name, schema)
    assert.is_false(ok)
    assert.matches(collected, message)
    ok, message = pcall(core.xml_write, schema, { Id = "report1" })
    assert.is_false(ok)
    assert.matches(collected, message)
    ok, message = pcall(core.xml_check, schema, { Id = "report1" })
    assert.is_false(ok)
    assert.matches(collected, message)
    ok, message = pcall(core.xml_read, schema, "<InventoryConfiguration/>")
    assert.is_false(ok)
    assert.matches(collected, message)
    ok, message = pcall(core.xml_reader, schema)
    assert.is_false(ok)
    assert.matches(collected, message)
    assert.matches("^oss%.schema: %(collected%)", tostring(schema))
  end)

  it("leaves live schemas alone", function()
    local schema = core.schema(inventory.InventoryConfiguration)
    collect()
    assert.equal("InventoryConfiguration", schema:name())
  end)
end)
