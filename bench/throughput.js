// Throughput in the official Node SDK: sequential putBucketInventory calls over kept-alive connections to a sink.

// usage: node throughput.js ENDPOINT [ROUNDS]   (the runner asks for one round at a time, alternating contenders)
'use strict';

const path = require('path');
const OSS = require('ali-oss');
const measure = require(path.join(__dirname, 'measure.js'));

const client = new OSS({
  endpoint: process.argv[2],
  region: 'oss-cn-hangzhou',
  accessKeyId: 'bench-key-id',
  accessKeySecret: 'bench-key-secret',
  authorizationV4: true,
  bucket: 'examplebucket',
  retryMax: 0,
});

const inventory = require(path.join(__dirname, 'ali_oss_rule.js'));

async function put(count) {
  const started = measure.now();
  for (let i = 0; i < count; i++) {
    const result = await client.putBucketInventory('examplebucket', inventory);
    if (result.status !== 200) throw new Error(`put answered ${result.status}`);
  }
  return [count, measure.now() - started];
}

async function main() {
  const count = measure.smoke ? 5 : 3000;
  const rounds = Number(process.argv[3]) || (measure.smoke ? 3 : 7);
  if (!measure.smoke) await put(count); // each round is a fresh process: V8 needs the time to optimise
  await measure.rate('throughput.ali-oss', rounds, () => put(count));
}

main().catch(error => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
