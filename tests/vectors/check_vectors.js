'use strict';
/* The protocol test vectors against the Node client library. */
const fs = require('fs');
const path = require('path');
const cg = require(path.join(__dirname, '..', '..', 'client', 'node', 'capgate.js'));

const doc = JSON.parse(fs.readFileSync(path.join(__dirname, 'frames.json'), 'utf8'));
let failures = 0;
for (const v of doc.accept) {
  const key = Buffer.from(v.key, 'hex');
  const want = Buffer.from(v.datagram, 'hex');
  const got = cg.seal(key, v.direction, v.seq, v.type, v.request_id,
    Buffer.from(v.channel, 'latin1'), Buffer.from(v.body, 'utf8'), v.status, v.nfds);
  const f = cg.openFrame(key, v.direction, want, v.seq, v.nfds);
  const ok = got.equals(want) && f.type === v.type && f.seq === v.seq &&
    f.requestId === v.request_id && f.status === v.status &&
    f.channel === v.channel && f.body.toString('utf8') === v.body && f.nfds === v.nfds;
  if (!ok) { failures++; console.log('FAIL accept', v.name); }
}
for (const v of doc.reject) {
  let err = 'accepted';
  try {
    cg.openFrame(Buffer.from(v.key, 'hex'), v.direction, Buffer.from(v.datagram, 'hex'),
      v.expected_seq, v.nfds_received);
  } catch (e) {
    err = e instanceof cg.TransportError ? e.message : `threw ${e}`;
  }
  if (err !== v.error) { failures++; console.log('FAIL reject', v.name, 'got', err, 'want', v.error); }
}
console.log(`node: ${doc.accept.length} accepted, ${doc.reject.length} rejected vectors, ${failures} failures`);
process.exit(failures ? 1 : 0);
