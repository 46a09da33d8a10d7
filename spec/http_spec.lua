-- The libcurl transport: what goes on the wire byte for byte, what comes back, and how each failure is reported.

local core = require "oss.core"
local curl = require "oss.transport.curl"
local inventory = require "oss.schema.inventory"
local raw_server = require "spec.support.raw_server"
local socket = require "socket"

local CONFIGURATION = core.schema(inventory.InventoryConfiguration)
local CONFIGURATION_XML = "<InventoryConfiguration><Id>report1</Id><IsEnabled>true</IsEnabled><Destination>"
  .. "<OSSBucketDestination><Format>CSV</Format><AccountId>1000000000000000</AccountId>"
  .. "<RoleArn>acs:ram::1000000000000000:role/AliyunOSSRole</RoleArn><Bucket>acs:oss:::destination-bucket</Bucket>"
  .. "</OSSBucketDestination></Destination><Schedule><Frequency>Daily</Frequency></Schedule>"
  .. "<IncludedObjectVersions>All</IncludedObjectVersions>"
  .. "<OptionalFields><Field>Size</Field><Field>TransitionTime</Field></OptionalFields></InventoryConfiguration>"

-- Splits what the server received into its request line, its header lines, and the body after them.
local function dissect(raw)
  local head_end = assert(raw:find("\r\n\r\n", 1, true), "no end of headers in " .. raw)
  local lines = {}
  for line in raw:sub(1, head_end + 1):gmatch("(.-)\r\n") do lines[#lines + 1] = line end
  local request_line = table.remove(lines, 1)
  table.sort(lines)
  return request_line, lines, raw:sub(head_end + 4)
end

local function sorted(list)
  table.sort(list)
  return list
end

-- A port nothing listens on: bound, then released.
local function closed_port()
  local probe = assert(socket.bind("127.0.0.1", 0))
  local _, port = probe:getsockname()
  probe:close()
  return port
end

local function start(replies)
  local server = raw_server.start(replies)
  finally(function() server:stop() end)
  return server
end

local function timed(run)
  local started = socket.gettime()
  local results = { run() }
  return socket.gettime() - started, results[1], results[2], results[3]
end

describe("core.http", function()
  local http

  before_each(function()
    http = assert(core.http())
  end)

  after_each(function()
    http:close()
  end)

  describe("the handle", function()
    it("reads oss.http: 0x... and can be closed any number of times", function()
      assert.matches("^oss%.http: 0x%x+$", tostring(http))
      http:close()
      http:close()
      assert.matches("^oss%.http: 0x%x+ %(closed%)$", tostring(http))
      assert.has_error(function() http:request { method = "GET", url = "http://127.0.0.1:1/" } end,
        "attempt to use a closed oss.http")
    end)

    it("raises on misuse", function()
      local url = "http://127.0.0.1:1/"
      assert.has_error(function() http:request() end)
      assert.has_error(function() http:request { method = "GET" } end, "request.url: expected a string, got nil")
      assert.has_error(function() http:request { method = "PATCH", url = url } end,
        "request.method: expected GET, PUT, POST, DELETE or HEAD, got PATCH")
      assert.has_error(function() http:request { method = "GET", url = url, timeout = 0 } end)
      assert.has_error(function() http:request { method = "GET", url = url, connect_timeout = "5" } end,
        "request.connect_timeout: expected a number of seconds, got string")
      assert.has_error(function() http:request { method = "GET", url = url, headers = { ["X-A"] = 1 } } end)
      assert.has_error(function() http:request { method = "GET", url = url, headers = "X-A: 1" } end)
      assert.has_error(function() http:request { method = "GET", url = url, sink = {} } end,
        "request.sink: expected an oss.xml_reader, got table")
      assert.has_error(function() http:request { method = "GET", url = url, max_response_size = 1.5 } end)
      assert.has_error(function() http:request { method = "HEAD", url = url, body = "x" } end)
      assert.has_error(function() http:request { method = "GET", url = url, ssl_verify = "no" } end)
    end)
  end)

  describe("round trips", function()
    it("GET returns status, lower-cased headers, body and HTTP version", function()
      local server = start { {
        status = 200, body = "hello",
        headers = { { "X-OSS-Request-Id", "5C3D9778CC1C2AEDF85B2E1F" }, { "X-Dup", "a" }, { "X-Dup", "b" } },
      } }
      local response = assert(http:request { method = "GET", url = server.url .. "/bucket/?inventory" })
      assert.equal(200, response.status)
      assert.equal("hello", response.body)
      assert.equal("1.1", response.http_version)
      assert.same({
        ["x-oss-request-id"] = "5C3D9778CC1C2AEDF85B2E1F", ["x-dup"] = "a, b", ["content-length"] = "5",
      }, response.headers)
      local request_line, headers, body = dissect(server:log().requests[1].raw)
      assert.equal("GET /bucket/?inventory HTTP/1.1", request_line)
      assert.same({ "Host: 127.0.0.1:" .. server.port }, headers)
      assert.equal("", body)
    end)

    it("joins repeated response headers however many distinct names come first", function()
      local sent, expected = {}, { ["content-length"] = "2" }
      for index = 1, 40 do
        sent[#sent + 1] = { "X-H" .. index, tostring(index) }
        expected["x-h" .. index] = tostring(index)
      end
      table.insert(sent, 3, { "x-h1", "again" })
      sent[#sent + 1] = { "X-H1", "last" }
      sent[#sent + 1] = { "X-H39", "too" }
      expected["x-h1"], expected["x-h39"] = "1, again, last", "39, too"
      local server = start { { status = 200, body = "ok", headers = sent } }
      local response = assert(http:request { method = "GET", url = server.url .. "/" })
      assert.same(expected, response.headers)
    end)

    it("PUT sends exactly the given headers plus Host and Content-Length, and the body intact", function()
      -- Large enough that libcurl would otherwise announce "Expect: 100-continue".
      local body = ("<InventoryConfiguration>" .. ("\0\r\n\255"):rep(512 * 1024) .. "</InventoryConfiguration>")
      local server = start { { status = 200 } }
      local response = assert(http:request {
        method = "PUT", url = server.url .. "/bucket/?inventory&inventoryId=r1", body = body,
        headers = { ["Content-Type"] = "application/xml", ["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg==",
                    ["x-oss-date"] = "20231216T162057Z", ["X-Empty"] = "" },
      })
      assert.equal(200, response.status)
      local log = server:log()
      assert.equal(1, #log.requests)
      local request_line, headers, received = dissect(log.requests[1].raw)
      assert.equal("PUT /bucket/?inventory&inventoryId=r1 HTTP/1.1", request_line)
      assert.same(sorted {
        "Host: 127.0.0.1:" .. server.port, "Content-Type: application/xml",
        "Content-MD5: 1B2M2Y8AsgTpgAmY7PhCfg==", "x-oss-date: 20231216T162057Z", "X-Empty:",
        "Content-Length: " .. #body,
      }, headers)
      assert.equal(#body, #received)
      assert.is_true(body == received)
    end)

    it("sends a caller's Host and Accept instead of adding its own", function()
      local server = start { { status = 200 } }
      assert(http:request { method = "GET", url = server.url .. "/",
        headers = { Host = "bucket.oss-cn-hangzhou.aliyuncs.com", Accept = "application/xml" } })
      local _, headers = dissect(server:log().requests[1].raw)
      assert.same({ "Accept: application/xml", "Host: bucket.oss-cn-hangzhou.aliyuncs.com" }, headers)
    end)

    it("keeps the path as given, dot segments included", function()
      local server = start { { status = 200 } }
      assert(http:request { method = "GET", url = server.url .. "/bucket/a/../b" })
      assert.equal("GET /bucket/a/../b HTTP/1.1", (dissect(server:log().requests[1].raw)))
    end)

    it("DELETE sends no body and returns a 204", function()
      local server = start { { status = 204 } }
      local response = assert(http:request { method = "DELETE", url = server.url .. "/bucket/?inventory&inventoryId=r1" })
      assert.equal(204, response.status)
      assert.equal("", response.body)
      local request_line, headers, body = dissect(server:log().requests[1].raw)
      assert.equal("DELETE /bucket/?inventory&inventoryId=r1 HTTP/1.1", request_line)
      assert.same({ "Host: 127.0.0.1:" .. server.port }, headers)
      assert.equal("", body)
    end)

    it("POST without a body sends Content-Length: 0", function()
      local server = start { { status = 200, body = "done" } }
      local response = assert(http:request { method = "POST", url = server.url .. "/" })
      assert.equal("done", response.body)
      local request_line, headers = dissect(server:log().requests[1].raw)
      assert.equal("POST / HTTP/1.1", request_line)
      assert.same(sorted { "Host: 127.0.0.1:" .. server.port, "Content-Length: 0" }, headers)
    end)

    it("HEAD returns the headers without waiting for a body", function()
      local server = start { { status = 200, body = "twelve bytes", headers = { { "ETag", '"abc"' } } } }
      local response = assert(http:request { method = "HEAD", url = server.url .. "/", timeout = 5 })
      assert.equal(200, response.status)
      assert.equal("", response.body)
      assert.equal("12", response.headers["content-length"])
      assert.equal('"abc"', response.headers.etag)
      assert.equal("HEAD / HTTP/1.1", (dissect(server:log().requests[1].raw)))
    end)

    it("returns a 404 with its body as a response, not an error", function()
      local document = "<Error><Code>NoSuchInventory</Code></Error>"
      local server = start { { status = 404, body = document, headers = { { "Content-Type", "application/xml" } } } }
      local response, message, code = http:request { method = "GET", url = server.url .. "/" }
      assert.is_nil(message)
      assert.is_nil(code)
      assert.equal(404, response.status)
      assert.equal(document, response.body)
      assert.equal("application/xml", response.headers["content-type"])
    end)

    it("reassembles a chunked body", function()
      local server = start { { status = 200, chunks = { "<List>", "<A>1</A>", "<B>2</B></List>" } } }
      local response = assert(http:request { method = "GET", url = server.url .. "/" })
      assert.equal("<List><A>1</A><B>2</B></List>", response.body)
      assert.equal("chunked", response.headers["transfer-encoding"])
    end)

    it("keeps the connection alive between requests", function()
      local server = start { { status = 200, body = "one" }, { status = 200, body = "two" } }
      assert.equal("one", assert(http:request { method = "GET", url = server.url .. "/1" }).body)
      assert.equal("two", assert(http:request { method = "PUT", url = server.url .. "/2", body = "x" }).body)
      local log = server:log()
      assert.equal(1, log.accepts)
      assert.equal(2, #log.requests)
      assert.equal(log.requests[1].connection, log.requests[2].connection)
    end)

    it("sends each request as asked whatever the handle sent before, with its options beside it", function()
      local replies = {}
      for index = 1, 9 do replies[index] = { status = 200, body = "r" .. index } end
      local server = start(replies)
      local options = { timeout = 5, ssl_verify = false, max_response_size = 64 }
      local sequence = {
        { method = "PUT", url = server.url .. "/a", body = "first", headers = { ["X-A"] = "1" } },
        { method = "PUT", url = server.url .. "/b", body = "second!", headers = { ["X-B"] = "2" } },
        { method = "HEAD", url = server.url .. "/c" },
        { method = "GET", url = server.url .. "/d" },
        { method = "DELETE", url = server.url .. "/e" },
        { method = "POST", url = server.url .. "/f" },
        { method = "GET", url = server.url .. "/g", headers = { Accept = "text/plain" } },
        { method = "PUT", url = server.url .. "/h", body = "third" },
        { method = "GET", url = server.url .. "/i" },
      }
      for index, request in ipairs(sequence) do
        local response = assert(http:request(request, index % 2 == 0 and options or nil))
        assert.equal(request.method == "HEAD" and "" or "r" .. index, response.body)
      end
      local raw = {}
      for index, logged in ipairs(server:log().requests) do raw[index] = logged.raw end
      local function head(index) return raw[index]:match("^(.-\r\n)\r\n") end
      assert.truthy(raw[1]:find("^PUT /a HTTP/1%.1\r\n.*X%-A: 1\r\n.*Content%-Length: 5\r\n\r\nfirst$"), raw[1])
      assert.truthy(raw[2]:find("^PUT /b HTTP/1%.1\r\n.*X%-B: 2\r\n.*Content%-Length: 7\r\n\r\nsecond!$"), raw[2])
      assert.is_nil(raw[2]:find("X-A", 1, true))
      assert.truthy(raw[3]:find("^HEAD /c HTTP/1%.1\r\n"), raw[3])
      assert.truthy(raw[4]:find("^GET /d HTTP/1%.1\r\n"), raw[4])
      assert.truthy(raw[5]:find("^DELETE /e HTTP/1%.1\r\n"), raw[5])
      assert.truthy(raw[6]:find("^POST /f HTTP/1%.1\r\n.*Content%-Length: 0\r\n\r\n$"), raw[6])
      assert.truthy(raw[7]:find("^GET /g HTTP/1%.1\r\n.*Accept: text/plain\r\n"), raw[7])
      assert.truthy(raw[8]:find("^PUT /h HTTP/1%.1\r\n.*Content%-Length: 5\r\n\r\nthird$"), raw[8])
      assert.truthy(raw[9]:find("^GET /i HTTP/1%.1\r\n"), raw[9])
      for _, index in ipairs { 3, 4, 5, 7, 9 } do
        assert.is_nil(head(index):lower():find("content-length", 1, true), raw[index])
        assert.is_nil(raw[index]:match("\r\n\r\n(.+)$"), raw[index])
      end
      for index = 1, 9 do
        assert.is_nil(head(index):find("Expect", 1, true), raw[index])
        if index ~= 7 then assert.is_nil(head(index):find("Accept", 1, true), raw[index]) end
      end
      -- Every request starts from reset options, and the connection stays open through all of them.
      assert.equal(1, server:log().accepts)
    end)

    it("takes the transport's options from the second table, and a timeout from the request first", function()
      local server = start { { status = 200, body = "0123456789" }, { status = 200, body = "ok" } }
      local _, message, code = http:request({ method = "GET", url = server.url .. "/a", max_response_size = 100 },
        { max_response_size = 4 })
      assert.equal("too_large", code, message)
      local response = assert(http:request({ method = "GET", url = server.url .. "/b", timeout = 5 },
        { timeout = 0.001 }))
      assert.equal("ok", response.body)
      assert.has_error(function() http:request({ method = "GET", url = server.url }, "options") end)
    end)
  end)

  describe("the sink", function()
    it("receives a 2xx body chunk by chunk instead of the response", function()
      local server = start { { status = 200, chunks = {
        CONFIGURATION_XML:sub(1, 40), CONFIGURATION_XML:sub(41, 200), CONFIGURATION_XML:sub(201),
      } } }
      local reader = core.xml_reader(CONFIGURATION)
      local response = assert(http:request { method = "GET", url = server.url .. "/", sink = reader })
      assert.equal(200, response.status)
      assert.equal("", response.body)
      local value = assert(reader:finish())
      assert.equal("report1", value.Id)
      assert.same({ "Size", "TransitionTime" }, value.OptionalFields.Field)
    end)

    it("is left alone by a non-2xx answer, whose body is returned", function()
      local document = "<Error><Code>NoSuchInventory</Code></Error>"
      local server = start { { status = 404, body = document } }
      local reader = core.xml_reader(CONFIGURATION)
      local response = assert(http:request { method = "GET", url = server.url .. "/", sink = reader })
      assert.equal(404, response.status)
      assert.equal(document, response.body)
      assert.is_nil(reader:finish())
    end)

    it("still counts against max_response_size", function()
      local server = start { { status = 200, body = CONFIGURATION_XML } }
      local reader = core.xml_reader(CONFIGURATION)
      local response, message, code = http:request { method = "GET", url = server.url .. "/", sink = reader,
                                                     max_response_size = 100 }
      assert.is_nil(response)
      assert.equal("too_large", code)
      assert.equal("response body exceeds 100 bytes", message)
    end)
  end)

  describe("failures", function()
    it("reports a refused connection as connect", function()
      local port = closed_port()
      local response, message, code = http:request { method = "GET", url = "http://127.0.0.1:" .. port .. "/" }
      assert.is_nil(response)
      assert.equal("connect", code)
      assert.equal("connect to 127.0.0.1:" .. port .. " failed: Connection refused", message)
    end)

    it("reports a stalled server as a timeout within about the timeout", function()
      local server = start { { status = 200, delay = 5 } }
      local elapsed, response, message, code = timed(function()
        return http:request { method = "GET", url = server.url .. "/", timeout = 0.5 }
      end)
      assert.is_nil(response)
      assert.equal("timeout", code)
      assert.equal("request to 127.0.0.1:" .. server.port .. " timed out after 0.5 seconds (timeout)", message)
      assert.is_true(elapsed >= 0.45, "returned after " .. elapsed .. " s")
      assert.is_true(elapsed < 1.5, "returned after " .. elapsed .. " s")
    end)

    it("names connect_timeout when the connection itself does not complete", function()
      -- A listener that never accepts, with its one-slot queue taken: Linux drops further handshakes.
      local listener = assert(socket.tcp())
      assert(listener:bind("127.0.0.1", 0))
      assert(listener:listen(0))
      local _, port = listener:getsockname()
      local fillers = {}
      for i = 1, 2 do
        fillers[i] = socket.tcp()
        fillers[i]:settimeout(0.2)
        fillers[i]:connect("127.0.0.1", port)
      end
      finally(function()
        for _, filler in ipairs(fillers) do filler:close() end
        listener:close()
      end)
      local elapsed, response, message, code = timed(function()
        return http:request { method = "GET", url = "http://127.0.0.1:" .. port .. "/", connect_timeout = 0.5 }
      end)
      assert.is_nil(response)
      assert.equal("timeout", code)
      assert.equal("connect to 127.0.0.1:" .. port .. " timed out after 0.5 seconds (connect_timeout)", message)
      assert.is_true(elapsed < 1.5, "returned after " .. elapsed .. " s")
    end)

    it("aborts a body past max_response_size as too_large, and accepts one exactly at it", function()
      local server = start { { status = 200, body = ("x"):rep(1000) }, { status = 200, body = ("x"):rep(1001) } }
      local response = assert(http:request { method = "GET", url = server.url .. "/", max_response_size = 1000 })
      assert.equal(1000, #response.body)
      local failed, message, code = http:request { method = "GET", url = server.url .. "/", max_response_size = 1000 }
      assert.is_nil(failed)
      assert.equal("too_large", code)
      assert.equal("response body exceeds 1000 bytes", message)
    end)

    it("refuses a Content-Length past max_response_size as soon as it is read", function()
      local server = start { { raw = { "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n", "x", "x" },
                               pace = 5 } }
      local elapsed, response, message, code = timed(function()
        return http:request { method = "GET", url = server.url .. "/", max_response_size = 1000, timeout = 20 }
      end)
      assert.is_nil(response)
      assert.equal("too_large", code)
      assert.equal("response body exceeds 1000 bytes", message)
      assert.is_true(elapsed < 2, "returned after " .. elapsed .. " s")
    end)

    it("answers a HEAD whose Content-Length is past max_response_size: no such body comes", function()
      local server = start { { raw = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000\r\n\r\n" } }
      local response = assert(http:request { method = "HEAD", url = server.url .. "/", max_response_size = 1000 })
      assert.equal(200, response.status)
      assert.equal("1000000000000", response.headers["content-length"])
    end)

    it("refuses a header line longer than libcurl reads as too_large", function()
      local server = start { { raw = "HTTP/1.1 200 OK\r\nX-Long: " .. ("a"):rep(101 * 1024) .. "\r\n\r\n" } }
      local response, message, code = http:request { method = "GET", url = server.url .. "/" }
      assert.is_nil(response)
      assert.equal("too_large", code)
      assert.equal("a response header line exceeds 102400 bytes", message)
    end)

    it("refuses response headers past 256 kB in all as too_large", function()
      local line = "X-Wide: " .. ("b"):rep(1000) .. "\r\n"
      local server = start { { raw = "HTTP/1.1 200 OK\r\n" .. line:rep(300) .. "Content-Length: 0\r\n\r\n" } }
      local response, message, code = http:request { method = "GET", url = server.url .. "/" }
      assert.is_nil(response)
      assert.equal("too_large", code)
      assert.equal("response headers exceed 262144 bytes", message)
    end)

    it("reports an answer without a status line, or with a malformed one, as protocol", function()
      local answers = {
        "<html>an HTTP/0.9 answer</html>\n",
        "HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n",
        "HTTP/1.1 20\r\nContent-Length: 0\r\n\r\n",
        "SSH-2.0-OpenSSH_9.2\r\n",
      }
      for _, answer in ipairs(answers) do
        local server = start { { raw = answer } }
        local response, message, code = http:request { method = "GET", url = server.url .. "/" }
        assert.is_nil(response)
        assert.equal("protocol", code, message)
        assert.matches("^invalid answer from 127%.0%.0%.1:" .. server.port .. ": ", message)
      end
    end)

    it("takes a max_response_size of 0 to allow only an empty body", function()
      local server = start { { status = 200 }, { status = 200, body = "x" } }
      assert.equal("", assert(http:request { method = "GET", url = server.url .. "/", max_response_size = 0 }).body)
      local response, message, code = http:request { method = "GET", url = server.url .. "/", max_response_size = 0 }
      assert.is_nil(response)
      assert.equal("too_large", code)
      assert.equal("response body exceeds 0 bytes", message)
    end)

    it("applies max_response_size to error bodies too", function()
      local server = start { { status = 500, body = ("e"):rep(64) } }
      local response, message, code = http:request { method = "GET", url = server.url .. "/", max_response_size = 63 }
      assert.is_nil(response)
      assert.equal("too_large", code)
      assert.equal("response body exceeds 63 bytes", message)
    end)

    it("refuses header and URL injection without sending anything", function()
      local server = start { { status = 200 } }
      local attempts = {
        { headers = { ["X-A"] = "value\r\nX-Injected: 1" } },
        { headers = { ["X-A"] = "value\nX-Injected: 1" } },
        { headers = { ["X-A"] = "value\0tail" } },
        { headers = { ["X-A\r\nX-Injected"] = "1" } },
        { headers = { ["X A"] = "1" } },
        { headers = { [""] = "1" } },
        { path = "/a b" },
        { path = "/a\r\nX-Injected: 1" },
      }
      for _, attempt in ipairs(attempts) do
        local response, message, code = http:request {
          method = "GET", url = server.url .. (attempt.path or "/"), headers = attempt.headers,
        }
        assert.is_nil(response)
        assert.equal("invalid", code)
        assert.is_string(message)
        assert.is_nil(message:find("Injected", 1, true), "the refused bytes are echoed: " .. message)
      end
      assert.equal(0, server:log().accepts)
    end)

    it("reports a connection closed without an answer as receive", function()
      local server = start { { close = true } }
      local response, message, code = http:request { method = "GET", url = server.url .. "/" }
      assert.is_nil(response)
      assert.equal("receive", code)
      assert.matches("^receive from 127%.0%.0%.1:" .. server.port .. " failed: ", message)
    end)

    it("reports TLS spoken to a plain HTTP server as tls", function()
      local server = start {}
      local response, message, code = http:request { method = "GET", url = "https://127.0.0.1:" .. server.port .. "/",
                                                     timeout = 10 }
      assert.is_nil(response)
      assert.equal("tls", code)
      assert.matches("^TLS with 127%.0%.0%.1:" .. server.port .. " failed: ", message)
    end)

    it("reports an unreachable proxy as proxy, and goes around it for no_proxy hosts", function()
      local server = start { { status = 200, body = "direct" }, { status = 200, body = "direct again" } }
      local proxy = "http://127.0.0.1:" .. closed_port()
      local response, message, code = http:request { method = "GET", url = server.url .. "/", proxy = proxy }
      assert.is_nil(response)
      assert.equal("proxy", code)
      assert.equal("connect to the proxy for 127.0.0.1:" .. server.port .. " failed: Connection refused", message)
      assert.equal(0, server:log().accepts)
      local direct = assert(http:request { method = "GET", url = server.url .. "/", proxy = proxy,
                                           no_proxy = "127.0.0.1" })
      assert.equal("direct", direct.body)
      assert.equal("direct again", assert(http:request { method = "GET", url = server.url .. "/" }).body)
    end)

    it("refuses schemes other than http and https", function()
      local response, _, code = http:request { method = "GET", url = "file:///etc/passwd" }
      assert.is_nil(response)
      assert.equal("invalid", code)
    end)
  end)
end)

describe("core.http over TLS", function()
  -- A throwaway certificate for 127.0.0.1 and localhost, served by `openssl s_server -www`.
  local directory, certificate, server_pid, port

  local function run(command)
    assert(os.execute(command .. " >/dev/null 2>&1"), "failed: " .. command)
  end

  lazy_setup(function()
    directory = os.tmpname()
    os.remove(directory)
    run("mkdir " .. directory)
    certificate = directory .. "/cert.pem"
    run(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost "
      .. "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout %s/key.pem -out %s"):format(directory, certificate))
    port = closed_port()
    local launcher = assert(io.popen(("openssl s_server -quiet -www -accept 127.0.0.1:%d -cert %s -key %s/key.pem "
      .. ">/dev/null 2>&1 & echo $!"):format(port, certificate, directory)))
    server_pid = assert(tonumber(launcher:read("*l")))
    launcher:close()
    local deadline = socket.gettime() + 10
    repeat
      local probe = socket.connect("127.0.0.1", port)
      if probe then probe:close() break end
      socket.sleep(0.05)
    until socket.gettime() > deadline
  end)

  lazy_teardown(function()
    if server_pid then os.execute("kill " .. server_pid) end
    if directory then os.execute("rm -rf " .. directory) end
  end)

  it("verifies the peer by default and reports an untrusted certificate as tls", function()
    local http = assert(core.http())
    finally(function() http:close() end)
    local response, message, code = http:request { method = "GET", url = ("https://127.0.0.1:%d/"):format(port) }
    assert.is_nil(response)
    assert.equal("tls", code)
    assert.matches("^TLS with 127%.0%.0%.1:" .. port .. " failed: .*certificate", message)
  end)

  it("trusts the CAs of ca_file, and anything with ssl_verify = false", function()
    local http = assert(core.http())
    finally(function() http:close() end)
    local trusted = assert(http:request { method = "GET", url = ("https://localhost:%d/"):format(port),
                                          ca_file = certificate })
    assert.equal(200, trusted.status)
    local unverified = assert(http:request { method = "GET", url = ("https://127.0.0.1:%d/"):format(port),
                                             ssl_verify = false })
    assert.equal(200, unverified.status)
  end)

  it("verifies the next request again after one with ssl_verify = false", function()
    local http = assert(core.http())
    finally(function() http:close() end)
    local url = ("https://127.0.0.1:%d/"):format(port)
    assert.equal(200, assert(http:request { method = "GET", url = url, ssl_verify = false }).status)
    local response, _, code = http:request { method = "GET", url = url }
    assert.is_nil(response)
    assert.equal("tls", code)
  end)

  it("reports an unreadable ca_file as tls", function()
    local http = assert(core.http())
    finally(function() http:close() end)
    local response, _, code = http:request { method = "GET", url = ("https://localhost:%d/"):format(port),
                                             ca_file = directory .. "/missing.pem" }
    assert.is_nil(response)
    assert.equal("tls", code)
  end)
end)

describe("oss.transport.curl", function()
  it("returns a function that sends a request and keeps its connection", function()
    local server = start { { status = 200, body = "a" }, { status = 404, body = "b" } }
    local send = assert(curl.new { timeout = 5 })
    assert.is_function(send)
    local first = assert(send { method = "GET", url = server.url .. "/", headers = { ["X-A"] = "1" } })
    local second = assert(send { method = "DELETE", url = server.url .. "/" })
    assert.same({ 200, "a", 404, "b" }, { first.status, first.body, second.status, second.body })
    assert.equal(1, server:log().accepts)
  end)

  it("returns a network error object with a code and a one-line tostring", function()
    local port = closed_port()
    local send = assert(curl.new())
    local response, err = send { method = "GET", url = "http://127.0.0.1:" .. port .. "/" }
    assert.is_nil(response)
    assert.equal("network", err.kind)
    assert.equal("connect", err.code)
    assert.equal("connect to 127.0.0.1:" .. port .. " failed: Connection refused", err.message)
    assert.equal("network error (connect): connect to 127.0.0.1:" .. port .. " failed: Connection refused",
      tostring(err))
  end)

  it("applies its options to every request and lets a request override the timeout", function()
    local server = start { { status = 200, body = ("x"):rep(20) }, { status = 200, delay = 5 } }
    local send = assert(curl.new { max_response_size = 10, timeout = 30 })
    local _, err = send { method = "GET", url = server.url .. "/" }
    assert.equal("too_large", err.code)
    local elapsed, response, timeout_err = timed(function()
      return send { method = "GET", url = server.url .. "/", timeout = 0.5 }
    end)
    assert.is_nil(response)
    assert.equal("timeout", timeout_err.code)
    assert.matches("after 0.5 seconds", timeout_err.message)
    assert.is_true(elapsed < 1.5, "returned after " .. elapsed .. " s")
  end)

  it("raises on misuse", function()
    assert.has_error(function() curl.new "fast" end)
    assert.has_error(function() curl.new { timout = 5 } end, "oss.transport.curl: unknown option timout")
    assert.has_error(function() curl.new { timeout = "5" } end,
      "oss.transport.curl: option timeout: expected a number, got string")
    local send = assert(curl.new())
    assert.has_error(function() send "http://127.0.0.1/" end)
  end)
end)
