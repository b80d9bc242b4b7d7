'use strict';
// Pre-encodes the y-websocket messages the C++ load generator sends in the Yjs throughput workload:
//   node make-updates.js <writers> <updates-per-writer> <out-file>
// Writer w (clientID 1000+w) pushes strings "T0000000000000000 w<w> #<i> ..." (~48 bytes) into the
// Y.Array "a<w>"; each push's update only refers to that writer's own earlier items, so every stream
// integrates on its own, in any interleaving with the others. The 16 zeros are the timestamp field
// the load generator overwrites. File: u32 writers, u32 count, then writers x count records of
// u32 length + message bytes ([0 sync, 2 update, varuint length, update v1]); little-endian.

const fs = require('node:fs');
const Y = require('yjs');

const writers = Number(process.argv[2] || 10);
const count = Number(process.argv[3] || 10000);
const file = process.argv[4];

function varuint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

const chunks = [];
const u32 = (n) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
chunks.push(u32(writers), u32(count));
for (let w = 0; w < writers; w++) {
  const doc = new Y.Doc();
  doc.clientID = 1000 + w;
  const arr = doc.getArray(`a${w}`);
  const updates = [];
  doc.on('update', (u) => updates.push(u));
  for (let i = 0; i < count; i++) arr.push([`T0000000000000000 w${w} #${i} `.padEnd(48, '.')]);
  for (const u of updates) {
    const msg = Buffer.concat([Buffer.from([0, 2, ...varuint(u.length)]), Buffer.from(u)]);
    chunks.push(u32(msg.length), msg);
  }
}
fs.writeFileSync(file, Buffer.concat(chunks));
process.stdout.write(JSON.stringify({ writers, count, bytes: fs.statSync(file).size }) + '\n');
