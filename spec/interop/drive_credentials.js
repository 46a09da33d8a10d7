// Drives the official credentials library (@alicloud/credentials) against the emulator's platform and prints,
// as one JSON object on stdout, the credential it arrived at or the error it gave.
'use strict';

const http = require('http');
const { default: Credential, Config } = require('@alicloud/credentials');

// The library reaches instance metadata at this fixed address, which has no option or variable to change it.
const METADATA_ADDRESS = '100.100.100.200';

// Connections to the metadata address go to the emulator instead, the way a NAT rule would send them: the
// library's requests, Host header included, stay exactly what it sends on an instance.
function routeMetadataTo(port) {
  const createConnection = http.Agent.prototype.createConnection;
  http.Agent.prototype.createConnection = function (options, callback) {
    if (options.host === METADATA_ADDRESS) {
      options = Object.assign({}, options, { host: '127.0.0.1', port });
    }
    return createConnection.call(this, options, callback);
  };
}

async function main() {
  const config = JSON.parse(process.argv[2]);
  if (config.metadataPort) {
    routeMetadataTo(config.metadataPort);
  }
  const credential = new Credential(new Config(config.credential));
  const results = [];
  for (let index = 0; index < (config.times || 1); index++) {
    try {
      const model = await credential.getCredential();
      results.push({
        ok: true,
        accessKeyId: model.accessKeyId,
        accessKeySecret: model.accessKeySecret,
        securityToken: model.securityToken,
        type: model.type,
        providerName: model.providerName,
      });
    } catch (error) {
      results.push({ ok: false, message: error.message });
    }
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
}

main().catch(error => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
