// Parse in the official Node SDK: listBucketInventory's reading of a page (parseXML, then formatInventoryConfig).
'use strict';

const fs = require('fs');
const path = require('path');
const OSS = require('ali-oss');
const { formatInventoryConfig } = require('ali-oss/lib/common/utils/formatInventoryConfig');
const measure = require(path.join(__dirname, 'measure.js'));

const page = fs.readFileSync(process.argv[2]);
const client = new OSS({ region: 'oss-cn-hangzhou', accessKeyId: 'bench-key-id', accessKeySecret: 'x' });

// What lib/common/bucket/listBucketInventory.js does with result.data once client.request has read the body.
async function parse() {
  const data = await client.parseXML(page);
  const rules = formatInventoryConfig(data.InventoryConfiguration, true);
  if (rules.length !== 100 || data.IsTruncated !== 'true') throw new Error('the page did not parse');
}

// parseXML answers through a promise, so rounds are timed around awaited calls rather than with perCall.
async function main() {
  const calls = measure.smoke ? 3 : 40;
  const rounds = measure.smoke ? 3 : 15;
  for (let i = 0; i < (measure.smoke ? 0 : calls * 2); i++) await parse();
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const started = measure.now();
    for (let i = 0; i < calls; i++) await parse();
    samples.push(((measure.now() - started) * 1e6) / calls);
  }
  measure.emit('parse.ali-oss', measure.summary(samples), 'us');
}

main().catch(error => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
