-- Specs for the request signer: the known-answer vectors, the key cache, refusals, encodings and dates.

local cjson = require "cjson"
local core = require "oss.core"
local fixtures = require "spec.support.fixtures"

local vectors = cjson.decode(fixtures.read("vectors/signing.json"))

local function query_map(pairs_list)
  local map = {}
  for _, pair in ipairs(pairs_list) do map[pair[1]] = pair[2] end
  return map
end

local function credentials_of(vector)
  return {
    access_key_id = vector.access_key_id,
    access_key_secret = vector.access_key_secret,
    security_token = vector.security_token ~= cjson.null and vector.security_token or nil,
  }
end

local function count_keys(map)
  local n = 0
  for _ in pairs(map) do n = n + 1 end
  return n
end

--- A V1 request rebuilt from its string to sign: method, the three fixed headers, x-oss-* lines, the resource.
local function v1_request_from(string_to_sign)
  local lines = {}
  for line in (string_to_sign .. "\n"):gmatch("(.-)\n") do lines[#lines + 1] = line end
  local headers = { Date = lines[4] }
  if lines[2] ~= "" then headers["Content-MD5"] = lines[2] end
  if lines[3] ~= "" then headers["Content-Type"] = lines[3] end
  for i = 5, #lines - 1 do
    local name, value = lines[i]:match("^([^:]+):(.*)$")
    headers[name] = value
  end
  local path, sub_resources = lines[#lines]:match("^([^?]*)%??(.*)$")
  local bucket, key = path:match("^/([^/]+)/(.*)$")
  local query = {}
  for item in sub_resources:gmatch("[^&]+") do
    local name, value = item:match("^([^=]+)=?(.*)$")
    query[name] = value
  end
  return { method = lines[1], bucket = bucket, key = key ~= "" and key or nil, query = query,
           headers = headers, time = 0 }
end

local function hex(bytes) return core.hex(bytes) end

--- The V4 signature computed in Lua from the primitives: an independent check of the signer's key chain.
local function v4_signature(secret, date, region, string_to_sign)
  local key = core.hmac_sha256("aliyun_v4" .. secret, date)
  key = core.hmac_sha256(key, region)
  key = core.hmac_sha256(key, "oss")
  key = core.hmac_sha256(key, "aliyun_v4_request")
  return hex(core.hmac_sha256(key, string_to_sign))
end

local function inventory_request(vector, headers)
  return {
    method = vector.method, bucket = vector.bucket, query = query_map(vector.query),
    headers = headers, region = vector.region, time = vector.unix_time,
  }
end

local function base_request()
  return {
    method = "GET", bucket = "examplebucket", query = { inventory = "", inventoryId = "report1" },
    headers = { ["Content-Type"] = "application/xml", ["Content-MD5"] = "1B2M2Y8AsgTpgAmY7PhCfg==" },
    region = "cn-hangzhou", time = 1702743657,
  }
end

local AK = { access_key_id = "ak", access_key_secret = "sk" }

-- Every result, trailing nils included (table.pack is not in Lua 5.1).
local function pack(...) return { n = select("#", ...), ... } end

describe("signer: published V1 vectors", function()
  for i, vector in ipairs(vectors.v1_string_to_sign) do
    it("vector " .. i .. " via the HMAC-SHA1 primitive", function()
      local signature = core.base64_encode(core.hmac_sha1(vector.access_key_secret, vector.string_to_sign))
      assert.equal(vector.authorization, "OSS " .. vector.access_key_id .. ":" .. signature)
    end)

    it("vector " .. i .. " via sign_v1 on the rebuilt request", function()
      local request = v1_request_from(vector.string_to_sign)
      local authorization, string_to_sign = core.signer():sign_v1(request, credentials_of(vector))
      assert.equal(vector.string_to_sign, string_to_sign)
      assert.equal(vector.authorization, authorization)
      assert.equal(vector.authorization, request.headers.Authorization)
    end)
  end
end)

describe("signer: published V4 vectors", function()
  for i, vector in ipairs(vectors.v4_requests) do
    local function request_of(headers)
      return {
        method = vector.method, bucket = vector.bucket, key = vector.key, query = query_map(vector.query),
        headers = headers, additional_headers = vector.additional_headers, region = vector.region,
        time = vector.unix_time,
      }
    end

    it("vector " .. i .. " gives the canonical request, string to sign and authorization", function()
      local request = request_of(fixtures.copy(vector.headers))
      local authorization, canonical, string_to_sign = core.signer():sign_v4(request, credentials_of(vector))
      assert.equal(vector.canonical_request, canonical)
      assert.equal(vector.string_to_sign, string_to_sign)
      assert.equal(vector.authorization, authorization)
      assert.equal(vector.authorization, request.headers.Authorization)
      assert.equal(vector.x_oss_date, request.headers["x-oss-date"])
    end)

    it("vector " .. i .. " when the signer adds x-oss-content-sha256 and the token itself", function()
      local headers = fixtures.copy(vector.headers)
      headers["x-oss-content-sha256"] = nil
      headers["x-oss-security-token"] = nil
      local request = request_of(headers)
      local authorization, canonical = core.signer():sign_v4(request, credentials_of(vector))
      assert.equal(vector.canonical_request, canonical)
      assert.equal(vector.authorization, authorization)
      assert.equal("UNSIGNED-PAYLOAD", request.headers["x-oss-content-sha256"])
      local token = credentials_of(vector).security_token
      assert.equal(token, request.headers["x-oss-security-token"])
    end)
  end
end)

describe("signer: inventory vectors", function()
  for i, vector in ipairs(vectors.inventory) do
    local label = ("%d (%s ?%s)"):format(i, vector.method, core.canonical_query(query_map(vector.query)))

    it(label .. ": Content-MD5 of the body", function()
      local body = vector.body_file ~= cjson.null and fixtures.read("vectors/" .. vector.body_file) or ""
      assert.equal(vector.headers_v4["Content-MD5"], core.base64_encode(core.md5(body)))
      assert.equal(vector.headers_v1["Content-MD5"], core.base64_encode(core.md5(body)))
    end)

    it(label .. ": V4 adds exactly the vector's headers and signs them", function()
      local headers = {
        ["Content-Type"] = vector.headers_v4["Content-Type"], ["Content-MD5"] = vector.headers_v4["Content-MD5"],
      }
      local request = inventory_request(vector, headers)
      local authorization, canonical = core.signer():sign_v4(request, credentials_of(vector))
      assert.equal(vector.v4_canonical_request, canonical)
      assert.equal(vector.v4_authorization, authorization)
      local expected = fixtures.copy(vector.headers_v4)
      expected.Authorization = vector.v4_authorization
      assert.same(expected, request.headers)
    end)

    it(label .. ": V1 adds Date and signs the inventory sub-resources", function()
      local headers = {
        ["Content-Type"] = vector.headers_v1["Content-Type"], ["Content-MD5"] = vector.headers_v1["Content-MD5"],
      }
      local request = inventory_request(vector, headers)
      local authorization, string_to_sign = core.signer():sign_v1(request, credentials_of(vector))
      assert.equal(vector.v1_string_to_sign, string_to_sign)
      assert.equal(vector.v1_authorization, authorization)
      local expected = fixtures.copy(vector.headers_v1)
      expected.Authorization = vector.v1_authorization
      assert.same(expected, request.headers)
    end)
  end
end)

describe("signer: V4 signing key cache", function()
  local function sign(signer, secret, time, region)
    local request = base_request()
    request.time, request.region = time, region
    local authorization, _, string_to_sign =
      signer:sign_v4(request, { access_key_id = "ak", access_key_secret = secret })
    return authorization, string_to_sign
  end

  it("gives the same answer twice and follows every change of secret, day and region", function()
    local signer = core.signer()
    local first = sign(signer, "sk", 1702743657, "cn-hangzhou")
    assert.equal(first, (sign(signer, "sk", 1702743657, "cn-hangzhou")))
    assert.equal(vectors.inventory[2].v4_authorization, first)

    local cases = {
      { "sk2", 1702743657, "cn-hangzhou", "20231216" },
      { "sk2", 1702743657 + 86400, "cn-hangzhou", "20231217" },
      { "sk2", 1702743657 + 86400, "us-west-1", "20231217" },
      { "sk", 1702743657, "cn-hangzhou-finance", "20231216" },
      { "sk", 1702743657, "cn-hangzhou", "20231216" },
    }
    local seen = {}
    for _, case in ipairs(cases) do
      local secret, time, region, date = case[1], case[2], case[3], case[4]
      local authorization, string_to_sign = sign(signer, secret, time, region)
      local fresh = sign(core.signer(), secret, time, region)
      assert.equal(fresh, authorization)
      assert.equal(v4_signature(secret, date, region, string_to_sign), authorization:match("Signature=(%x+)$"))
      seen[authorization] = true
    end
    assert.equal(#cases, count_keys(seen))
  end)

  it("keeps the same key within a day: only the time of day changes the signature", function()
    local signer = core.signer()
    local morning, sts_morning = sign(signer, "sk", 1702684800, "cn-hangzhou")
    local evening, sts_evening = sign(signer, "sk", 1702684800 + 86399, "cn-hangzhou")
    assert.are_not.equal(morning, evening)
    assert.equal(v4_signature("sk", "20231216", "cn-hangzhou", sts_morning), morning:match("Signature=(%x+)$"))
    assert.equal(v4_signature("sk", "20231216", "cn-hangzhou", sts_evening), evening:match("Signature=(%x+)$"))
  end)
end)

describe("signer: the key cache follows the secret's text", function()
  -- Built at run time, so that each call makes a new string object with the given text.
  local function fresh(text) return (text .. "|"):sub(1, -2) end

  it("follows a credentials table whose secret is replaced in place, short or long", function()
    local signer = core.signer()
    local credentials = { access_key_id = "ak", access_key_secret = fresh("sk") }
    local secrets = { "sk2", "sk", ("long-secret-"):rep(8), ("long-secret-"):rep(8) .. "x", "sk" }
    for _, secret in ipairs(secrets) do
      credentials.access_key_secret = fresh(secret)
      local request = base_request()
      local authorization, _, string_to_sign = signer:sign_v4(request, credentials)
      assert.equal(v4_signature(secret, "20231216", "cn-hangzhou", string_to_sign),
        authorization:match("Signature=(%x+)$"))
      assert.equal((core.signer():sign_v4(base_request(), { access_key_id = "ak", access_key_secret = secret })),
        authorization)
    end
  end)

  it("gives the same answer for equal secrets in different strings, and after a collection", function()
    local signer = core.signer()
    local first = signer:sign_v4(base_request(), { access_key_id = "ak", access_key_secret = fresh("sk") })
    collectgarbage()
    collectgarbage()
    local again = signer:sign_v4(base_request(), { access_key_id = "ak", access_key_secret = fresh("sk") })
    assert.equal(vectors.inventory[2].v4_authorization, first)
    assert.equal(first, again)
  end)
end)

describe("signer: what a client leaves to it", function()
  local body = "<InventoryConfiguration><Id>report1</Id></InventoryConfiguration>"

  local function client_request()
    local request = base_request()
    request.method = "PUT"
    request.headers = { ["Content-Type"] = "application/xml" }
    request.body = body
    return request
  end

  local function sign(version, request)
    local signer = core.signer()
    return signer[version](signer, request, AK)
  end

  for _, version in ipairs({ "sign_v4", "sign_v1" }) do
    it(version .. " sets Content-MD5 from the body, as the header would have been", function()
      local request = client_request()
      local authorization = sign(version, request)
      local md5 = core.base64_encode(core.md5(body))
      assert.equal(md5, request.headers["Content-MD5"])
      local by_hand = client_request()
      by_hand.body = nil
      by_hand.headers["Content-MD5"] = md5
      assert.equal((sign(version, by_hand)), authorization)
      assert.same(by_hand.headers, request.headers)
    end)

    it(version .. " keeps a Content-MD5 the map already has", function()
      local request = client_request()
      request.headers["content-md5"] = "given"
      sign(version, request)
      assert.equal("given", request.headers["content-md5"])
      assert.is_nil(request.headers["Content-MD5"])
    end)

    it(version .. " with brief returns the Authorization and, for V4, the encoded query alone", function()
      local request = client_request()
      request.query = { inventory = "", inventoryId = "a b/c" }
      local full = { sign(version, request) }
      request = client_request()
      request.query = { inventory = "", inventoryId = "a b/c" }
      request.brief = true
      local brief = { sign(version, request) }
      assert.equal(full[1], brief[1])
      if version == "sign_v4" then
        assert.equal(4, #full)
        assert.equal("inventory&inventoryId=a%20b%2Fc", full[4])
        assert.equal(core.canonical_query(request.query), full[4])
        assert.same({ full[1], full[4] }, brief)
      else
        assert.equal(1, #brief)
      end
    end)
  end

  it("sign_v4 adds Date with add_date, and leaves a present one alone", function()
    local request = client_request()
    local authorization = core.signer():sign_v4(request, AK)
    assert.is_nil(request.headers.Date)
    request = client_request()
    request.add_date = true
    assert.equal(authorization, (core.signer():sign_v4(request, AK)))
    assert.equal(core.http_date(base_request().time), request.headers.Date)
    request = client_request()
    request.add_date = true
    request.headers.date = "kept"
    core.signer():sign_v4(request, AK)
    assert.equal("kept", request.headers.date)
    assert.is_nil(request.headers.Date)
  end)

  it("dates each request by its own time when one signer signs a second, then the first again", function()
    local signer = core.signer()
    local first = base_request().time
    for _, time in ipairs({ first, first + 1, first + 86400, first }) do
      for _, version in ipairs({ "sign_v4", "sign_v1" }) do
        local request = client_request()
        request.time, request.add_date = time, true
        local authorization = signer[version](signer, request, AK)
        local fresh = client_request()
        fresh.time, fresh.add_date = time, true
        assert.equal((sign(version, fresh)), authorization)
        assert.equal(core.http_date(time), request.headers.Date)
        if version == "sign_v4" then assert.equal(core.iso8601_time(time), request.headers["x-oss-date"]) end
      end
    end
  end)
end)

describe("signer: V4 canonicalisation", function()
  it("signs x-oss-*, content-type, content-md5 and present additional headers, trimmed and lower-cased", function()
    local request = base_request()
    request.key = "dir/a b+c~é.txt"
    request.headers = {
      ["Content-Type"] = "  text/plain\t", ["X-Oss-Meta-Tag"] = " v ", ["Host"] = "h", ["User-Agent"] = "ua",
      ["X-Empty"] = "", ["Range"] = "bytes=0-1",
    }
    request.additional_headers = { "range", "RANGE", "Host", "x-missing", "X-Empty", "x-oss-meta-tag", "content-md5" }
    local authorization, canonical = core.signer():sign_v4(request, AK)
    assert.equal(table.concat({
      "GET",
      "/examplebucket/dir/a%20b%2Bc~%C3%A9.txt",
      "inventory&inventoryId=report1",
      "content-type:text/plain",
      "host:h",
      "range:bytes=0-1",
      "x-oss-content-sha256:UNSIGNED-PAYLOAD",
      "x-oss-date:20231216T162057Z",
      "x-oss-meta-tag:v",
      "",
      "host;range",
      "UNSIGNED-PAYLOAD",
    }, "\n"), canonical)
    assert.truthy(authorization:find(",AdditionalHeaders=host;range,Signature=", 1, true))
  end)

  it("uses / without a bucket and /bucket/ for a bucket operation", function()
    local request = base_request()
    request.bucket, request.query = nil, nil
    local _, canonical = core.signer():sign_v4(request, AK)
    assert.equal("GET\n/\n\n", canonical:sub(1, 7))
    request = base_request()
    _, canonical = core.signer():sign_v4(request, AK)
    assert.equal("GET\n/examplebucket/\n", canonical:sub(1, 20))
  end)

  it("keeps a caller's x-oss-content-sha256 as the payload hash", function()
    local request = base_request()
    local digest = hex(core.sha256("body"))
    request.headers["X-Oss-Content-Sha256"] = digest
    local _, canonical = core.signer():sign_v4(request, AK)
    assert.equal("\n" .. digest, canonical:sub(-65))
    assert.truthy(canonical:find("\nx-oss-content-sha256:" .. digest .. "\n", 1, true))
    assert.is_nil(request.headers["x-oss-content-sha256"])
  end)

  it("rewrites x-oss-date, the token and Authorization under the spelling already in the map", function()
    local request = base_request()
    request.headers["X-OSS-DATE"] = "stale"
    request.headers["authorization"] = "stale"
    request.headers["X-Oss-Security-Token"] = "old-token"
    local authorization = core.signer():sign_v4(request,
      { access_key_id = "ak", access_key_secret = "sk", security_token = "new-token" })
    assert.equal("20231216T162057Z", request.headers["X-OSS-DATE"])
    assert.equal(authorization, request.headers["authorization"])
    assert.equal("new-token", request.headers["X-Oss-Security-Token"])
    assert.is_nil(request.headers["x-oss-date"])
    assert.is_nil(request.headers.Authorization)
    assert.is_nil(request.headers["x-oss-security-token"])
  end)

  it("signs a request again with the same map (a retry) and gets the fresh signer's answer", function()
    local signer = core.signer()
    local request = base_request()
    signer:sign_v4(request, AK)
    request.time = request.time + 7
    local again, canonical = signer:sign_v4(request, AK)
    local fresh_request = base_request()
    fresh_request.time = fresh_request.time + 7
    local fresh, fresh_canonical = core.signer():sign_v4(fresh_request, AK)
    assert.equal(fresh, again)
    assert.equal(fresh_canonical, canonical)
  end)

  it("reuses its scratch: a large request followed by a small one", function()
    local signer = core.signer()
    local large = base_request()
    for i = 1, 200 do
      large.headers[("x-oss-meta-%03d"):format(i)] = ("value %d"):format(i)
      large.query[("p%03d"):format(i)] = ("v/%d"):format(i)
    end
    local large_authorization, large_canonical = signer:sign_v4(large, AK)
    assert.truthy(large_canonical:find("x-oss-meta-001:value 1\nx-oss-meta-002:value 2\n", 1, true))
    assert.truthy(large_canonical:find("&p001=v%2F1&p002=v%2F2&", 1, true))
    assert.equal(large_authorization, (core.signer():sign_v4(fixtures.copy(large), AK)))
    local small = signer:sign_v4(base_request(), AK)
    assert.equal(vectors.inventory[2].v4_authorization, small)
  end)
end)

describe("signer: V1 canonicalisation", function()
  local brief_list = {
    "acl", "uploads", "location", "cors", "logging", "website", "referer", "lifecycle", "delete", "append",
    "tagging", "objectMeta", "uploadId", "partNumber", "security-token", "position", "img", "style", "styleName",
    "replication", "replicationProgress", "replicationLocation", "cname", "bucketInfo", "comp", "qos", "live",
    "status", "vod", "startTime", "endTime", "symlink", "x-oss-process", "response-content-type",
    "response-content-language", "response-expires", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "udf", "udfName", "udfImage", "udfId", "udfImageDesc", "udfApplication",
    "udfApplicationLog", "restore", "callback", "callback-var", "policy", "stat", "encryption", "versions",
    "versioning", "versionId", "sequential", "continuation-token", "regionList", "cloudboxes", "inventory",
    "inventoryId", "resourceGroup", "worm", "wormId", "wormExtend", "x-oss-traffic-limit", "qosInfo",
    "requestPayment", "asyncFetch", "transferAcceleration", "metaQuery", "rtc", "responseHeader",
  }

  for _, name in ipairs(brief_list) do
    it("signs the sub-resource " .. name .. " with its raw value", function()
      local request = base_request()
      request.query = { [name] = "a b/c", ["max-keys"] = "10", prefix = "p" }
      local _, string_to_sign = core.signer():sign_v1(request, AK)
      assert.equal("/examplebucket/?" .. name .. "=a b/c", string_to_sign:match("[^\n]*$"))
    end)
  end

  it("leaves out parameters that are not sub-resources and sorts the rest by raw name", function()
    local request = base_request()
    request.key = "dir/a b.txt"
    request.query = { prefix = "x", marker = "m", ["max-keys"] = "5", versionId = "v1", acl = "",
                      ["x-oss-anything"] = "1", ["ACL"] = "" }
    local _, string_to_sign = core.signer():sign_v1(request, AK)
    assert.equal("/examplebucket/dir/a b.txt?acl&versionId=v1&x-oss-anything=1", string_to_sign:match("[^\n]*$"))
  end)

  it("keeps a caller's Date, signs x-oss-* headers sorted, and adds the token", function()
    local request = base_request()
    request.headers.date = "Mon, 01 Jan 2024 00:00:00 GMT"
    request.headers["X-Oss-Meta-B"] = " 2 "
    request.headers["x-oss-meta-a"] = "1"
    request.headers["X-Oss-Storage-Class"] = "IA"
    local authorization, string_to_sign = core.signer():sign_v1(request,
      { access_key_id = "ak", access_key_secret = "sk", security_token = "tok" })
    assert.equal(table.concat({
      "GET", "1B2M2Y8AsgTpgAmY7PhCfg==", "application/xml", "Mon, 01 Jan 2024 00:00:00 GMT",
      "x-oss-meta-a:1", "x-oss-meta-b:2", "x-oss-security-token:tok", "x-oss-storage-class:IA",
      "/examplebucket/?inventory&inventoryId=report1",
    }, "\n"), string_to_sign)
    assert.equal("tok", request.headers["x-oss-security-token"])
    assert.is_nil(request.headers.Date)
    local signature = core.base64_encode(core.hmac_sha1("sk", string_to_sign))
    assert.equal("OSS ak:" .. signature, authorization)
  end)

  it("uses / without a bucket and empty lines for absent Content-MD5 and Content-Type", function()
    local request = { method = "GET", headers = {}, time = 1702743657 }
    local _, string_to_sign = core.signer():sign_v1(request, AK)
    assert.equal("GET\n\n\nSat, 16 Dec 2023 16:20:57 GMT\n/", string_to_sign)
  end)
end)

describe("signer: refusals", function()
  local function control_cases()
    return {
      { "header value CR LF", function(r) r.headers["X-Oss-Meta-A"] = "x\r\nInjected: 1" end,
        "headers.X-Oss-Meta-A", "contains a control character" },
      { "header value LF", function(r) r.headers["Content-Type"] = "a\nb" end,
        "headers.Content-Type", "contains a control character" },
      { "header value NUL", function(r) r.headers["Content-Type"] = "a\0b" end,
        "headers.Content-Type", "contains a control character" },
      { "header name", function(r) r.headers["X-A\r\nB"] = "v" end,
        "headers", "a name contains a control character" },
      { "query value", function(r) r.query.inventoryId = "id\r\n" end,
        "query.inventoryId", "contains a control character" },
      { "query name", function(r) r.query["a\nb"] = "" end,
        "query", "a parameter name contains a control character" },
      { "key", function(r) r.key = "a\nb" end, "request.key", "contains a control character" },
      { "bucket", function(r) r.bucket = "a\rb" end, "request.bucket", "contains a control character" },
      { "method", function(r) r.method = "GET\r\n" end, "request.method", "contains a control character" },
    }
  end

  for _, version in ipairs({ "sign_v4", "sign_v1" }) do
    for _, case in ipairs(control_cases()) do
      it(version .. " returns nil, reason, path for a control character in the " .. case[1], function()
        local request = base_request()
        case[2](request)
        local before = fixtures.copy(request.headers)
        local signer = core.signer()
        local results = pack(signer[version](signer, request, AK))
        assert.same({ n = 3, nil, case[4], case[3] }, results)
        assert.same(before, request.headers)
      end)
    end

    it(version .. " refuses a token or access key id with a line break", function()
      local request, signer = base_request(), core.signer()
      local _, reason, path = signer[version](signer, request,
        { access_key_id = "ak", access_key_secret = "sk", security_token = "t\r\nX: y" })
      assert.same({ "contains a control character", "credentials.security_token" }, { reason, path })
      _, reason, path = signer[version](signer, request, { access_key_id = "a\nk", access_key_secret = "sk" })
      assert.same({ "contains a control character", "credentials.access_key_id" }, { reason, path })
      assert.is_nil(request.headers.Authorization)
    end)
  end

  it("refuses a control character in the region", function()
    local request = base_request()
    request.region = "cn\nhangzhou"
    local authorization, reason, path = core.signer():sign_v4(request, AK)
    assert.is_nil(authorization)
    assert.same({ "contains a control character", "request.region" }, { reason, path })
  end)
end)

describe("signer: failures of its own", function()
  for _, version in ipairs({ "sign_v4", "sign_v1" }) do
    for _, failure in ipairs({ "out of memory", "OpenSSL failed" }) do
      it(version .. " returns nil, message and no path when " .. failure, function()
        local signer = core.signer()
        signer:simulate_failure(failure)
        local request = base_request()
        local before = fixtures.copy(request.headers)
        local results = pack(signer[version](signer, request, AK))
        assert.same({ n = 2, nil, version .. ": " .. failure }, results)
        assert.same(before, request.headers)
        signer:simulate_failure(nil)
        assert.is_string((signer[version](signer, base_request(), AK)))
      end)
    end

    it(version .. " still refuses bad input first", function()
      local signer = core.signer()
      signer:simulate_failure("OpenSSL failed")
      local request = base_request()
      request.headers["X-A"] = "a\nb"
      local _, reason, path = signer[version](signer, request, AK)
      assert.same({ "contains a control character", "headers.X-A" }, { reason, path })
    end)
  end

  it("simulate_failure names what it simulates", function()
    local signer = core.signer()
    assert.has_error(function() signer:simulate_failure("disk full") end)
    signer:close()
    assert.has_error(function() signer:simulate_failure(nil) end, "oss.signer: used after close")
  end)
end)

describe("signer: how a client reports what the signer refused or could not do", function()
  local oss = require "oss"

  -- oss.new takes its signer from core.signer; `failure` makes that one fail as memory or OpenSSL would.
  local function new_client(version, failure)
    local make_signer = core.signer
    core.signer = function()
      local signer = make_signer()
      if failure then signer:simulate_failure(failure) end
      return signer
    end
    local ok, client = pcall(oss.new, {
      region = "cn-hangzhou", signature_version = version, access_key_id = "ak", access_key_secret = "sk",
      clock = function() return 1702743657 end,
      transport = function() error("nothing may be sent") end,
    })
    core.signer = make_signer
    return assert(ok and client, client)
  end

  for _, version in ipairs({ "v4", "v1" }) do
    it(version .. ": a refused query value is a validation error naming it", function()
      local request, err = new_client(version):prepare("GET", "examplebucket", { inventoryId = "a\r\nb" })
      assert.is_nil(request)
      assert.equal("validation", err.kind)
      assert.equal("query.inventoryId", err.path)
      assert.equal("contains a control character", err.reason)
    end)

    for _, failure in ipairs({ "out of memory", "OpenSSL failed" }) do
      it(version .. ": " .. failure .. " is an internal error, not retried and not the caller's to fix", function()
        local client = new_client(version, failure)
        local value, err = client:call("GET", "examplebucket", { inventory = "", inventoryId = "report1" })
        assert.is_nil(value)
        assert.equal("internal", err.kind)
        assert.equal(("sign_%s: %s"):format(version, failure), err.message)
        assert.equal("internal error: sign_" .. version .. ": " .. failure, tostring(err))
        assert.is_nil(err.path)
        assert.is_false(require("oss.retry").retryable(err))
      end)
    end
  end
end)

describe("signer: misuse raises", function()
  local function raises(pattern, version, mutate, credentials)
    local request = base_request()
    if mutate then mutate(request) end
    local signer = core.signer()
    local ok, err = pcall(signer[version], signer, request, credentials or AK)
    assert.is_false(ok)
    assert.truthy(tostring(err):find(pattern, 1, true), tostring(err))
  end

  for _, version in ipairs({ "sign_v4", "sign_v1" }) do
    it(version .. ": missing or mistyped fields", function()
      raises("request.method: expected a string, got nil", version, function(r) r.method = nil end)
      raises("request.method: must not be empty", version, function(r) r.method = "" end)
      raises("request.time: expected integer unix seconds, got nil", version, function(r) r.time = nil end)
      raises("request.time: expected integer unix seconds, got number", version, function(r) r.time = 1.5 end)
      raises("request.time: out of range", version, function(r) r.time = -1 end)
      raises("request.headers: expected a table, got nil", version, function(r) r.headers = nil end)
      raises("request.query: expected a table, got string", version, function(r) r.query = "a=b" end)
      raises("request.bucket: expected a string, got number", version, function(r) r.bucket = 1 end)
      raises("request.key: needs a bucket", version, function(r) r.bucket, r.key = nil, "k" end)
      raises("headers.X-Len: expected a string, got number", version, function(r) r.headers["X-Len"] = 5 end)
      raises("headers: names must be strings, got number", version, function(r) r.headers[1] = "v" end)
      raises("query.flag: expected a string, got boolean", version, function(r) r.query.flag = true end)
      raises("credentials.access_key_id: expected a string, got nil", version, nil, { access_key_secret = "sk" })
      raises("credentials.access_key_secret: expected a string, got nil", version, nil, { access_key_id = "ak" })
      raises("credentials.access_key_secret: must not be empty", version, nil,
        { access_key_id = "ak", access_key_secret = "" })
      raises("credentials.security_token: expected a string, got boolean", version, nil,
        { access_key_id = "ak", access_key_secret = "sk", security_token = true })
    end)

    it(version .. ": two spellings of one header", function()
      raises('name the same header', version, function(r) r.headers["content-type"] = "text/plain" end)
    end)

    it(version .. ": non-table arguments and a closed signer", function()
      local signer = core.signer()
      assert.has_error(function() signer[version](signer, "request", AK) end)
      assert.has_error(function() signer[version](signer, base_request(), nil) end)
      assert.has_error(function() signer[version]({}, base_request(), AK) end)
      signer:close()
      signer:close()
      assert.has_error(function() signer[version](signer, base_request(), AK) end, "oss.signer: used after close")
    end)
  end

  it("sign_v4: region and additional headers", function()
    raises("request.region: expected a string, got nil", "sign_v4", function(r) r.region = nil end)
    raises("request.additional_headers[2]: expected a string, got number", "sign_v4",
      function(r) r.additional_headers = { "host", 7 } end)
  end)
end)

describe("signer: the secret never leaks", function()
  local secret = "Zq8-SECRET-do-not-print-7Hk"

  it("appears in no returned string, header, error or tostring", function()
    local signer = core.signer()
    local credentials = { access_key_id = "ak", access_key_secret = secret, security_token = "tok" }
    local outputs = { tostring(signer) }
    local function collect(...)
      for i = 1, select("#", ...) do outputs[#outputs + 1] = tostring((select(i, ...))) end
    end
    local request = base_request()
    collect(signer:sign_v4(request, credentials))
    for _, value in pairs(request.headers) do outputs[#outputs + 1] = value end
    request = base_request()
    collect(signer:sign_v1(request, credentials))
    for _, value in pairs(request.headers) do outputs[#outputs + 1] = value end
    local bad = base_request()
    bad.headers["X-A"] = "a\nb"
    collect(signer:sign_v4(bad, credentials))
    collect(signer:sign_v1(bad, credentials))
    collect(pcall(signer.sign_v4, signer, { method = "GET", headers = {}, time = 0 }, credentials))
    bad = base_request()
    bad.headers["content-type"] = "dup"
    collect(pcall(signer.sign_v4, signer, bad, credentials))
    collect(pcall(signer.sign_v1, signer, bad, credentials))
    assert.is_true(#outputs >= 10)
    for _, text in ipairs(outputs) do
      assert.is_nil(text:find(secret, 1, true), text)
    end
  end)

  it("signs with a secret that contains line breaks (it is never sent)", function()
    local odd = "s\r\nk"
    local authorization, _, string_to_sign =
      core.signer():sign_v4(base_request(), { access_key_id = "ak", access_key_secret = odd })
    assert.equal(v4_signature(odd, "20231216", "cn-hangzhou", string_to_sign), authorization:match("Signature=(%x+)$"))
  end)
end)

describe("signer: the type", function()
  it("prints as oss.signer: 0x...", function()
    assert.matches("^oss%.signer: 0x%x+$", tostring(core.signer()))
  end)

  it("is collected whether it was closed or not", function()
    local weak = setmetatable({}, { __mode = "v" })
    weak[1] = core.signer()
    weak[1]:sign_v4(base_request(), AK)
    weak[2] = core.signer()
    weak[2]:sign_v1(base_request(), AK)
    weak[2]:close()
    collectgarbage()
    collectgarbage()
    assert.is_nil(weak[1])
    assert.is_nil(weak[2])
  end)

  if _VERSION == "Lua 5.4" then
    it("closes at the end of a <close> scope", function()
      local escaped = assert(load([[
        local core, request, credentials = ...
        local signer <close> = core.signer()
        signer:sign_v4(request, credentials)
        return signer
      ]]))(core, base_request(), AK)
      assert.has_error(function() escaped:sign_v4(base_request(), AK) end, "oss.signer: used after close")
    end)
  end
end)

describe("uri_encode", function()
  -- An independent percent-encoder over every byte value.
  local function reference(text, keep_slash)
    return (text:gsub("[^%w%-%._~]", function(c)
      if c == "/" and keep_slash then return c end
      return ("%%%02X"):format(c:byte())
    end))
  end

  it("encodes the edge cases", function()
    assert.equal("a%20b", core.uri_encode("a b"))
    assert.equal("~", core.uri_encode("~"))
    assert.equal("%2B", core.uri_encode("+"))
    assert.equal("%C3%A9%E4%B8%AD", core.uri_encode("é中"))
    assert.equal("a%2Fb", core.uri_encode("a/b"))
    assert.equal("a/b", core.uri_encode("a/b", true))
    assert.equal("%00%0D%0A%25", core.uri_encode("\0\r\n%"))
    assert.equal("", core.uri_encode(""))
    assert.equal("AZaz09-._~", core.uri_encode("AZaz09-._~"))
  end)

  it("agrees with a reference encoder on every byte", function()
    local all = {}
    for byte = 0, 255 do all[#all + 1] = string.char(byte) end
    local text = table.concat(all)
    assert.equal(reference(text, false), core.uri_encode(text))
    assert.equal(reference(text, true), core.uri_encode(text, true))
  end)

  it("raises on a non-string", function()
    assert.has_error(function() core.uri_encode({}) end)
  end)
end)

describe("canonical_query", function()
  it("encodes, sorts by encoded key and leaves = out for empty values", function()
    assert.equal("a=1&b&c%2F=x", core.canonical_query({ a = "1", b = "", ["c/"] = "x" }))
    assert.equal("%2Bx=%2B&A=1&a=%20&b=~&~",
      core.canonical_query({ b = "~", A = "1", a = " ", ["+x"] = "+", ["~"] = "" }))
    assert.equal("k=%C3%A9", core.canonical_query({ k = "é" }))
    assert.equal("", core.canonical_query({}))
  end)

  it("takes numbers as values", function()
    assert.equal("max-keys=100", core.canonical_query({ ["max-keys"] = 100 }))
  end)

  it("raises on misuse", function()
    assert.has_error(function() core.canonical_query("a=b") end)
    assert.has_error(function() core.canonical_query({ [1] = "x" }) end)
    assert.has_error(function() core.canonical_query({ a = true }) end)
  end)
end)

describe("iso8601_time and http_date", function()
  local known = {
    { 0, "19700101T000000Z", "Thu, 01 Jan 1970 00:00:00 GMT" },
    { 1672223261, "20221228T102741Z", "Wed, 28 Dec 2022 10:27:41 GMT" },
    { 1702743657, "20231216T162057Z", "Sat, 16 Dec 2023 16:20:57 GMT" },
    { 951782400, "20000229T000000Z", "Tue, 29 Feb 2000 00:00:00 GMT" },
    { 4107542399, "21000228T235959Z", "Sun, 28 Feb 2100 23:59:59 GMT" },
    { 4107542400, "21000301T000000Z", "Mon, 01 Mar 2100 00:00:00 GMT" },
    { 2147483648, "20380119T031408Z", "Tue, 19 Jan 2038 03:14:08 GMT" },
    { 253402300799, "99991231T235959Z", "Fri, 31 Dec 9999 23:59:59 GMT" },
  }

  for _, case in ipairs(known) do
    it("formats " .. case[1], function()
      assert.equal(case[2], core.iso8601_time(case[1]))
      assert.equal(case[3], core.http_date(case[1]))
    end)
  end

  it("agrees with the C library's gmtime across 1970-2200", function()
    for i = 0, 2999 do
      local t = i * 2419200 + (i * 7919) % 86400
      assert.equal(os.date("!%Y%m%dT%H%M%SZ", t), core.iso8601_time(t))
      assert.equal(os.date("!%a, %d %b %Y %H:%M:%S GMT", t), core.http_date(t))
    end
  end)

  it("raises outside 1970-9999 or for a non-integer", function()
    assert.has_error(function() core.iso8601_time(-1) end)
    assert.has_error(function() core.http_date(253402300800) end)
    assert.has_error(function() core.http_date(1.5) end)
    assert.has_error(function() core.iso8601_time("1702743657x") end)
  end)
end)
