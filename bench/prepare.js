// Prepare in the official Node SDK: putBucketInventory's own XML building and request signing, minus the network.
'use strict';

const path = require('path');
const OSS = require('ali-oss');
const { obj2xml } = require('ali-oss/lib/common/utils/obj2xml');
const { createRequest } = require('ali-oss/lib/common/utils/createRequest');
const { checkBucketName } = require('ali-oss/lib/common/utils/checkBucketName');
const signUtils = require('ali-oss/lib/common/signUtils');
const { perCall } = require(path.join(__dirname, 'measure.js'));

const BUCKET = 'examplebucket';
const client = new OSS({
  region: 'oss-cn-hangzhou',
  accessKeyId: 'bench-key-id',
  accessKeySecret: 'bench-key-secret',
  authorizationV4: true,
  bucket: BUCKET,
});

// putBucketInventory itself carries only Prefix in Filter, so the body object is built the way it builds it, with
// every element of the rule, and serialised by the same obj2xml call.
const rule = require(path.join(__dirname, 'ali_oss_rule.js'));

// putBucketInventory (lib/common/bucket/putBucketInventory.js) up to `this.request`.
function bodyOf(inventory) {
  const destination = inventory.OSSBucketDestination;
  return obj2xml({
    InventoryConfiguration: {
      Id: inventory.id,
      IsEnabled: inventory.isEnabled,
      Filter: inventory.filter,
      Destination: {
        OSSBucketDestination: {
          Format: destination.format,
          AccountId: destination.accountId,
          RoleArn: `acs:ram::${destination.accountId}:role/${destination.rolename}`,
          Bucket: `acs:oss:::${destination.bucket}`,
          Prefix: destination.prefix || '',
          Encryption: destination.encryption || '',
        },
      },
      Schedule: { Frequency: inventory.frequency },
      IncludedObjectVersions: inventory.includedObjectVersions,
      OptionalFields: { Field: inventory.optionalFields.field },
    },
  }, { headers: true, firstUpperCase: true });
}

// What client.request does before urllib: createRequest computes Content-MD5, signs V4 and builds the URL.
function prepare() {
  checkBucketName(BUCKET);
  const params = client._bucketRequestParams('PUT', BUCKET, { inventory: '', inventoryId: rule.id }, {});
  params.successStatuses = [200];
  params.mime = 'xml';
  params.content = bodyOf(rule);
  const request = createRequest.call(client, params);
  if (!request.params.headers.authorization) throw new Error('not signed');
}

const body = bodyOf(rule);
const md5 = require('crypto').createHash('md5').update(body).digest('base64');
function sign() {
  const headers = {
    'x-oss-date': '20231114T221320Z', 'x-oss-content-sha256': 'UNSIGNED-PAYLOAD', 'Content-Type': 'application/xml',
    'Content-MD5': md5, 'User-Agent': client.userAgent,
  };
  const authorization = signUtils.authorizationV4('bench-key-id', 'bench-key-secret', 'cn-hangzhou', 'PUT',
    { headers, queries: { inventory: null, inventoryId: rule.id } }, BUCKET);
  if (!authorization) throw new Error('not signed');
}

perCall('prepare.ali-oss', prepare);
perCall('prepare.xml_write.ali-oss', () => bodyOf(rule));
perCall('prepare.sign_v4.ali-oss', sign);
