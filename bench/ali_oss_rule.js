// The reference page's full rule (examples/reference_rules.lua, rules.full) in the keys ali-oss's putBucketInventory takes.
// putBucketInventory itself carries only `prefix` into <Filter>; `filter` holds every Filter element for the bench that
// builds the body the way putBucketInventory does, but complete.
'use strict';

module.exports = {
  id: 'report1',
  isEnabled: true,
  prefix: 'Pics/',
  filter: {
    prefix: 'Pics/', lastModifyBeginTimeStamp: 1637883649, lastModifyEndTimeStamp: 1638347592,
    lowerSizeBound: 1024, upperSizeBound: 1048576, storageClass: 'Standard,IA',
  },
  OSSBucketDestination: {
    format: 'CSV', accountId: '100000000000000', rolename: 'AliyunOSSRole', bucket: 'destbucket',
    prefix: 'prefix1/', encryption: { 'SSE-KMS': { keyId: 'keyId' } },
  },
  frequency: 'Daily',
  includedObjectVersions: 'All',
  optionalFields: {
    field: ['Size', 'LastModifiedDate', 'TransitionTime', 'ETag', 'StorageClass', 'IsMultipartUploaded',
      'EncryptionStatus'],
  },
};
