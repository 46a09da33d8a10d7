-- The oss-inventory binary driven as a script would drive it, against the emulator: every subcommand and format.

local cjson = require "cjson"
local data_chunk = require "oss.data_chunk"
local support = require "spec.support.emulator"
local text_writer = require "oss.cli.text_writer"
-- The service stores StorageClass members sorted; compare rules the way the service means them.
local normalised = require("oss.stored_form").rule

local function shell_quote(text)
  return "'" .. tostring(text):gsub("'", "'\\''") .. "'"
end

-- The command as a checkout runs it: under Lua 5.4, with the repository's modules and build on the paths.
local BINARY = ("%s lua5.4 %s"):format(shell_quote(support.ROOT .. "/tools/dev-run"),
  shell_quote(support.ROOT .. "/bin/oss-inventory"))
local FIXTURES = support.ROOT .. "/spec/fixtures/cli/"
local KEY_ID, SECRET = "ak-cli", "secret-cli-value"
local ROLE = "EcsInventoryRole"
local ROLE_ARN = "acs:ram::1000000000000000:role/inventory-cli"
local OIDC_PROVIDER_ARN = "acs:ram::1000000000000000:oidc-provider/ack-rrsa"
-- Where the credentials chain looks besides OSS_*: unset for every run, so only what a spec gives is found.
local CHAIN_VARIABLES = {
  "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
  "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
  "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_CONFIG_FILE", "ALIBABA_CLOUD_CREDENTIALS_FILE",
  "ALIBABA_CLOUD_ECS_METADATA", "ALIBABA_CLOUD_CREDENTIALS_URI", "ALIBABA_CLOUD_STS_REGION",
}
local BUCKETS = { "examplebucket", "bucket-two", "bucket-three" }
local FORMATS = { "lua", "json", "xml" }


local function read_file(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

local function write_file(path, text)
  local file = assert(io.open(path, "wb"))
  file:write(text)
  file:close()
  return path
end

local function now()
  local pipe = assert(io.popen("date +%s.%N"))
  local seconds = tonumber(pipe:read("*l"))
  pipe:close()
  return seconds
end

-- A rule for bucket `bucket` numbered `index`, different per `variant` so a plan can replace it.
local function numbered_rule(index, variant)
  return {
    Id = ("rule-%02d"):format(index),
    IsEnabled = true,
    Filter = { Prefix = ("logs/%d/"):format(index), StorageClass = "Standard,IA" },
    Destination = {
      OSSBucketDestination = {
        Format = "CSV", AccountId = "1000000000000000", RoleArn = "acs:ram::1000000000000000:role/AliyunOSSRole",
        Bucket = "acs:oss:::destination-bucket", Encryption = { ["SSE-OSS"] = {} },
      },
    },
    Schedule = { Frequency = variant and "Weekly" or "Daily" },
    IncludedObjectVersions = "All",
    OptionalFields = { Field = { "Size", "ETag" } },
  }
end

local function state_of(count, buckets, variant)
  local state = { buckets = {} }
  for _, bucket in ipairs(buckets or BUCKETS) do
    local rules = {}
    for index = 1, count do rules[index] = numbered_rule(index, variant) end
    state.buckets[bucket] = rules
  end
  return state
end

describe("oss-inventory", function()
  local emulator, workdir

  -- The shell command running the binary with `arguments` (already quoted) and only the OSS_* variables given here.
  local function command_line(arguments, environment)
    local env = {
      OSS_ENDPOINT = emulator.endpoint, OSS_REGION = "cn-hangzhou", OSS_ACCESS_KEY_ID = KEY_ID,
      OSS_ACCESS_KEY_SECRET = SECRET, OSS_PATH_STYLE = "1",
    }
    for name, value in pairs(environment or {}) do env[name] = value or nil end
    local assignments = {}
    for name, value in pairs(env) do assignments[#assignments + 1] = name .. "=" .. shell_quote(value) end
    return ("env -u OSS_ENDPOINT -u OSS_REGION -u OSS_ACCESS_KEY_ID -u OSS_ACCESS_KEY_SECRET -u OSS_SESSION_TOKEN "
      .. "-u OSS_PATH_STYLE -u OSS_SIGNATURE_VERSION -u %s %s %s </dev/null %s")
      :format(table.concat(CHAIN_VARIABLES, " -u "), table.concat(assignments, " "), BINARY, arguments)
  end

  -- Runs the binary -> exit code, stdout, stderr.
  local function run(arguments, environment)
    local out, err, code = workdir .. "/out", workdir .. "/err", workdir .. "/code"
    os.execute(("%s >%s 2>%s; echo $? >%s"):format(command_line(arguments, environment), out, err, code))
    return tonumber(read_file(code)), read_file(out), read_file(err)
  end

  local function write_state(name, state, format)
    return write_file(workdir .. "/" .. name .. "." .. format, text_writer.write(format, nil, state))
  end

  local function rules_on(bucket)
    local code, out, err = run("list " .. bucket .. " -o json")
    assert.are.equal(0, code, err)
    return cjson.decode(out)
  end

  -- Requests the emulator received after the one with `request_id` (all kept ones without it).
  local function requests_after(request_id)
    local list, found = emulator:requests(), request_id == nil
    local after = {}
    for _, request in ipairs(list) do
      if found then after[#after + 1] = request end
      if request.request_id == request_id then found = true end
    end
    return after
  end

  local function last_request_id()
    local newest = emulator:requests(1)[1]
    return newest and newest.request_id
  end

  local function count_methods(requests)
    local counts = { GET = 0, PUT = 0, DELETE = 0 }
    for _, request in ipairs(requests) do counts[request.method] = (counts[request.method] or 0) + 1 end
    return counts
  end

  setup(function()
    workdir = os.tmpname()
    os.remove(workdir)
    assert(os.execute("mkdir -p " .. shell_quote(workdir)))
    local config = write_file(workdir .. "/emulator.lua", "return { journal_size = 2000 }\n")
    local buckets = { "destination-bucket", "sh-bucket:cn-shanghai", "sh-destination:cn-shanghai" }
    for _, bucket in ipairs(BUCKETS) do buckets[#buckets + 1] = bucket end
    local token_file = write_file(workdir .. "/oidc-token", "eyJhbGciOiJSUzI1NiJ9.cli-token.sig")
    emulator = support.start {
      buckets = buckets, keys = { KEY_ID .. ":" .. SECRET }, config = config, ecs_role = ROLE,
      oidc_provider_arn = OIDC_PROVIDER_ARN, oidc_token_file = token_file,
    }
  end)

  teardown(function()
    if emulator then emulator:stop() end
    if workdir then os.execute("rm -rf " .. shell_quote(workdir)) end
  end)

  before_each(function()
    emulator:reset()
  end)

  describe("command line", function()
    it("answers --help on every subcommand with its own usage, exit 0", function()
      for _, command in ipairs { "put", "get", "list", "delete", "validate", "plan", "apply", "credentials" } do
        local code, out = run(command .. " --help")
        assert.are.equal(0, code, command)
        assert.truthy(out:find("Usage: oss-inventory " .. command, 1, true), command)
      end
      local code, out = run("--help")
      assert.are.equal(0, code)
      assert.truthy(out:find("Exit codes", 1, true))
    end)

    it("exits 2 on a usage error, with the message on stderr and nothing on stdout", function()
      for _, arguments in ipairs { "", "bogus", "get examplebucket", "apply x.lua --jobs 0", "get a b -o yaml" } do
        local code, out, err = run(arguments)
        assert.are.equal(2, code, arguments)
        assert.are.equal("", out, arguments)
        assert.truthy(err:find("Error:", 1, true), arguments)
      end
    end)

    it("exits 2 when the connection options are wrong, and 1 when the network fails", function()
      local code, _, err = run("list examplebucket", { OSS_REGION = false })
      assert.are.equal(2, code)
      assert.truthy(err:find("region", 1, true))
      code, _, err = run("list examplebucket --signature-version v1", { OSS_REGION = false })
      assert.are.equal(0, code, err)
      code, _, err = run("list examplebucket --endpoint http://127.0.0.1:1")
      assert.are.equal(1, code)
      assert.truthy(err:find("network error", 1, true), err)
    end)

    it("takes the access key id as an option and the secret only from the environment", function()
      local code, _, err = run("list examplebucket --access-key-id " .. KEY_ID, { OSS_ACCESS_KEY_ID = false })
      assert.are.equal(0, code, err)
      code, _, err = run("list examplebucket --access-key-id someone-else", { OSS_ACCESS_KEY_ID = false })
      assert.are.equal(1, code)
      assert.truthy(err:find("service error 403", 1, true), err)
      assert.falsy(err:find(SECRET, 1, true))
    end)
  end)

  describe("credentials", function()
    local homes = 0

    -- An empty home directory, and the environment of a run with no OSS key: only what the spec adds is found.
    local function keyless(extra)
      homes = homes + 1
      local home = workdir .. "/home-" .. homes
      assert(os.execute("mkdir -p " .. shell_quote(home .. "/.aliyun") .. " " .. shell_quote(home .. "/.alibabacloud")))
      local environment = { OSS_ACCESS_KEY_ID = false, OSS_ACCESS_KEY_SECRET = false, HOME = home }
      for name, value in pairs(extra or {}) do environment[name] = value end
      return environment, home
    end

    local function role_fetches()
      local count = 0
      for _, request in ipairs(emulator:requests()) do
        if request.target == "/latest/meta-data/ram/security-credentials/" .. ROLE then count = count + 1 end
      end
      return count
    end

    it("lists with nothing but the instance's role, at the metadata service --metadata-endpoint names", function()
      local code, out, err = run("list examplebucket --metadata-endpoint " .. shell_quote(emulator.endpoint),
        keyless())
      assert.are.equal(0, code, err)
      assert.are.same({}, cjson.decode(out))
      assert.are.equal(1, role_fetches())
    end)

    it("plans and applies with only the instance's role, in worker processes too (--jobs 2)", function()
      local state = write_state("role-state", state_of(2, { "examplebucket", "bucket-two" }), "lua")
      local flags = " --jobs 2 --metadata-endpoint " .. shell_quote(emulator.endpoint)
      local code, _, err = run("apply " .. shell_quote(state) .. " --auto-approve" .. flags, keyless())
      assert.are.equal(0, code, err)
      assert.are.equal(2, #rules_on("examplebucket"))
      assert.are.equal(2, #rules_on("bucket-two"))
      code, _, err = run("plan " .. shell_quote(state) .. " --detailed-exitcode" .. flags, keyless())
      assert.are.equal(0, code, err)
    end)

    it("lists with nothing but an RRSA environment, at the STS --sts-endpoint names", function()
      local code, out, err = run("list examplebucket --sts-endpoint " .. shell_quote(emulator.endpoint), keyless {
        ALIBABA_CLOUD_ROLE_ARN = ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN = OIDC_PROVIDER_ARN,
        ALIBABA_CLOUD_OIDC_TOKEN_FILE = workdir .. "/oidc-token",
      })
      assert.are.equal(0, code, err)
      assert.are.same({}, cjson.decode(out))
    end)

    it("lists with a profile file, and --profile selects the profile or the section", function()
      local environment, home = keyless()
      write_file(home .. "/.alibabacloud/credentials", ("[default]\ntype = access_key\naccess_key_id = nobody\n"
        .. "access_key_secret = wrong\n\n[ops]\ntype = access_key\naccess_key_id = %s\naccess_key_secret = %s\n")
        :format(KEY_ID, SECRET))
      local code, _, err = run("list examplebucket", environment)
      assert.are.equal(1, code)
      assert.truthy(err:find("service error 403", 1, true), err)
      code, _, err = run("list examplebucket --profile ops", environment)
      assert.are.equal(0, code, err)

      -- config.json comes before the shared credentials file; --profile names one of its profiles too.
      write_file(home .. "/.aliyun/config.json", cjson.encode {
        current = "stale",
        profiles = {
          { name = "stale", mode = "AK", access_key_id = "nobody", access_key_secret = "wrong" },
          { name = "inventory", mode = "AK", access_key_id = KEY_ID, access_key_secret = SECRET },
        },
      })
      code, _, err = run("list examplebucket", environment)
      assert.are.equal(1, code)
      assert.truthy(err:find("service error 403", 1, true), err)
      code, _, err = run("list examplebucket --profile inventory", environment)
      assert.are.equal(0, code, err)
    end)

    it("says which provider supplied the credentials, their key id and expiry, never the secret or token", function()
      local code, out, err = run("credentials --metadata-endpoint " .. shell_quote(emulator.endpoint), keyless())
      assert.are.equal(0, code, err)
      local status, text = support.http("GET", emulator.endpoint .. "/latest/meta-data/ram/security-credentials/"
        .. ROLE)
      assert.are.equal(200, status)
      local issued = cjson.decode(text)
      assert.truthy(out:find("provider: default/ecs_ram_role\n", 1, true), out)
      assert.truthy(out:find("access_key_id: " .. issued.AccessKeyId .. "\n", 1, true), out)
      assert.truthy(out:find("expiration: " .. issued.Expiration .. "\n", 1, true), out)
      assert.falsy(out:find(issued.AccessKeySecret, 1, true), out)
      assert.falsy(out:find(issued.SecurityToken, 1, true), out)
      assert.falsy(err:find(issued.AccessKeySecret, 1, true), err)

      code, out, err = run("credentials")
      assert.are.equal(0, code, err)
      assert.are.equal(("provider: default/env\naccess_key_id: %s\nexpiration: never\n"):format(KEY_ID), out)
      assert.falsy(out:find(SECRET, 1, true))

      code, out, err = run("credentials --metadata-endpoint 127.0.0.1:1", keyless())
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("no credentials found", 1, true), err)
    end)
  end)

  describe("put, get, list and delete", function()
    it("puts a rule from each format, and what get prints in each format puts back unchanged", function()
      for _, input in ipairs(FORMATS) do
        local code, _, err = run("put examplebucket " .. shell_quote(FIXTURES .. "rule." .. input))
        assert.are.equal(0, code, err)
      end
      for _, id in ipairs { "lua-rule", "json-rule", "xml-rule" } do
        for _, output in ipairs(FORMATS) do
          local code, printed, err = run(("get examplebucket %s -o %s"):format(id, output))
          assert.are.equal(0, code, err)
          assert.are.equal("", err)
          local saved = write_file(("%s/%s.%s"):format(workdir, id, output), printed)
          assert.are.equal(0, (run(("delete examplebucket %s"):format(id))))
          code, _, err = run("put examplebucket " .. saved)
          assert.are.equal(0, code, id .. " as " .. output .. ": " .. err)
          local _, again = run(("get examplebucket %s -o %s"):format(id, output))
          assert.are.equal(printed, again, id .. " as " .. output)
        end
      end
    end)

    it("keeps integers integers, Field arrays arrays and an empty SSE-OSS an object in JSON", function()
      assert.are.equal(0, (run("put examplebucket " .. FIXTURES .. "rule.json")))
      local _, printed = run("get examplebucket json-rule -o json")
      assert.truthy(printed:find('"UpperSizeBound": 53687091200000\n', 1, true), printed)
      assert.truthy(printed:find('"Frequency": 600\n', 1, true), printed)
      assert.truthy(printed:find('"SSE-OSS": {}', 1, true), printed)
      assert.truthy(printed:find('"Field": %[%s*"Crc64"%s*%]'), printed)
      local _, lua_text = run("get examplebucket json-rule -o lua")
      local rule = assert(data_chunk.load(lua_text, "=get"))()
      assert.are.equal(53687091200000, rule.Filter.UpperSizeBound)
      if math.type then assert.are.equal("integer", math.type(rule.Filter.UpperSizeBound)) end
      assert.are.same({}, rule.Destination.OSSBucketDestination.Encryption["SSE-OSS"])
    end)

    it("reads the rule from stdin with --format, and from a file whose extension says nothing", function()
      local renamed = write_file(workdir .. "/rule.txt", read_file(FIXTURES .. "rule.xml"))
      local code, _, err = run("put examplebucket - --format xml <" .. renamed)
      -- run() gives the binary /dev/null as stdin unless the arguments redirect it: this one does.
      assert.are.equal(0, code, err)
      assert.are.equal(0, (run("delete examplebucket xml-rule")))
      code, _, err = run("put examplebucket " .. renamed)
      assert.are.equal(0, code, err)
      assert.are.equal("a & b/", rules_on("examplebucket")[1].Filter.Prefix)
    end)

    it("lists every rule of a bucket in each format, and the list puts back on another bucket", function()
      for _, input in ipairs(FORMATS) do
        assert.are.equal(0, (run("put examplebucket " .. FIXTURES .. "rule." .. input)))
      end
      local ids = {}
      for _, rule in ipairs(rules_on("examplebucket")) do ids[#ids + 1] = rule.Id end
      table.sort(ids)
      assert.are.same({ "json-rule", "lua-rule", "xml-rule" }, ids)
      for _, output in ipairs(FORMATS) do
        local code, printed, err = run("list examplebucket -o " .. output)
        assert.are.equal(0, code, err)
        local saved = write_file(workdir .. "/list." .. output, printed)
        code, _, err = run("put bucket-two " .. saved)
        assert.are.equal(0, code, output .. ": " .. err)
        assert.are.same(rules_on("examplebucket"), rules_on("bucket-two"))
        for _, id in ipairs(ids) do assert.are.equal(0, (run("delete bucket-two " .. id))) end
      end
    end)

    it("prints an empty list for a bucket without rules", function()
      assert.are.same({}, rules_on("bucket-three"))
      local _, lua_text = run("list bucket-three -o lua")
      assert.are.same({}, assert(data_chunk.load(lua_text, "=list"))())
    end)

    it("deletes several rules; a missing rule is a service error on stderr, exit 1", function()
      assert.are.equal(0, (run("put examplebucket " .. FIXTURES .. "rule.lua")))
      assert.are.equal(0, (run("put examplebucket " .. FIXTURES .. "rule.json")))
      local code, out, err = run("delete examplebucket lua-rule json-rule")
      assert.are.equal(0, code, err)
      assert.are.equal("", out)
      code, out, err = run("get examplebucket lua-rule")
      assert.are.equal(1, code)
      assert.are.equal("", out)
      assert.truthy(err:find("service error 404 NoSuchInventory", 1, true), err)
    end)

    it("refuses an invalid rule before sending anything, exit 2", function()
      local before = last_request_id()
      local code, out, err = run("put examplebucket " .. FIXTURES .. "invalid.json")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.truthy(err:find("IsEnable: unknown element; did you mean IsEnabled?", 1, true), err)
      assert.are.same({}, requests_after(before))
      -- Checked before any connection setting is: no endpoint or region is needed to be told.
      code, out, err = run("put examplebucket " .. FIXTURES .. "invalid.json",
        { OSS_ENDPOINT = false, OSS_REGION = false })
      assert.are.equal("", out)
      assert.are.equal(2, code, err)
      assert.truthy(err:find("IsEnable: unknown element", 1, true), err)
    end)
  end)

  describe("validate", function()
    it("prints every problem of every file with its file, element path and reason", function()
      local invalid, state = FIXTURES .. "invalid.json", FIXTURES .. "invalid_state.lua"
      local code, out, err = run(("validate %s %s %s"):format(FIXTURES .. "rule.lua", invalid, state))
      assert.are.equal(2, code)
      assert.are.equal(FIXTURES .. "rule.lua: ok (1 rule)\n", out)
      local expected = {
        invalid .. ": Id: expected only letters, digits",
        invalid .. ": IsEnable: unknown element; did you mean IsEnabled?",
        invalid .. ": IsEnabled: required element is missing",
        invalid .. ": Filter: LowerSizeBound must not be greater than UpperSizeBound",
        invalid .. ": Destination.OSSBucketDestination.AccountId: expected digits only",
        invalid .. ': Schedule.Frequency: expected one of Daily, Weekly, Monthly, Once, got "Hourly"',
        invalid .. ': OptionalFields.Field[2]: expected one of Size,',
        state .. ": bucket: unknown element (expected buckets)",
        state .. ": buckets.Not_A_Bucket: expected a bucket name",
        state .. ': buckets.examplebucket[2].Id: "same" is already the Id of rule [1]',
        state .. ': buckets.examplebucket[3].Schedule.Frequency: expected one of Daily, Weekly, Monthly, Once, got "Yearly"',
      }
      for _, line in ipairs(expected) do
        assert.truthy(err:find("oss-inventory: " .. line, 1, true), line .. "\n" .. err)
      end
      local _, lines = err:gsub("\n", "")
      assert.are.equal(#expected, lines, err)
    end)

    it("accepts the three formats, a list and a desired state, offline", function()
      local state = write_state("state", state_of(3, { "examplebucket", "bucket-two" }), "json")
      local code, out, err = run(("validate %s %s %s %s"):format(FIXTURES .. "rule.lua", FIXTURES .. "rule.json",
        FIXTURES .. "rule.xml", state), { OSS_ENDPOINT = "http://127.0.0.1:1" })
      assert.are.equal(0, code, err)
      assert.truthy(out:find(state .. ": ok (6 rules)", 1, true), out)
    end)

    it("says where a document cannot be read", function()
      local broken = write_file(workdir .. "/broken.json", '{ "Id": ')
      local code, _, err = run("validate " .. broken)
      assert.are.equal(2, code)
      assert.truthy(err:find(broken .. ": invalid JSON", 1, true), err)
      local wrong = write_file(workdir .. "/wrong.xml", "<Rule/>")
      code, _, err = run("validate " .. wrong)
      assert.are.equal(2, code)
      assert.truthy(err:find("expected root element <InventoryConfiguration>", 1, true), err)
    end)
  end)

  describe("plan and apply", function()
    it("plans, applies and re-applies 50 rules on each of 3 buckets; the second apply does nothing", function()
      local state = write_state("fleet", state_of(50), "lua")
      local started = now()
      local code, out, err = run("plan --detailed-exitcode " .. state)
      assert.are.equal(3, code, err)
      assert.truthy(out:find("Plan: 150 to create, 0 to replace, 0 to delete, 0 unchanged.", 1, true), out)
      assert.truthy(out:find("bucket-two: 50 to create", 1, true), out)
      assert.truthy(out:find('      + Schedule.Frequency: "Daily"', 1, true), out)

      local before = last_request_id()
      code, out, err = run("apply --auto-approve --jobs 3 " .. state)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Apply complete: 150 created, 0 replaced, 0 deleted, 0 restored, 0 lost.", 1, true), out)
      assert.are.same({ GET = 3, PUT = 150, DELETE = 0 }, count_methods(requests_after(before)))
      for _, bucket in ipairs(BUCKETS) do assert.are.equal(50, #rules_on(bucket)) end

      before = last_request_id()
      code, out, err = run("apply --auto-approve --jobs 3 " .. state)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("No changes: 150 rules on 3 buckets are as wanted.", 1, true), out)
      assert.are.same({ GET = 3, PUT = 0, DELETE = 0 }, count_methods(requests_after(before)))
      code = run("plan --detailed-exitcode " .. state)
      assert.are.equal(0, code)
      local seconds = now() - started
      print(("\n    plan + apply + apply + plan, 3 buckets x 50 rules: %.2f s"):format(seconds))
      assert.is_true(seconds < 60)
    end)

    it("reads buckets at once with plan --jobs, and prints the same plan, in the same order, as --jobs 1", function()
      local state = state_of(2)
      state.buckets["absent-bucket"] = { numbered_rule(1) }
      local path = write_state("reading", state, "lua")
      assert.are.equal(0, (run("put bucket-two " .. FIXTURES .. "rule.xml")))
      local outputs, seconds = {}, {}
      for _, jobs in ipairs { 1, 4 } do
        -- Each list is held 0.5 s: one reader waits 2 s for the four, four readers side by side about 0.5 s.
        emulator:faults { { method = "GET", delay = 0.5, times = 4 } }
        local started_at, started = now(), last_request_id()
        local code, out, err = run(("plan --jobs %d %s"):format(jobs, path))
        seconds[jobs] = now() - started_at
        assert.are.equal(1, code, err)
        assert.truthy(err:find("absent-bucket: cannot read its rules: service error 404 NoSuchBucket", 1, true), err)
        assert.are.equal(4, #requests_after(started))
        outputs[jobs] = out
      end
      assert.is_true(seconds[1] >= 2, "one reader took " .. seconds[1])
      assert.is_true(seconds[4] < seconds[1] - 1,
        ("four readers took %.2f s, one %.2f s"):format(seconds[4], seconds[1]))
      assert.are.equal(outputs[1], outputs[4])
      assert.truthy(outputs[4]:find("absent-bucket", 1, true) == nil, outputs[4])
      -- Sorted by bucket name, as --jobs 1 reads them.
      local three = outputs[4]:find("bucket-three: 2 to create, 0 to replace, 0 to delete, 0 unchanged\n", 1, true)
      local two = outputs[4]:find("bucket-two: 2 to create, 0 to replace, 0 to delete, 0 unchanged, 1 not in", 1, true)
      local example = outputs[4]:find("examplebucket: 2 to create", 1, true)
      assert.truthy(three and two and example and three < two and two < example, outputs[4])
    end)

    it("prints the plan as one JSON document with -o json", function()
      assert.are.equal(0, (run("apply --auto-approve " .. write_state("base", state_of(2, { "examplebucket" }), "lua"))))
      local state = state_of(3, { "examplebucket" })
      state.buckets.examplebucket[1] = numbered_rule(1, "weekly")
      state.buckets["absent-bucket"] = {}
      local code, out, err = run("plan -o json --detailed-exitcode " .. write_state("json-plan", state, "lua"))
      assert.are.equal(1, code, err)
      local document = cjson.decode(out)
      assert.are.equal(1, document.format_version)
      assert.are.same({ "absent-bucket" }, document.unread)
      assert.are.same({ create = 1, replace = 1, delete = 0, unchanged = 1, unmanaged = 0 }, document.summary)
      assert.are.equal(1, #document.buckets)
      local actions = document.buckets[1].actions
      assert.are.equal("examplebucket", document.buckets[1].bucket)
      assert.are.same({ "replace", "create", "unchanged" }, { actions[1].action, actions[2].action, actions[3].action })
      assert.are.same({ { change = "change", path = "Schedule.Frequency", before = "Daily", after = "Weekly" } },
        actions[1].changes)
      assert.are.same({}, actions[3].changes)
      local added = {}
      for _, change in ipairs(actions[2].changes) do added[change.path] = change.after end
      assert.are.same({ "Size", "ETag" }, added["OptionalFields.Field"])
      assert.are.equal(true, added.IsEnabled)
      assert.truthy(out:find('"changes": []', 1, true), out)
    end)

    it("applies exactly a plan saved with --out, and refuses it once a bucket has changed", function()
      assert.are.equal(0, (run("apply --auto-approve " .. write_state("saved-base", state_of(2), "json"))))
      local state = state_of(2, nil, "weekly")
      state.buckets["sh-bucket"] = { region = "cn-shanghai", rules = {} }
      local path = write_state("saved", state, "json")
      local saved = workdir .. "/saved.plan"
      local code, out, err = run(("plan --out %s %s"):format(saved, path))
      assert.are.equal(0, code, err)
      assert.truthy(err:find("saved the plan to " .. saved, 1, true), err)
      assert.truthy(out:find("Plan: 0 to create, 6 to replace, 0 to delete, 0 unchanged.", 1, true), out)

      -- The desired state changes after the plan: the saved plan, not the file, is what apply carries out.
      write_state("saved", state_of(2), "json")
      local before = last_request_id()
      code, out, err = run("apply --jobs 2 " .. saved)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Apply complete: 0 created, 6 replaced, 0 deleted, 0 restored, 0 lost.", 1, true), out)
      assert.are.same({ GET = 4 + 6, PUT = 6, DELETE = 6 }, count_methods(requests_after(before)))
      assert.are.equal("Weekly", rules_on("bucket-two")[1].Schedule.Frequency)

      -- Applied once, the buckets are no longer what the plan was made from: a second apply changes nothing.
      before = last_request_id()
      code, _, err = run("apply " .. saved)
      assert.are.equal(1, code, err)
      assert.truthy(err:find("bucket-two: its rules changed since the plan was made", 1, true), err)
      assert.truthy(err:find("the saved plan no longer matches 3 bucket(s); nothing was changed", 1, true), err)
      assert.are.same({ GET = 4, PUT = 0, DELETE = 0 }, count_methods(requests_after(before)))
    end)

    it("applies buckets at once with --jobs, one after another with --jobs 1", function()
      -- Each put is held 0.5 s: only workers running side by side can have three buckets' puts in flight.
      local function first_puts(jobs)
        emulator:reset()
        emulator:faults { { method = "PUT", delay = 0.5, times = 6 } }
        local code, _, err = run(("apply --auto-approve --jobs %d %s"):format(jobs, write_state("jobs", state_of(2), "json")))
        assert.are.equal(0, code, err)
        local buckets = {}
        for _, request in ipairs(emulator:requests()) do
          if request.method == "PUT" and #buckets < 3 then buckets[#buckets + 1] = request.target:match("^/([^/?]+)") end
        end
        return buckets
      end
      local concurrent = first_puts(3)
      table.sort(concurrent)
      assert.are.same({ "bucket-three", "bucket-two", "examplebucket" }, concurrent)
      local sequential = first_puts(1)
      assert.are.equal(sequential[1], sequential[2])
      assert.are_not.equal(sequential[2], sequential[3])
    end)

    it("replaces changed rules (delete, then put), keeps unnamed ones, and deletes them with --prune", function()
      local json_state = write_state("small", state_of(4, { "examplebucket" }), "json")
      assert.are.equal(0, (run("apply --auto-approve " .. json_state)))
      assert.are.equal(0, (run("put examplebucket " .. FIXTURES .. "rule.xml")))
      local changed = state_of(3, { "examplebucket" })
      changed.buckets.examplebucket[2] = numbered_rule(2, "weekly")
      local state = write_state("changed", changed, "lua")

      local code, out, err = run("plan --detailed-exitcode " .. state)
      assert.are.equal(3, code, err)
      assert.truthy(out:find("examplebucket: 0 to create, 1 to replace, 0 to delete, 2 unchanged, "
        .. "2 not in the file (kept; --prune deletes them)", 1, true), out)
      assert.truthy(out:find('  ~ replace rule-02\n      ~ Schedule.Frequency: "Daily" -> "Weekly"\n', 1, true), out)

      code, out, err = run("plan --prune " .. state)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("  - delete rule-04\n", 1, true), out)
      assert.truthy(out:find("  - delete xml-rule\n", 1, true), out)

      local before = last_request_id()
      code, out, err = run("apply --auto-approve --prune " .. state)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Apply complete: 0 created, 1 replaced, 2 deleted, 0 restored, 0 lost.", 1, true), out)
      local methods = {}
      for _, request in ipairs(requests_after(before)) do
        if request.method ~= "GET" then methods[#methods + 1] = request.method .. " " .. request.target end
      end
      assert.are.equal(4, #methods)
      assert.truthy(methods[3]:find("^DELETE .*inventoryId=rule%-02"), methods[3])
      assert.truthy(methods[4]:find("^PUT .*inventoryId=rule%-02"), methods[4])
      local ids = {}
      for _, rule in ipairs(rules_on("examplebucket")) do ids[rule.Id] = rule.Schedule.Frequency end
      assert.are.same({ ["rule-01"] = "Daily", ["rule-02"] = "Weekly", ["rule-03"] = "Daily" }, ids)
      assert.are.equal(0, (run("plan --prune --detailed-exitcode " .. state)))
    end)

    it("puts a rule back when its replacement is refused, and finishes on a second run", function()
      assert.are.equal(0, (run("apply --auto-approve " .. write_state("first", state_of(5), "json"))))
      local state = write_state("second", state_of(5, nil, "weekly"), "json")
      -- bucket-two's first put is refused after its delete went through: the rule it replaced is put back.
      emulator:faults { { method = "PUT", bucket = "bucket-two", status = 403, code = "AccessDenied", times = 1 } }
      local code, out, err = run("apply --auto-approve --jobs 2 " .. state)
      assert.are.equal(1, code)
      assert.truthy(err:find("bucket-two: rule-01: replace failed (service error 403 AccessDenied", 1, true), err)
      assert.truthy(err:find("); previous rule restored\n", 1, true), err)
      assert.truthy(err:find("apply stopped part way: 0 created, 10 replaced, 0 deleted, 1 restored, 0 lost; "
        .. "run it again", 1, true), err)
      assert.falsy(out:find("Apply complete", 1, true))
      local frequencies = {}
      for _, rule in ipairs(rules_on("bucket-two")) do frequencies[#frequencies + 1] = rule.Schedule.Frequency end
      assert.are.same({ "Daily", "Daily", "Daily", "Daily", "Daily" }, frequencies)

      code, out, err = run("plan --detailed-exitcode " .. state)
      assert.are.equal(3, code, err)
      assert.truthy(out:find("Plan: 0 to create, 5 to replace, 0 to delete, 10 unchanged.", 1, true), out)
      code, out, err = run("apply --auto-approve --jobs 2 " .. state)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Apply complete: 0 created, 5 replaced, 0 deleted, 0 restored, 0 lost.", 1, true), out)
      assert.are.equal(0, (run("plan --detailed-exitcode " .. state)))
    end)

    it("puts a rule back when the new one names a destination bucket that does not exist", function()
      local state = state_of(2, { "examplebucket" })
      assert.are.equal(0, (run("apply --auto-approve " .. write_state("two", state, "lua"))))
      for _, rule in ipairs(state.buckets.examplebucket) do
        rule.Schedule.Frequency = "Weekly"
        rule.Destination.OSSBucketDestination.Bucket = "acs:oss:::no-such-bucket"
      end
      local code, out, err = run("apply --auto-approve " .. write_state("nowhere", state, "lua"))
      assert.are.equal(1, code, err)
      assert.truthy(err:find("examplebucket: rule-01: replace failed (service error 400 InvalidArgument: "
        .. "Destination bucket acs:oss:::no-such-bucket does not exist.", 1, true), err)
      assert.truthy(err:find("); previous rule restored\n", 1, true), err)
      assert.truthy(err:find("0 created, 0 replaced, 0 deleted, 1 restored, 0 lost", 1, true), err)
      assert.falsy(out:find("Apply complete", 1, true))
      local stored = rules_on("examplebucket")
      assert.are.same({ "rule-01", "rule-02" }, { stored[1].Id, stored[2].Id })
      for _, rule in ipairs(stored) do
        assert.are.equal("Daily", rule.Schedule.Frequency)
        assert.are.equal("acs:oss:::destination-bucket", rule.Destination.OSSBucketDestination.Bucket)
      end
    end)

    -- In this process (--jobs 1) and from worker processes (--jobs 2), which send the rule over their pipe.
    for _, case in ipairs { { "lua", 1 }, { "json", 2 } } do
      local format, jobs = case[1], case[2]
      it(("saves a rule it could not put back in a %s recovery file, exit 4 (--jobs %d)"):format(format, jobs),
        function()
        local state = state_of(1, { "examplebucket", "bucket-two" })
        assert.are.equal(0, (run("apply --auto-approve " .. write_state("kept", state, format))))
        local before = numbered_rule(1)
        local path = write_state("lossy", state_of(1, { "examplebucket", "bucket-two" }, "weekly"), format)
        -- The put and the restore after it are both refused on examplebucket; bucket-two is replaced.
        emulator:faults { { method = "PUT", bucket = "examplebucket", status = 403, code = "AccessDenied", times = 2 } }
        local code, out, err = run(("apply --auto-approve --jobs %d %s"):format(jobs, path))
        assert.are.equal(4, code, err)
        assert.truthy(err:find("examplebucket: rule-01: replace failed (service error 403 AccessDenied", 1, true), err)
        assert.truthy(err:find("putting the previous rule back failed too (service error 403 AccessDenied", 1, true),
          err)
        assert.truthy(err:find("0 created, 1 replaced, 0 deleted, 0 restored, 1 lost", 1, true), err)
        local recovery = err:match("saved in (%S+): apply that file to restore them")
        assert.are.equal(workdir .. "/lossy.recovery." .. format, recovery)
        assert.falsy(out:find("Apply complete", 1, true))
        assert.are.same({}, rules_on("examplebucket"))

        -- The file holds exactly what is missing, and applying it puts it back.
        code, out, err = run("validate " .. recovery)
        assert.are.equal(0, code, err)
        assert.truthy(out:find("ok (1 rule)", 1, true), out)
        code, out, err = run("apply --auto-approve " .. recovery)
        assert.are.equal(0, code, err)
        assert.truthy(out:find("Apply complete: 1 created, 0 replaced", 1, true), out)
        local stored = rules_on("examplebucket")
        assert.are.equal(1, #stored)
        assert.are.same(normalised(before), normalised(stored[1]))

        -- A second loss never overwrites the first file.
        emulator:faults { { method = "PUT", bucket = "examplebucket", status = 403, code = "AccessDenied", times = 2 } }
        code, _, err = run(("apply --auto-approve --jobs %d %s"):format(jobs, path))
        assert.are.equal(4, code, err)
        assert.truthy(err:find("saved in " .. workdir .. "/lossy.recovery-2." .. format, 1, true), err)
      end)
    end

    it("treats only NoSuchInventory as already deleted, not NoSuchBucket", function()
      assert.are.equal(0, (run("apply --auto-approve " .. write_state("one", state_of(1, { "examplebucket" }), "lua"))))
      local path = write_state("none", { buckets = { examplebucket = {} } }, "lua")
      emulator:faults { { method = "DELETE", status = 404, code = "NoSuchBucket", times = 1 } }
      local code, out, err = run("apply --auto-approve --prune " .. path)
      assert.are.equal(1, code, out)
      assert.truthy(err:find("examplebucket: delete rule-01 failed: service error 404 NoSuchBucket", 1, true), err)
      emulator:faults { { method = "DELETE", status = 404, code = "NoSuchInventory", times = 1 } }
      code, out, err = run("apply --auto-approve --prune " .. path)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Apply complete: 0 created, 0 replaced, 1 deleted", 1, true), out)
    end)

    it("plans and applies every bucket it can read, names the ones it cannot, and exits 1", function()
      local state = state_of(2, { "examplebucket", "absent-bucket", "bucket-three" })
      local path = write_state("partly", state, "json")
      local code, out, err = run("plan --detailed-exitcode " .. path)
      assert.are.equal(1, code, err)
      assert.truthy(err:find("absent-bucket: cannot read its rules: service error 404 NoSuchBucket", 1, true), err)
      assert.truthy(err:find("1 bucket(s) not planned, their rules could not be read: absent-bucket", 1, true), err)
      assert.truthy(out:find("examplebucket: 2 to create", 1, true), out)
      assert.truthy(out:find("bucket-three: 2 to create", 1, true), out)
      assert.truthy(out:find("Plan: 4 to create, 0 to replace, 0 to delete, 0 unchanged.", 1, true), out)

      code, out, err = run("apply --auto-approve " .. path)
      assert.are.equal(1, code, err)
      assert.truthy(err:find("absent-bucket: cannot read its rules", 1, true), err)
      assert.truthy(err:find("apply stopped part way: 4 created, 0 replaced, 0 deleted, 0 restored, 0 lost", 1, true),
        err)
      assert.are.equal(2, #rules_on("examplebucket"))
      assert.are.equal(2, #rules_on("bucket-three"))

      -- Nothing left to change on the others: still exit 1, the unread bucket is not as wanted either.
      code, out, err = run("apply --auto-approve " .. path)
      assert.are.equal(1, code, err)
      assert.truthy(out:find("No changes: 4 rules on 2 buckets are as wanted.", 1, true), out)
      assert.truthy(err:find("could not be read: absent-bucket", 1, true), err)
    end)

    it("finishes on a second run an apply killed part way", function()
      local state = write_state("killed", state_of(20, { "examplebucket" }), "lua")
      emulator:faults { { method = "PUT", delay = 0.05, times = 20 } }
      local launcher = assert(io.popen(command_line("apply --auto-approve " .. state) .. " >/dev/null 2>&1 & echo $!"))
      local pid = assert(tonumber(launcher:read("*l")))
      launcher:close()
      local puts = 0
      for _ = 1, 400 do
        puts = count_methods(emulator:requests()).PUT
        if puts >= 5 then break end
        os.execute("sleep 0.05")
      end
      os.execute("kill -9 " .. pid .. " 2>/dev/null")
      assert.is_true(puts >= 5, "the apply never got going")
      local stored = #rules_on("examplebucket")
      assert.is_true(stored >= 4 and stored < 20, "stored " .. stored)

      local code, out, err = run("apply --auto-approve " .. state)
      assert.are.equal(0, code, err)
      assert.truthy(out:find(("Apply complete: %d created"):format(20 - stored), 1, true), out)
      assert.are.equal(20, #rules_on("examplebucket"))
      assert.are.equal(0, (run("plan --detailed-exitcode " .. state)))
    end)

    it("refuses a file that is not a desired state, and an invalid one, before reading any bucket", function()
      local before = last_request_id()
      local code, _, err = run("plan " .. FIXTURES .. "rule.lua")
      assert.are.equal(2, code)
      assert.truthy(err:find("expected a desired state", 1, true), err)
      code, _, err = run("apply --auto-approve " .. FIXTURES .. "invalid_state.lua")
      assert.are.equal(2, code)
      assert.truthy(err:find("buckets.Not_A_Bucket", 1, true), err)
      assert.are.same({}, requests_after(before))
    end)
  end)

  describe("regions", function()
    -- Rules for sh-bucket: its inventory goes to a bucket of its own region.
    local function shanghai_rules(count, variant)
      local rules = {}
      for index = 1, count do
        local rule = numbered_rule(index, variant)
        rule.Destination.OSSBucketDestination.Bucket = "acs:oss:::sh-destination"
        rules[index] = rule
      end
      return rules
    end

    local function shanghai_rules_on()
      local code, out, err = run("list sh-bucket -o json --region cn-shanghai")
      assert.are.equal(0, code, err)
      return cjson.decode(out)
    end

    it("names the region a bucket is in when it is reached through another, and plans the others", function()
      for _, format in ipairs { "lua", "json" } do
        local state = { buckets = { examplebucket = { numbered_rule(1) }, ["sh-bucket"] = shanghai_rules(1) } }
        local code, out, err = run("plan " .. write_state("unlocated", state, format))
        assert.are.equal(1, code, err)
        local element = format == "lua" and 'region = "cn-shanghai"' or '"region": "cn-shanghai"'
        assert.truthy(err:find("sh-bucket: the bucket is in cn-shanghai (oss-cn-shanghai.aliyuncs.com): add "
          .. element .. "\n", 1, true), err)
        assert.truthy(out:find("examplebucket: 1 to create", 1, true), out)
      end
    end)

    for _, jobs in ipairs { 1, 2 } do
      it(("plans and applies buckets of two regions, one client each (--jobs %d)"):format(jobs), function()
        local state = {
          buckets = {
            examplebucket = { numbered_rule(1), numbered_rule(2) },
            ["sh-bucket"] = { region = "cn-shanghai", rules = shanghai_rules(3) },
          },
        }
        local path = write_state("regions", state, "lua")
        assert.are.equal(0, (run("validate " .. path)))
        local code, out, err = run("plan --detailed-exitcode " .. path)
        assert.are.equal(3, code, err)
        assert.truthy(out:find("sh-bucket: 3 to create", 1, true), out)
        code, out, err = run(("apply --auto-approve --jobs %d %s"):format(jobs, path))
        assert.are.equal(0, code, err)
        assert.truthy(out:find("Apply complete: 5 created, 0 replaced, 0 deleted, 0 restored, 0 lost.", 1, true), out)
        assert.are.equal(3, #shanghai_rules_on())
        assert.are.equal(2, #rules_on("examplebucket"))
        -- Each request went to its bucket's region: the V4 scope names it.
        for _, request in ipairs(emulator:requests()) do
          local bucket = request.target:match("^/([^/?]+)")
          local authorization
          for _, pair in ipairs(request.headers) do
            if pair[1] == "authorization" then authorization = pair[2] end
          end
          if bucket == "sh-bucket" or bucket == "examplebucket" then
            local region = bucket == "sh-bucket" and "cn-shanghai" or "cn-hangzhou"
            assert.truthy(authorization:find("/" .. region .. "/oss/", 1, true), authorization)
          end
        end
        assert.are.equal(0, (run("plan --detailed-exitcode " .. path)))
      end)
    end

    it("keeps a lost rule's region in the recovery file, so applying it reaches the bucket", function()
      local state = { buckets = { ["sh-bucket"] = { region = "cn-shanghai", rules = shanghai_rules(1) } } }
      assert.are.equal(0, (run("apply --auto-approve " .. write_state("sh", state, "json"))))
      state.buckets["sh-bucket"].rules = shanghai_rules(1, "weekly")
      emulator:faults { { method = "PUT", bucket = "sh-bucket", status = 503, code = "ServiceUnavailable", times = 6 } }
      local code, _, err = run("apply --auto-approve " .. write_state("sh-weekly", state, "json"))
      assert.are.equal(4, code, err)
      local recovery = assert(err:match("saved in (%S+): apply"), err)
      local saved = cjson.decode(read_file(recovery))
      assert.are.equal("cn-shanghai", saved.buckets["sh-bucket"].region)
      assert.are.equal("Daily", saved.buckets["sh-bucket"].rules[1].Schedule.Frequency)
      assert.are.same({}, shanghai_rules_on())
      assert.are.equal(0, (run("apply --auto-approve " .. recovery)))
      assert.are.equal(1, #shanghai_rules_on())
    end)

    it("says what is wrong with a bucket's region or endpoint before sending anything", function()
      local before = last_request_id()
      local state = {
        buckets = {
          ["sh-bucket"] = { region = "oss-cn-shanghai", rules = {} },
          examplebucket = { endpoint = "oss-cn-hangzhou.aliyuncs.com", rules = {}, zone = "a" },
          ["bucket-two"] = { region = "cn-shanghai" },
        },
      }
      local code, _, err = run("plan " .. write_state("badregions", state, "lua"))
      assert.are.equal(2, code, err)
      -- the same words oss.new would use for these values
      assert.truthy(err:find("buckets.sh-bucket.region: give the region id without the oss- prefix (cn-hangzhou, not "
        .. "oss-cn-hangzhou), got oss-cn-shanghai", 1, true), err)
      assert.truthy(err:find("buckets.examplebucket.endpoint: expected http://host[:port] or https://host[:port] with "
        .. "no path, got oss-cn-hangzhou.aliyuncs.com", 1, true), err)
      assert.truthy(err:find("buckets.examplebucket.zone: unknown element", 1, true), err)
      assert.truthy(err:find("buckets.bucket-two.rules: expected a list of rules", 1, true), err)
      assert.are.same({}, requests_after(before))
    end)
  end)

  describe("approval", function()
    it("requires --auto-approve without a terminal, and sends no change", function()
      local state = write_state("unapproved", state_of(2, { "examplebucket" }), "lua")
      local before = last_request_id()
      local code, out, err = run("apply " .. state)
      assert.are.equal(2, code, err)
      assert.truthy(out:find("Plan: 2 to create", 1, true), out)
      assert.truthy(err:find("apply needs --auto-approve when its input is not a terminal (nothing was changed)", 1,
        true), err)
      assert.are.same({ GET = 1, PUT = 0, DELETE = 0 }, count_methods(requests_after(before)))
    end)

    it("asks on a terminal, and applies only after yes", function()
      local state = write_state("asked", state_of(2, { "examplebucket" }), "lua")
      local function answering(answer)
        -- script(1) gives the command a pseudo-terminal; what is piped to script is typed on it.
        local command = command_line("apply " .. state):gsub(" </dev/null ", " ")
        local pipe = assert(io.popen(("printf '%s\\n' | script -qec %s /dev/null"):format(answer,
          shell_quote(command))))
        local text = pipe:read("*a")
        pipe:close()
        return text
      end
      local text = answering("no")
      assert.truthy(text:find("Do you want to apply these changes? Only 'yes' is accepted:", 1, true), text)
      assert.truthy(text:find("apply cancelled: nothing was changed", 1, true), text)
      assert.are.same({}, rules_on("examplebucket"))
      text = answering("yes")
      assert.truthy(text:find("Apply complete: 2 created", 1, true), text)
      assert.are.equal(2, #rules_on("examplebucket"))
    end)
  end)

  describe("progress line", function()
    it("is shown on a terminal's stderr during apply, and not with --no-progress", function()
      local state = write_state("terminal", state_of(3, { "examplebucket", "bucket-two" }), "lua")
      local function on_terminal(arguments)
        -- script(1) gives the command a pseudo-terminal, as an operator's shell would.
        local pipe = assert(io.popen("script -qec " .. shell_quote(command_line(arguments)) .. " /dev/null"))
        local text = pipe:read("*a")
        pipe:close()
        return text
      end
      local text = on_terminal("apply --auto-approve --jobs 2 " .. state)
      assert.truthy(text:find("\r\27[Kapply: 6/6  ", 1, true), text)
      assert.truthy(text:find("Apply complete: 6 created", 1, true), text)
      local empty = write_state("empty", state_of(0, BUCKETS), "lua")
      text = on_terminal("apply --auto-approve --no-progress --prune " .. empty)
      assert.truthy(text:find("Apply complete: 0 created, 0 replaced, 6 deleted, 0 restored, 0 lost.", 1, true), text)
      assert.falsy(text:find("\27[K", 1, true), text)
    end)

    it("rewrites one line in place when enabled, and prints nothing when not", function()
      local progress = require "oss.cli.progress"
      local path = workdir .. "/progress"
      local file = assert(io.open(path, "wb"))
      local shown = progress.new(2, true, file)
      shown:step(false, "a create r1")
      shown:step(true, "a create r2")
      shown:finish()
      file:close()
      assert.are.equal("\r\27[Kapply: 1/2  a create r1\r\27[Kapply: 2/2 (1 failed)  a create r2\r\27[K",
        read_file(path))
      file = assert(io.open(path, "wb"))
      shown = progress.new(2, false, file)
      shown:step(false, "x")
      shown:finish()
      file:close()
      assert.are.equal("", read_file(path))
    end)
  end)
end)
