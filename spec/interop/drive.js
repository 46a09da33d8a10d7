// Drives the official ali-oss SDK against an OSS endpoint and prints one JSON array of step results on stdout.
'use strict';

const OSS = require('ali-oss');
const urllib = require('urllib');

// Changes one character of the signature, keeping it in the same alphabet (hex for V4, base64 for V1).
function tamper(authorization) {
  const index = authorization.length - 3;
  const replacement = authorization[index] === 'a' ? 'b' : 'a';
  return authorization.slice(0, index) + replacement + authorization.slice(index + 1);
}

const tamperingUrllib = {
  request(url, params) {
    params.headers.authorization = tamper(params.headers.authorization);
    return urllib.request(url, params);
  },
};

function client(config, tampered) {
  return new OSS({
    endpoint: config.endpoint,
    region: config.region,
    bucket: config.bucket,
    accessKeyId: config.accessKeyId,
    accessKeySecret: config.accessKeySecret,
    stsToken: config.stsToken || undefined,
    authorizationV4: Boolean(config.v4),
    retryMax: 0,
    timeout: 10000,
    urllib: tampered ? tamperingUrllib : undefined,
  });
}

function inventoryOf(step) {
  return {
    id: step.id,
    isEnabled: step.isEnabled !== false,
    prefix: step.prefix,
    OSSBucketDestination: {
      format: 'CSV',
      accountId: step.accountId || '1000000000000000',
      rolename: step.rolename || 'AliyunOSSRole',
      bucket: step.destination,
      prefix: step.destinationPrefix,
    },
    frequency: step.frequency || 'Daily',
    includedObjectVersions: step.includedObjectVersions || 'All',
    optionalFields: { field: step.fields || ['Size', 'LastModifiedDate'] },
  };
}

async function run(config, step) {
  const oss = client(config, step.tamper);
  const bucket = config.bucket;
  switch (step.op) {
    case 'put':
      return { status: (await oss.putBucketInventory(bucket, inventoryOf(step))).status };
    case 'get': {
      const result = await oss.getBucketInventory(bucket, step.id);
      return { status: result.status, inventory: result.inventory };
    }
    case 'list': {
      const result = await oss.listBucketInventory(bucket, { continuationToken: step.token });
      return {
        status: result.status,
        ids: result.inventoryList.map(rule => rule.id),
        isTruncated: result.isTruncated,
        nextContinuationToken: result.nextContinuationToken || null,
      };
    }
    case 'delete':
      return { status: (await oss.deleteBucketInventory(bucket, step.id)).status };
    default:
      throw new Error(`unknown step ${step.op}`);
  }
}

async function main() {
  const config = JSON.parse(process.argv[2]);
  const results = [];
  for (const step of config.steps) {
    try {
      results.push(Object.assign({ op: step.op, ok: true }, await run(config, step)));
    } catch (error) {
      results.push({
        op: step.op,
        ok: false,
        status: error.status || null,
        code: error.code || error.name || null,
        message: error.message,
        requestId: error.requestId || null,
      });
    }
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch(error => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
