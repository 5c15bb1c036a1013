#!/usr/bin/env node
// Starts s3rver (npm, the real S3-compatible test server) on 127.0.0.1 for the store and sync
// tests, creates the buckets named on the command line, and prints "LISTENING <port>" once it
// accepts connections (the line tests/support/testing.h waits for).
//
//   node s3rver_main.js --directory DIR [--port N] [--service-endpoint localhost] [bucket ...]
//
// Run it with `node --openssl-legacy-provider`: s3rver encrypts ListObjectsV2 continuation tokens
// with DES, which Node >= 17 (OpenSSL 3) only has in the legacy provider; without it every
// listing that needs a second page fails with 500 InternalError.
//
// s3rver accepts any secret for its access key "S3RVER" (it does not check SigV4 signatures);
// other access key ids are refused with InvalidAccessKeyId.
'use strict';

const fs = require('fs');
const path = require('path');

function loadS3rver() {
  const candidates = [
    process.env.AIRLOCK_NODE_MODULES,
    path.join(__dirname, '..', '..', 'node_modules'),
  ].filter(Boolean);
  for (const dir of candidates) {
    try {
      return require(path.join(dir, 's3rver'));
    } catch (err) {
      if (err.code !== 'MODULE_NOT_FOUND') throw err;
    }
  }
  return require('s3rver');
}

const args = process.argv.slice(2);
let directory = null;
let port = 0;
let serviceEndpoint = 'amazonaws.com';
const buckets = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--directory') directory = args[++i];
  else if (args[i] === '--port') port = Number(args[++i]);
  else if (args[i] === '--service-endpoint') serviceEndpoint = args[++i];
  else buckets.push(args[i]);
}
if (!directory) {
  console.error('usage: s3rver_main.js --directory DIR [--port N] [bucket ...]');
  process.exit(2);
}
fs.mkdirSync(directory, { recursive: true });

const S3rver = loadS3rver();
const server = new S3rver({
  address: '127.0.0.1',
  port,
  silent: true,
  directory,
  serviceEndpoint,
  configureBuckets: buckets.map(name => ({ name, configs: [] })),
});
server.run().then(({ port: bound }) => {
  console.log(`LISTENING ${bound}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.close().finally(() => process.exit(0));
  });
}
