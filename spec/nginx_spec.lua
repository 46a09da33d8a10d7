-- Inside a real nginx: the example gateway end to end against the emulator, and proof that it never blocks.

local cjson = require "cjson"
local socket = require "socket"
local fixtures = require "spec.support.fixtures"
local emulator_support = require "spec.support.emulator"
local nginx_support = require "spec.support.nginx"
local rules = dofile("examples/reference_rules.lua")

local KEY_ID, SECRET = "ak-gateway", "secret-gateway"
local SLOW_PUTS = 200

local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

-- Replaces exactly one occurrence of `pattern` in `text`, so a change to the example cannot slip past the spec.
local function replace_once(text, pattern, replacement)
  local result, count = text:gsub(pattern, function() return replacement end)
  assert(count == 1, "examples/nginx.conf: expected one match for " .. pattern .. ", found " .. count)
  return result
end

-- examples/nginx.conf as shipped, but on a free port, in the foreground, with one worker and this tree's modules.
local function example_config(port)
  local text = read_file("examples/nginx.conf")
  text = replace_once(text, "load_module [^\n]*ndk_http_module%.so;\nload_module [^\n]*ngx_http_lua_module%.so;\n",
    nginx_support.module_lines())
  text = replace_once(text, "worker_processes auto;", "worker_processes 1;\ndaemon off;")
  text = replace_once(text, 'lua_package_path "[^"]*";%s*lua_package_cpath "[^"]*";', nginx_support.package_paths())
  text = replace_once(text, "listen 127%.0%.0%.1:8080;", ("listen 127.0.0.1:%d;"):format(port))
  return text
end

-- A rule for the gateway as JSON, with an Id of its own.
local function rule_json(id)
  local rule = fixtures.copy(rules.syntax)
  rule.Id = id
  return cjson.encode(rule)
end

local normalised = require("oss.stored_form").rule

describe("the transport choice outside nginx", function()
  it("is libcurl, and the cosocket transport refuses what it cannot honour", function()
    local select_transport = require "oss.transport.select"
    assert.is_false(select_transport.inside_nginx())
    assert.is_function(select_transport.new {})
    local cosocket = require "oss.transport.cosocket"
    local send, err = cosocket.new { ca_file = "/etc/ssl/ca.pem" }
    assert.is_nil(send)
    assert.are.same({ "validation", "ca_file" }, { err.kind, err.path })
    assert.are.equal("ca_file: not supported inside nginx: set lua_ssl_trusted_certificate in nginx.conf instead",
      err.message)
    send, err = cosocket.new { proxy = "http://proxy:3128" }
    assert.are.same({ "validation", "proxy" }, { err.kind, err.path })
    assert.has_error(function() cosocket.new { timeout = "5" } end,
      "oss.transport.cosocket: option timeout: expected a number, got string")
    assert.has_error(function() cosocket.new { keep_alive = true } end,
      "oss.transport.cosocket: unknown option keep_alive")
  end)
end)

describe("the example gateway (examples/nginx.conf) in a real nginx", function()
  local emulator, nginx, base

  local function call(method, path, body)
    local status, text = emulator_support.http(method, base .. path, body,
      body and { ["content-type"] = "application/json" } or nil)
    local decoded = (text ~= nil and text ~= "") and cjson.decode(text) or nil
    return status, decoded, text
  end

  setup(function()
    emulator = emulator_support.start {
      buckets = { "examplebucket", "emptybucket", "destination-bucket", "test-inc-bi-bj" },
      keys = { KEY_ID .. ":" .. SECRET },
    }
    local port = nginx_support.free_port()
    nginx = nginx_support.start(example_config(port), {
      port = port,
      env = {
        OSS_ACCESS_KEY_ID = KEY_ID, OSS_ACCESS_KEY_SECRET = SECRET, OSS_REGION = "cn-hangzhou",
        OSS_ENDPOINT = emulator.endpoint, OSS_PATH_STYLE = "1",
      },
    })
    base = "http://127.0.0.1:" .. port
  end)

  teardown(function()
    if nginx then nginx:stop() end
    if emulator then emulator:stop() end
  end)

  before_each(function()
    emulator:reset()
  end)

  it("submits, gets, lists and deletes rules", function()
    local status, answer = call("POST", "/inventory/examplebucket", cjson.encode(rules.syntax))
    assert.are.equal(201, status)
    assert.are.same({ id = rules.syntax.Id }, answer)
    status = call("POST", "/inventory/examplebucket", cjson.encode(rules.incremental))
    assert.are.equal(201, status)

    local stored
    status, stored = call("GET", "/inventory/examplebucket/" .. rules.syntax.Id)
    assert.are.equal(200, status)
    assert.are.same(normalised(rules.syntax), stored)
    assert.are.same({ "Size", "LastModifiedDate", "TransitionTime", "ETag", "StorageClass", "IsMultipartUploaded",
      "EncryptionStatus" }, stored.OptionalFields.Field)
    assert.are.same({ KeyId = "keyId" }, stored.Destination.OSSBucketDestination.Encryption["SSE-KMS"])

    local listed
    status, listed = call("GET", "/inventory/examplebucket")
    assert.are.equal(200, status)
    local ids = {}
    for index, rule in ipairs(listed.rules) do ids[index] = rule.Id end
    table.sort(ids)
    assert.are.same({ rules.incremental.Id, rules.syntax.Id }, ids)

    status = call("DELETE", "/inventory/examplebucket/" .. rules.syntax.Id)
    assert.are.equal(204, status)
    local err
    status, err = call("GET", "/inventory/examplebucket/" .. rules.syntax.Id)
    assert.are.equal(404, status)
    assert.are.same({ "service", "NoSuchInventory" }, { err.error, err.code })

    -- What the gateway answered for a GET can be submitted again unchanged.
    status = call("POST", "/inventory/examplebucket", cjson.encode(stored))
    assert.are.equal(201, status)
    local again
    status, again = call("GET", "/inventory/examplebucket/" .. rules.syntax.Id)
    assert.are.equal(200, status)
    assert.are.same(stored, again)

    local methods = {}
    for index, request in ipairs(emulator:requests()) do methods[index] = request.method end
    assert.are.same({ "PUT", "PUT", "GET", "GET", "DELETE", "GET", "PUT", "GET" }, methods)
  end)

  it("replaces a rule with PUT, and puts the previous one back when the service refuses the new one", function()
    assert.are.equal(201, (call("POST", "/inventory/examplebucket", cjson.encode(rules.syntax))))
    local changed = fixtures.copy(rules.syntax)
    changed.Schedule = { Frequency = "Weekly" }
    assert.are.equal(200, (call("PUT", "/inventory/examplebucket/" .. changed.Id, cjson.encode(changed))))
    local _, stored = call("GET", "/inventory/examplebucket/" .. changed.Id)
    assert.are.equal("Weekly", stored.Schedule.Frequency)

    local refused = fixtures.copy(changed)
    refused.Destination.OSSBucketDestination.Bucket = "acs:oss:::no-such-destination"
    local status, answer = call("PUT", "/inventory/examplebucket/" .. refused.Id, cjson.encode(refused))
    assert.are.equal(400, status)
    assert.are.same({ "InvalidArgument", "restored" }, { answer.code, answer.state })
    _, stored = call("GET", "/inventory/examplebucket/" .. changed.Id)
    local destination = stored.Destination.OSSBucketDestination.Bucket
    assert.are.equal(rules.syntax.Destination.OSSBucketDestination.Bucket, destination)
    assert.are.equal("Weekly", stored.Schedule.Frequency)
  end)

  it("lists no rules as an empty array", function()
    local status, _, text = call("GET", "/inventory/emptybucket")
    assert.are.equal(200, status)
    assert.are.equal('{"rules":[]}', text)
  end)

  it("refuses an invalid rule with 400 and sends nothing", function()
    local misspelt = fixtures.copy(rules.syntax)
    misspelt.IsEnable, misspelt.IsEnabled = true, nil
    local cases = {
      { body = cjson.encode(misspelt), path = "IsEnable", message = "did you mean IsEnabled?" },
      { body = "{not json", message = "the body is not JSON" },
      { body = "[1, 2]", message = "expected a JSON object" },
      { body = '{"Id": "a", "Filter": {"Prefix": null}}', path = "Filter.Prefix", message = "null" },
    }
    for _, case in ipairs(cases) do
      local status, err = call("POST", "/inventory/examplebucket", case.body)
      assert.are.equal(400, status, case.body)
      assert.are.equal("validation", err.error)
      assert.are.equal(case.path, err.path)
      assert.truthy(err.message:find(case.message, 1, true), err.message)
    end
    assert.are.same({}, emulator:requests())
  end)

  it("answers a service error with the service's status, and an unreachable service with 502", function()
    assert.are.equal(201, (call("POST", "/inventory/examplebucket", cjson.encode(rules.syntax))))
    local status, err = call("POST", "/inventory/examplebucket", cjson.encode(rules.syntax))
    assert.are.equal(409, status)
    assert.are.equal("service", err.error)
    assert.is_string(err.request_id)

    status, err = call("GET", "/inventory/nosuchbucket/" .. rules.syntax.Id)
    assert.are.equal(404, status)
    assert.are.equal("NoSuchBucket", err.code)

    -- Enough resets to outlast the client's retries.
    emulator:faults { { operation = "GetBucketInventory", action = "no_content_length" } }
    status = call("GET", "/inventory/examplebucket/" .. rules.syntax.Id)
    assert.are.equal(200, status) -- a body delimited by the end of the connection is read whole

    emulator:faults { { operation = "GetBucketInventory", action = "reset", times = 10 } }
    status, err = call("GET", "/inventory/examplebucket/" .. rules.syntax.Id)
    assert.are.equal(502, status)
    assert.are.equal("network", err.error)
    assert.are.equal("receive", err.code)
  end)

  it("keeps answering while " .. SLOW_PUTS .. " slow puts are in flight in its one worker", function()
    emulator:faults { { operation = "PutBucketInventory", delay = 1, times = SLOW_PUTS } }
    local started = socket.gettime()
    local clients = {}
    for index = 1, SLOW_PUTS do
      local body = rule_json(("slow-%03d"):format(index))
      local connection = assert(socket.connect("127.0.0.1", tonumber(base:match(":(%d+)$"))))
      assert(connection:send(("POST /inventory/examplebucket HTTP/1.1\r\nHost: gateway\r\nContent-Type: "
        .. "application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"):format(#body, body)))
      clients[index] = connection
    end

    -- Every put has reached the emulator (each one used up the delay), which holds each answer for a second.
    local pending
    while socket.gettime() - started < 30 do
      pending = emulator:admin("GET", "faults").faults
      if not pending[1] then break end
      socket.sleep(0.01)
    end
    assert.is_nil(pending[1], ("%d of the puts have not reached the emulator"):format(
      pending[1] and pending[1].remaining or 0))

    local latencies = {}
    for index = 1, 5 do
      local sent = socket.gettime()
      local status, text = emulator_support.http("GET", base .. "/ping")
      latencies[index] = socket.gettime() - sent
      assert.are.same({ 200, "pong\n" }, { status, text })
    end
    local answered = socket.select(clients, nil, 0)
    local in_flight = SLOW_PUTS - #answered

    for index, connection in ipairs(clients) do
      connection:settimeout(30)
      local line = connection:receive("*l")
      assert.are.equal("HTTP/1.1 201 Created", line, "put " .. index)
      connection:close()
    end
    local all_done = socket.gettime() - started
    table.sort(latencies)
    local median, slowest = latencies[3], latencies[5]
    print(("\n  /ping answered in %.1f ms (median of 5; slowest %.1f ms) with %d of %d slow puts in flight;"
      .. " all %d done in %.2f s"):format(median * 1000, slowest * 1000, in_flight, SLOW_PUTS, SLOW_PUTS, all_done))

    -- A blocked worker would answer /ping only after a second or more (after all the puts, serially: 200 s).
    assert.is_true(in_flight >= SLOW_PUTS / 2, ("only %d puts were still in flight"):format(in_flight))
    assert.is_true(median < 0.05, ("/ping took %.0f ms"):format(median * 1000))
    assert.is_true(slowest < 0.5, ("/ping took %.0f ms"):format(slowest * 1000))
    assert.is_true(all_done < 30, ("the puts took %.1f s in all"):format(all_done))

    local status, listed = call("GET", "/inventory/examplebucket")
    assert.are.equal(200, status)
    assert.are.equal(SLOW_PUTS, #listed.rules)
  end)
end)

-- A location that drives oss.transport.cosocket directly: { url, options, requests = { { method, headers, body,
-- read_list } } } in, one { status, headers, body, value, problem, err } per request out, all on one transport.
local HARNESS = [[
daemon off;
worker_processes 1;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  %s
  lua_shared_dict phases 1m;
  lua_ssl_trusted_certificate %s;
  init_by_lua_block {
    local oss = require "oss"
    local function new_client()
      return assert(oss.new { region = "cn-hangzhou", endpoint = "%s", path_style = true,
        access_key_id = "%s", access_key_secret = "%s" })
    end
    package.loaded.harness_client = new_client()
    -- In init, blocking is harmless: the request goes over libcurl.
    local page, err = package.loaded.harness_client:list_bucket_inventory("examplebucket")
    package.loaded.init_outcome = page and ("listed " .. #page.configurations) or tostring(err)
  }
  init_worker_by_lua_block {
    local ok, message = pcall(package.loaded.harness_client.list_bucket_inventory, package.loaded.harness_client,
      "examplebucket")
    ngx.shared.phases:set("init_worker", ok and "sent" or tostring(message))
  }
  server {
    listen 127.0.0.1:%d;
    location = /send {
      content_by_lua_block {
        local cjson = require "cjson"
        local core = require "oss.core"
        local schemas = require "oss.schema.inventory"
        ngx.req.read_body()
        local job = cjson.decode(ngx.req.get_body_data())
        local send = require("oss.transport.cosocket").new(job.options)
        local outcomes = {}
        for index, request in ipairs(job.requests) do
          request.url = job.url
          local reader = request.read_list and core.xml_reader(core.schema(schemas.ListInventoryConfigurationsResult))
          request.sink = reader
          local answer, err = send(request)
          local outcome = { err = err and { kind = err.kind, code = err.code, message = err.message } }
          if answer then
            outcome.status, outcome.headers, outcome.body = answer.status, answer.headers, answer.body
            if reader then
              if answer.body ~= "" then reader:feed(answer.body) end
              local value, problem = reader:finish()
              outcome.value, outcome.problem = value, problem
            end
          end
          outcomes[index] = outcome
        end
        ngx.say(cjson.encode(outcomes))
      }
    }
    location = /init { content_by_lua_block { ngx.say(package.loaded.init_outcome) } }
    location = /ca_file {
      content_by_lua_block {
        local client, err = require("oss").new { region = "cn-hangzhou", access_key_id = "a",
          access_key_secret = "b", ca_file = "/etc/ssl/certs/ca-certificates.crt" }
        ngx.say(client and "made" or tostring(err))
      }
    }
    location = /init_worker { content_by_lua_block { ngx.say(ngx.shared.phases:get("init_worker")) } }
    location = /client {
      content_by_lua_block {
        local page, err = package.loaded.harness_client:list_bucket_inventory("examplebucket")
        ngx.say(page and ("listed " .. #page.configurations) or tostring(err))
      }
      log_by_lua_block {
        local ok, message = pcall(package.loaded.harness_client.list_bucket_inventory, package.loaded.harness_client,
          "examplebucket")
        ngx.shared.phases:set("log", ok and "sent" or tostring(message))
      }
    }
    location = /log { content_by_lua_block { ngx.say(ngx.shared.phases:get("log")) } }
    location = /own_transport {
      content_by_lua_block {
        local cosocket = require("oss.transport.cosocket").new()
        local urls = {}
        local client = assert(require("oss").new { region = "cn-hangzhou", endpoint = "%s", path_style = true,
          access_key_id = "%s", access_key_secret = "%s", transport = function(request)
            urls[#urls + 1] = request.url
            return cosocket(request)
          end })
        local page, err = client:list_bucket_inventory("examplebucket")
        ngx.say(page and "listed" or tostring(err):match("^(.-) %%("), " via ", table.concat(urls, " "))
      }
    }
  }
}
]]

-- A throwaway self-signed certificate whose names are `san` (openssl's subjectAltName syntax).
local function certificate(directory, name, san)
  local cert, key = directory .. "/" .. name .. ".pem", directory .. "/" .. name .. ".key"
  assert(os.execute(("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=%s -addext subjectAltName=%s"
    .. " -keyout '%s' -out '%s' >/dev/null 2>&1"):format(name, san, key, cert)))
  return { cert = cert, key = key }
end

describe("oss.transport.cosocket in a real nginx", function()
  local raw_server = require "spec.support.raw_server"
  local emulator, nginx, base, directory
  local tls = {}

  setup(function()
    directory = os.tmpname()
    os.remove(directory)
    assert(os.execute("mkdir -p '" .. directory .. "'"))
    -- nginx checks the name with X509_check_host, which reads DNS names: the address is given as one.
    local right = certificate(directory, "right", "DNS:127.0.0.1,IP:127.0.0.1")
    local wrong_name = certificate(directory, "wrong", "DNS:other.example")
    local untrusted = certificate(directory, "untrusted", "DNS:127.0.0.1,IP:127.0.0.1")
    local bundle = directory .. "/trusted.pem"
    assert(os.execute(("cat '%s' '%s' > '%s'"):format(right.cert, wrong_name.cert, bundle)))
    for name, pair in pairs { right = right, wrong_name = wrong_name, untrusted = untrusted } do
      tls[name] = emulator_support.start { buckets = { "examplebucket" }, tls = pair }
    end

    emulator = emulator_support.start { buckets = { "examplebucket" }, keys = { KEY_ID .. ":" .. SECRET } }
    local port = nginx_support.free_port()
    local config = nginx_support.module_lines() .. HARNESS:format(nginx_support.package_paths(), bundle,
      emulator.endpoint, KEY_ID, SECRET, port, emulator.endpoint, KEY_ID, SECRET)
    nginx = nginx_support.start(config, { port = port })
    base = "http://127.0.0.1:" .. port
  end)

  teardown(function()
    if nginx then nginx:stop() end
    if emulator then emulator:stop() end
    for _, server in pairs(tls) do server:stop() end
    if directory then os.execute("rm -rf '" .. directory .. "'") end
  end)

  local function send(url, requests, options)
    local status, text = emulator_support.http("POST", base .. "/send",
      cjson.encode { url = url, requests = requests, options = options or {} })
    assert.are.equal(200, status, text .. nginx:error_log():sub(-1500))
    return cjson.decode(text)
  end

  local function get(path)
    local status, text = emulator_support.http("GET", base .. path)
    assert.are.equal(200, status)
    return (text:gsub("\n$", ""))
  end

  it("feeds a chunked 2xx body to the reader as it arrives and reuses the connection", function()
    local xml = read_file("spec/fixtures/xml/list_last_page.xml")
    local third = math.floor(#xml / 3)
    local server = raw_server.start {
      { status = 200, chunks = { xml:sub(1, third), xml:sub(third + 1, 2 * third), xml:sub(2 * third + 1) } },
      { status = 404, body = "<Error><Code>NoSuchInventory</Code></Error>" },
      { status = 204 },
    }
    local ok, outcomes = pcall(send, server.url .. "/examplebucket/?inventory", {
      { method = "GET", headers = { ["X-Probe"] = "1" }, read_list = true },
      { method = "GET", read_list = true },
      { method = "DELETE" },
    })
    local seen = server:log()
    server:stop()
    assert(ok, outcomes)

    assert.are.equal(200, outcomes[1].status)
    assert.are.equal("", outcomes[1].body) -- every byte went to the reader, none was buffered
    assert.are.equal("report4", outcomes[1].value.InventoryConfiguration[1].Id)
    assert.are.equal("chunked", outcomes[1].headers["transfer-encoding"])
    -- An error answer is not the document the reader expects: it comes back as the body.
    assert.are.equal(404, outcomes[2].status)
    assert.are.equal("<Error><Code>NoSuchInventory</Code></Error>", outcomes[2].body)
    assert.are.equal(204, outcomes[3].status)

    assert.are.equal(1, seen.accepts) -- three requests, one connection
    assert.are.equal(3, #seen.requests)
    local first = seen.requests[1].raw
    assert.truthy(first:find("^GET /examplebucket/%?inventory HTTP/1%.1\r\n"), first)
    assert.truthy(first:find("\r\nHost: 127%.0%.0%.1:%d+\r\n"), first)
    assert.truthy(first:find("\r\nX%-Probe: 1\r\n"), first)
    assert.truthy(seen.requests[3].raw:find("^DELETE "), seen.requests[3].raw)
  end)

  it("sends the body with its length, and does not reuse a connection it did not read to the end", function()
    local server = raw_server.start {
      { status = 200, body = "ok" },
      { status = 200, body = "too long" },
      { status = 200, body = "new" },
    }
    local ok, outcomes = pcall(send, server.url .. "/examplebucket/?inventory&inventoryId=a", {
      { method = "PUT", body = "<InventoryConfiguration/>" },
      { method = "PUT", body = "" },
      { method = "GET" },
    }, { max_response_size = 3 })
    local seen = server:log()
    server:stop()
    assert(ok, outcomes)
    assert.are.equal("ok", outcomes[1].body)
    local too_large = outcomes[2].err
    assert.are.same({ "network", "too_large" }, { too_large.kind, too_large.code })
    assert.are.equal("new", outcomes[3].body)
    assert.truthy(seen.requests[1].raw:find("\r\nContent%-Length: 25\r\n\r\n<InventoryConfiguration/>$"))
    assert.truthy(seen.requests[2].raw:find("\r\nContent%-Length: 0\r\n\r\n$"))
    assert.is_nil(seen.requests[3].raw:find("Content-Length", 1, true))
    -- The first two share a connection; the one abandoned mid-body is closed, so the third opens another.
    assert.are.same({ 1, 1, 2 }, { seen.requests[1].connection, seen.requests[2].connection,
      seen.requests[3].connection })
  end)

  it("reads answers as servers frame them, and pools no connection with bytes left after the answer", function()
    local server = raw_server.start {
      { raw = "HTTP/1.1 200 OK\nX-Folded: first\n\tsecond\nContent-Length: 2\n\nokEXTRA", keep = true },
      { raw = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;ext=1\r\nab\r\n0\r\nT: 1\r\n\r\n", keep = true },
      { raw = "HTTP/1.1 200 OK\r\nX-Bad: a\rb\r\nContent-Length: 0\r\n\r\n" },
    }
    local ok, outcomes = pcall(send, server.url .. "/", { { method = "GET" }, { method = "GET" }, { method = "GET" } })
    local seen = server:log()
    server:stop()
    assert(ok, outcomes)
    assert.are.same({ 200, "ok", "first second" },
      { outcomes[1].status, outcomes[1].body, outcomes[1].headers["x-folded"] })
    assert.are.same({ 200, "ab" }, { outcomes[2].status, outcomes[2].body })
    assert.are.same({ "network", "protocol" }, { outcomes[3].err.kind, outcomes[3].err.code })
    -- The bytes after the first answer belong to no request: its connection was closed, not pooled.
    assert.are.same({ 1, 2, 2 }, { seen.requests[1].connection, seen.requests[2].connection,
      seen.requests[3].connection })
  end)

  it("reports connect, timeout and early-close failures as network errors", function()
    local refused = send("http://127.0.0.1:" .. nginx_support.free_port() .. "/", { { method = "GET" } })[1].err
    assert.are.same({ "network", "connect" }, { refused.kind, refused.code })

    local server = raw_server.start { { status = 200, body = "late", delay = 2 }, { close = true } }
    local ok, outcomes = pcall(send, server.url .. "/", { { method = "GET" } }, { timeout = 0.3 })
    local closed_ok, closed = pcall(send, server.url .. "/", { { method = "GET" } })
    server:stop()
    assert(ok, outcomes)
    assert(closed_ok, closed)
    assert.are.same({ "network", "timeout" }, { outcomes[1].err.kind, outcomes[1].err.code })
    assert.are.same({ "network", "receive" }, { closed[1].err.kind, closed[1].err.code })
    assert.truthy(closed[1].err.message:find("127.0.0.1:" .. server.port, 1, true), closed[1].err.message)
  end)

  it("verifies the server's certificate and name over TLS, and can be told not to", function()
    local function health(server, options)
      return send(server.endpoint .. "/-/emulator/health", { { method = "GET" }, { method = "GET" } }, options)
    end
    local good = health(tls.right)
    assert.are.same({ 200, 200 }, { good[1].status, good[2].status })
    assert.are.equal("ok", cjson.decode(good[2].body).status)
    for _, server in ipairs { tls.wrong_name, tls.untrusted } do
      local refused = health(server)[1].err
      assert.are.same({ "network", "tls" }, { refused.kind, refused.code })
      assert.truthy(refused.message:find("TLS handshake failed", 1, true), refused.message)
      assert.are.equal(200, health(server, { ssl_verify = false })[1].status)
    end
  end)

  it("answers oss.new with nil, err (not an error raised) for an option cosockets cannot honour", function()
    assert.are.equal("validation error: ca_file: not supported inside nginx: set lua_ssl_trusted_certificate in "
      .. "nginx.conf instead", get("/ca_file"))
  end)

  it("sends through a transport function the user gives", function()
    assert.are.equal("service error 404 NoSuchInventory: The specified inventory does not exist. via "
      .. emulator.endpoint .. "/examplebucket/?inventory", get("/own_transport"))
  end)

  it("uses libcurl in init, cosockets in content, and refuses init_worker and log clearly", function()
    assert.are.equal("service error 404 NoSuchInventory: The specified inventory does not exist.",
      get("/init"):match("^(.-) %("))
    assert.are.equal(get("/init"):match("^[^(]*"), get("/client"):match("^[^(]*"))
    for _, phase in ipairs { "init_worker", "log" } do
      local message = get("/" .. phase)
      assert.truthy(message:find("cannot send a request in nginx's " .. phase .. " phase", 1, true), message)
    end
  end)
end)
