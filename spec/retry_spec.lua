-- The retry policy through scripted answers: which failures are sent again, how often, how long apart, re-signed.

local oss = require "oss"
local retry = require "oss.retry"
local core = require "oss.core"
local fixtures = require "spec.support.fixtures"
local rules = dofile("examples/reference_rules.lua")

local CONFIGURATION = core.schema(require("oss.schema.inventory").InventoryConfiguration)

local NOW = 1702743657 -- Sat, 16 Dec 2023 16:20:57 GMT

-- A transport answering from a list (a `fail` entry is a network error), recording every request it got.
local function scripted(answers)
  local sent = {}
  return function(request)
    sent[#sent + 1] = { url = request.url, headers = request.headers, body = request.body }
    local answer = table.remove(answers, 1)
    assert(answer, "the client sent more requests than the spec scripted")
    if answer.fail then return nil, oss.errors.network(answer.fail, "scripted " .. answer.fail) end
    answer.headers = answer.headers or {}
    answer.body = answer.body or ""
    return answer
  end, sent
end

local function error_document(code, extra)
  return ("<Error><Code>%s</Code><Message>scripted</Message><RequestId>R1</RequestId>%s</Error>")
    :format(code, extra or "")
end

local function failing(status, code)
  return { status = status, body = error_document(code or "Scripted") }
end

local OK = { status = 200 }

-- A client whose clock advances one second per reading, whose sleeps are recorded, and whose jitter is `random`.
local function client_for(answers, options)
  local send, sent = scripted(answers)
  local sleeps, now = {}, NOW
  local settings = {
    region = "cn-hangzhou", access_key_id = "ak", access_key_secret = "sk",
    transport = send,
    clock = function() now = now + 1; return now end,
    sleep = function(seconds) sleeps[#sleeps + 1] = seconds end,
    random = function() return 0.5 end,
  }
  for name, value in pairs(options or {}) do settings[name] = value end
  return assert(oss.new(settings)), sent, sleeps
end

describe("retries", function()
  it("make three attempts by default, waiting a full-jitter backoff between them", function()
    local client, sent, sleeps = client_for { failing(503), failing(500), OK }
    assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"))
    assert.are.equal(3, #sent)
    -- random() = 0.5 of min(20, 0.2 * 2^(n-1))
    assert.are.same({ 0.1, 0.2 }, sleeps)
  end)

  it("sign every attempt again", function()
    local client, sent = client_for { failing(503), failing(503), OK }
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    local dates, signatures = {}, {}
    for index, request in ipairs(sent) do
      dates[request.headers["x-oss-date"]] = true
      signatures[request.headers.Authorization] = true
      assert.are.equal(sent[1].body, request.body, "attempt " .. index)
    end
    local distinct = function(set) local n = 0; for _ in pairs(set) do n = n + 1 end; return n end
    assert.are.equal(3, distinct(dates))
    assert.are.equal(3, distinct(signatures))
  end)

  it("give up after max_attempts and say how many were made", function()
    local client, sent, sleeps = client_for({ failing(500), failing(500), failing(500), failing(500), failing(500) },
      { max_attempts = 5, retry_base_delay = 1, retry_max_delay = 3 })
    local ok, err = client:get_bucket_inventory("examplebucket", "report1")
    assert.is_nil(ok)
    assert.are.same({ "service", 500, 5 }, { err.kind, err.status, err.attempts })
    assert.are.equal(5, #sent)
    assert.are.same({ 0.5, 1, 1.5, 1.5 }, sleeps) -- 0.5 * min(3, 1 * 2^(n-1))
  end)

  it("send once with max_attempts = 1", function()
    local client, sent, sleeps = client_for({ failing(503) }, { max_attempts = 1 })
    local _, err = client:get_bucket_inventory("examplebucket", "report1")
    assert.are.same({ 503, 1 }, { err.status, err.attempts })
    assert.are.same({ 1, 0 }, { #sent, #sleeps })
  end)

  for _, status in ipairs { 500, 502, 503, 504, 429, 408 } do
    it("retry HTTP " .. status, function()
      local client, sent = client_for { failing(status), OK }
      assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"))
      assert.are.equal(2, #sent)
    end)
  end

  for _, case in ipairs { { 400, "InvalidArgument" }, { 403, "AccessDenied" }, { 403, "SignatureDoesNotMatch" },
    { 404, "NoSuchInventory" }, { 409, "InventoryAlreadyExist" }, { 411, "MissingContentLength" } } do
    it(("never retry %d %s"):format(case[1], case[2]), function()
      local client, sent, sleeps = client_for { failing(case[1], case[2]), OK }
      local ok, err = client:get_bucket_inventory("examplebucket", "report1")
      assert.is_nil(ok)
      assert.are.same({ case[1], case[2], 1 }, { err.status, err.code, err.attempts })
      assert.are.same({ 1, 0 }, { #sent, #sleeps })
    end)
  end

  for _, code in ipairs { "connect", "timeout", "resolve", "send", "receive", "proxy" } do
    it("retry a network failure: " .. code, function()
      local client, sent = client_for { { fail = code }, OK }
      assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"))
      assert.are.equal(2, #sent)
    end)
  end

  for _, code in ipairs { "tls", "too_large", "invalid", "protocol" } do
    it("do not retry a network failure that would repeat: " .. code, function()
      local client, sent = client_for { { fail = code }, OK }
      local _, err = client:delete_bucket_inventory("examplebucket", "report1")
      assert.are.same({ "network", code, 1 }, { err.kind, err.code, err.attempts })
      assert.are.equal(1, #sent)
    end)
  end

  it("never send an invalid request, so never retry one", function()
    local client, sent = client_for {}
    local _, err = client:get_bucket_inventory("Not_A_Bucket", "report1")
    assert.are.equal("validation", err.kind)
    assert.are.equal(0, #sent)
  end)

  it("do not read back a put refused with 409 at its first attempt", function()
    local client, sent = client_for { failing(409, "InventoryAlreadyExist") }
    local _, err = client:put_bucket_inventory("examplebucket", rules.full)
    assert.are.same({ 409, 1 }, { err.status, #sent })
  end)

  it("resolve a 409 after a lost answer by reading the rule back", function()
    local same = core.xml_write(CONFIGURATION, rules.full)
    local client, sent = client_for { { fail = "timeout" }, failing(409, "InventoryAlreadyExist"),
      { status = 200, body = same } }
    assert.is_true(client:put_bucket_inventory("examplebucket", rules.full))
    assert.are.equal(3, #sent)
    assert.truthy(sent[3].url:find("inventoryId=" .. rules.full.Id, 1, true))
    assert.is_nil(sent[3].body)
  end)

  it("keep the 409 when the rule read back differs", function()
    local disabled = fixtures.copy(rules.full)
    disabled.IsEnabled = false
    local other = core.xml_write(CONFIGURATION, disabled)
    local client = client_for { failing(503), failing(409, "InventoryAlreadyExist"), { status = 200, body = other } }
    local ok, err = client:put_bucket_inventory("examplebucket", rules.full)
    assert.is_nil(ok)
    assert.are.same({ 409, "InventoryAlreadyExist", 2 }, { err.status, err.code, err.attempts })
  end)

  it("refuse invalid retry options", function()
    for _, case in ipairs { { max_attempts = 0 }, { max_attempts = 1.5 }, { retry_base_delay = -1 },
      { retry_max_delay = 0 }, { retry_base_delay = 0 / 0 }, { sleep = "fast" }, { random = 4 } } do
      local name = next(case)
      local settings = { region = "cn-hangzhou", access_key_id = "ak", access_key_secret = "sk" }
      settings[name] = case[name]
      local client, err = oss.new(settings)
      assert.is_nil(client)
      assert.are.same({ "validation", name }, { err.kind, err.path })
    end
  end)
end)

describe("a skewed clock", function()
  local function skewed(date)
    return { status = 403, headers = { date = date },
      body = error_document("RequestTimeTooSkewed", "<MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds>") }
  end

  it("is corrected from the server's Date, then the request is signed again at once", function()
    -- The server is 20 minutes ahead of NOW.
    local server_date = core.http_date(NOW + 1200)
    local client, sent, sleeps = client_for { skewed(server_date), OK, OK }
    assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"))
    assert.are.equal(2, #sent)
    assert.are.same({}, sleeps)
    local first, second = sent[1].headers.Date, sent[2].headers.Date
    assert.are.equal(core.http_date(NOW + 1), first)
    -- Corrected: the second attempt's clock reading (NOW + 2) plus the offset (1200 - 1).
    assert.are.equal(core.http_date(NOW + 2 + 1199), second)
    -- and it stays corrected for the next call
    assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"))
    assert.are.equal(core.http_date(NOW + 3 + 1199), sent[3].headers.Date)
  end)

  it("is corrected from ServerTime when there is no Date header", function()
    local answer = { status = 403, body = error_document("RequestTimeTooSkewed",
      "<ServerTime>" .. os.date("!%Y-%m-%dT%H:%M:%S.000Z", NOW - 3600) .. "</ServerTime>") }
    local client, sent = client_for { answer, OK }
    assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"))
    assert.are.equal(core.http_date(NOW + 2 - 3601), sent[2].headers.Date)
  end)

  it("is retried once only: a second skew error is returned", function()
    local date = core.http_date(NOW + 1200)
    local client, sent = client_for { skewed(date), skewed(date), OK }
    local _, err = client:delete_bucket_inventory("examplebucket", "report1")
    assert.are.same({ "RequestTimeTooSkewed", 2 }, { err.code, err.attempts })
    assert.are.equal(2, #sent)
  end)

  it("is not adopted from a date that does not exist, and the client keeps working", function()
    for _, date in ipairs { "Sat, 01 Jan 0000 99:00:00 GMT", "Mon, 31 Feb 2024 10:00:00 GMT",
      "Mon, 01 Jan 2024 10:61:00 GMT", "Fri, 01 Jan 1960 00:00:00 GMT", "Fri, 01 Jan 99999 00:00:00 GMT" } do
      local client, sent = client_for { skewed(date), OK }
      local _, err = client:delete_bucket_inventory("examplebucket", "report1")
      assert.are.equal("RequestTimeTooSkewed", err.code, date)
      assert.are.equal(1, #sent, date)
      local request = assert(client:delete_bucket_inventory("examplebucket", "report1", { dry_run = true }))
      assert.are.equal(core.http_date(NOW + 2), request.headers.Date, date)
      assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"), date)
    end
  end)

  it("falls back to ServerTime when the Date header does not read", function()
    local answer = skewed("Sat, 01 Jan 0000 99:00:00 GMT")
    answer.body = error_document("RequestTimeTooSkewed",
      "<ServerTime>" .. os.date("!%Y-%m-%dT%H:%M:%S.000Z", NOW - 3600) .. "</ServerTime>")
    local client, sent = client_for { answer, OK }
    assert.is_true(client:delete_bucket_inventory("examplebucket", "report1"))
    assert.are.equal(core.http_date(NOW + 2 - 3601), sent[2].headers.Date)
  end)

  it("is not retried when the server's time cannot be read", function()
    local client, sent = client_for { skewed("yesterday"), OK }
    local _, err = client:delete_bucket_inventory("examplebucket", "report1")
    assert.are.equal("RequestTimeTooSkewed", err.code)
    assert.are.equal(1, #sent)
  end)
end)

describe("the retry module", function()
  it("caps the backoff at max_delay and spreads it over [0, ceiling)", function()
    local policy = { base_delay = 0.2, max_delay = 20, random = function() return 0.999 end }
    assert.are.equal(0.2 * 0.999, retry.backoff(policy, 1))
    assert.are.equal(0.8 * 0.999, retry.backoff(policy, 3))
    assert.are.equal(20 * 0.999, retry.backoff(policy, 12))
    policy.random = function() return 0 end
    assert.are.equal(0, retry.backoff(policy, 12))
  end)

  it("reads HTTP and ISO 8601 server times as UTC", function()
    assert.are.equal(NOW, retry.server_time({ date = "Sat, 16 Dec 2023 16:20:57 GMT" }))
    assert.are.equal(951782400, retry.server_time({ date = "Tue, 29 Feb 2000 00:00:00 GMT" }))
    assert.are.equal(NOW, retry.server_time({}, { details = { ServerTime = "2023-12-16T16:20:57.000Z" } }))
    assert.is_nil(retry.server_time({ date = "Sat, 16 Foo 2023 16:20:57 GMT" }))
  end)

  it("sleeps for real by default", function()
    local socket = require "socket"
    local started = socket.gettime()
    retry.sleep(0.05)
    assert.is_true(socket.gettime() - started >= 0.04)
  end)
end)
