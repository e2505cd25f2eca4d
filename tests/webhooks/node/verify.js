// Verifies webhook signatures with the official Node SDK's own code paths.
// stdin: [{scheme: "ed25519" | "rsa", body: <base64 of the raw bytes>, signature, key}, ...]
// stdout: [true | false, ...], one verdict per case.
'use strict';
const { WebhookManager } = require('@gohighlevel/api-client');

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const manager = new WebhookManager(silent, null, null);

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', () => {
  const verdicts = JSON.parse(input).map((c) => {
    const body = Buffer.from(c.body, 'base64');
    return c.scheme === 'ed25519'
      ? manager.verifyEd25519Signature(body, c.signature, c.key)
      : manager.verifySignature(body, c.signature, c.key);
  });
  process.stdout.write(JSON.stringify(verdicts));
});
