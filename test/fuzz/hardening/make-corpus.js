'use strict';
// Writes the seed corpora of the hardening fuzzers (test/fuzz/corpus/<target>/): real messages as
// socket.io-client, engine.io, the ws package and the y-websocket provider produce them, framed the
// way each target reads its input (see the comment at the top of each *_fuzz.cpp).
//   node test/fuzz/hardening/make-corpus.js
const fs = require('node:fs');
const path = require('node:path');
const Y = require('yjs');
const syncProtocol = require('y-protocols/sync');
const awarenessProtocol = require('y-protocols/awareness');
const encoding = require('lib0/encoding');

const corpus = path.join(__dirname, '..', 'corpus');
function write(target, name, bytes) {
  const dir = path.join(corpus, target);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, name), Buffer.from(bytes));
}

// ---- sio_packet: byte 0 = maxAttachments (low 4 bits), then the wire text ----
const sio = {
  'connect': '40',
  'connect-auth': '40{"token":"abc"}',
  'connect-nsp': '40/admin,{"x":1}',
  'event': '42["hey","Jude"]',
  'event-ack': '4212["hello",{"a":[1,2,{"b":null}]}]',
  'event-nsp-ack': '42/chat,7["msg","\\u00e9\\ud83d\\ude00"]',
  'ack': '4312[]',
  'binary-event': '451-["ev",{"_placeholder":true,"num":0}]',
  'binary-ack': '462-/admin,9[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
  'disconnect': '41/admin,',
  'number-event': '42[42,1]',
  'ping-pong': '3',
  'polling-payload': '40\x1e42["a",1]\x1ebAQID',
  'nested': '42["deep",' + '['.repeat(64) + ']'.repeat(64) + ']',
};
for (const [name, text] of Object.entries(sio)) write('sio_packet', name, Buffer.concat([Buffer.from([10]), Buffer.from(text)]));

// ---- ws_frame: byte 0 = chunk step, then client frames (masked) ----
function clientFrame(opcode, payload, fin = true, mask = [0x37, 0xfa, 0x21, 0x3d]) {
  payload = Buffer.from(payload);
  const n = payload.length;
  const head = [(fin ? 0x80 : 0) | opcode];
  if (n < 126) head.push(0x80 | n);
  else if (n <= 0xffff) head.push(0x80 | 126, n >> 8, n & 0xff);
  else {
    head.push(0x80 | 127, 0, 0, 0, 0);
    head.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }
  const body = Buffer.alloc(n);
  for (let i = 0; i < n; i++) body[i] = payload[i] ^ mask[i & 3];
  return Buffer.concat([Buffer.from(head), Buffer.from(mask), body]);
}
const ws = {
  'text': [clientFrame(1, '42["hey","Jude"]')],
  'binary': [clientFrame(2, Buffer.from([0, 0, 1, 0]))],
  'fragmented': [clientFrame(1, 'Hel', false), clientFrame(9, 'ping'), clientFrame(0, 'lo')],
  'medium': [clientFrame(2, Buffer.alloc(300, 7))],
  'ping-pong-close': [clientFrame(9, ''), clientFrame(10, 'x'), clientFrame(8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]))],
  'utf8': [clientFrame(1, 'é中😀')],
};
for (const [name, frames] of Object.entries(ws)) write('ws_frame', name, Buffer.concat([Buffer.from([3]), ...frames]));

// ---- ws_inflate: the same layout, with compressed (RSV1) messages as clients send them ----
const zlib = require('node:zlib');
// What a permessage-deflate client puts in a frame: raw deflate, sync flush, 00 00 FF FF dropped.
const deflated = (s) => {
  const z = zlib.deflateRawSync(Buffer.from(s), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return z.subarray(0, z.length - 4);
};
const chat = JSON.stringify(Array.from({ length: 40 }, (_, i) => ({ user: `u${i % 5}`, text: `message ${i}` })));
const inflate = {
  'compressed-text': [clientFrame(0x40 | 1, deflated('42["chat",' + chat + ']'))],
  'compressed-fragments': [clientFrame(0x40 | 1, deflated(chat).subarray(0, 7), false), clientFrame(0, deflated(chat).subarray(7))],
  'compressed-binary': [clientFrame(0x40 | 2, deflated(Buffer.alloc(500, 3)))],
  'bomb': [clientFrame(0x40 | 2, deflated(Buffer.alloc(200000)))],
  'mixed': [clientFrame(1, 'plain'), clientFrame(0x40 | 1, deflated('hello hello hello'))],
  'offer': [Buffer.from('permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=10')],
};
for (const [name, frames] of Object.entries(inflate)) write('ws_inflate', name, Buffer.concat([Buffer.from([3]), ...frames]));

// ---- ysync_message / awareness: real y-websocket messages ----
const doc = new Y.Doc();
doc.clientID = 1;
const updates = [];
doc.on('update', (u) => updates.push(u));
doc.getText('t').insert(0, 'hello 😀');
doc.getMap('m').set('k', { v: [1, 'x'] });
doc.getText('t').delete(1, 2);
doc.getArray('a').insert(0, [new Uint8Array([1, 2]), new Y.Map()]);
const peer = new Y.Doc();
peer.clientID = 2;
peer.getText('t').insert(0, 'peer');

const msg = (fn) => {
  const e = encoding.createEncoder();
  fn(e);
  return encoding.toUint8Array(e);
};
write('ysync_message', 'sync-step1-empty', msg((e) => syncProtocol.writeSyncStep1(e, new Y.Doc())));
write('ysync_message', 'sync-step1', msg((e) => syncProtocol.writeSyncStep1(e, doc)));
write('ysync_message', 'sync-step2', msg((e) => syncProtocol.writeSyncStep2(e, doc, Y.encodeStateVector(peer))));
write('ysync_message', 'sync-step2-peer', msg((e) => syncProtocol.writeSyncStep2(e, peer)));
updates.forEach((u, i) => write('ysync_message', `update-${i}`, msg((e) => syncProtocol.writeUpdate(e, u))));

const aw = new awarenessProtocol.Awareness(doc);
aw.setLocalState({ user: { name: 'ana', color: '#ff0000' }, cursor: { anchor: 3, head: 5 } });
const awUpdate = awarenessProtocol.encodeAwarenessUpdate(aw, [doc.clientID]);
const aw2 = new awarenessProtocol.Awareness(peer);
aw2.setLocalState({ user: { name: 'bo' } });
const awBoth = awarenessProtocol.encodeAwarenessUpdate(aw2, [peer.clientID]);
aw.setLocalState(null);
const awRemoved = awarenessProtocol.encodeAwarenessUpdate(aw, [doc.clientID]);
for (const [name, u] of Object.entries({ set: awUpdate, peer: awBoth, removed: awRemoved })) {
  write('ysync_message', `awareness-${name}`, msg((e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, u);
  }));
}
write('ysync_message', 'query-awareness', [3]);
// Regression seeds (test/js/hardening-docs.test.js): a map value nested past lib0's depth limit,
// and an awareness state nested past the awareness depth limit.
const deepAny = [1, 1, 99, 0, 0x28, 1, 1, 0x6d, 1, 0x6b, 1, ...Array(300).fill([117, 1]).flat(), 126, 0];
write('ysync_message', 'regression-deep-any', msg((e) => syncProtocol.writeUpdate(e, Uint8Array.from(deepAny))));
{
  const inner = encoding.createEncoder();
  encoding.writeVarUint(inner, 1);
  encoding.writeVarUint(inner, 4242);
  encoding.writeVarUint(inner, 1);
  encoding.writeVarString(inner, '['.repeat(300) + ']'.repeat(300));
  write('ysync_message', 'regression-deep-awareness', msg((e) => {
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint8Array(e, encoding.toUint8Array(inner));
  }));
  const u = encoding.toUint8Array(inner);
  write('awareness', 'regression-deep-state', Buffer.concat([Buffer.from([0, u.length & 0xff, u.length >> 8]), Buffer.from(u)]));
}
write('ysync_message', 'auth-denied', msg((e) => {
  encoding.writeVarUint(e, 2);
  encoding.writeVarUint(e, 0);
  encoding.writeVarString(e, 'no');
}));

// awareness_fuzz: chunks of `conn:u8 len:u16le bytes`.
const chunk = (conn, u) => Buffer.concat([Buffer.from([conn, u.length & 0xff, u.length >> 8]), Buffer.from(u)]);
write('awareness', 'set', chunk(0, awUpdate));
write('awareness', 'set-then-remove', Buffer.concat([chunk(0, awUpdate), chunk(0, awRemoved)]));
write('awareness', 'two-connections', Buffer.concat([chunk(0, awUpdate), chunk(1, awBoth), chunk(1, awUpdate)]));
aw.destroy();
aw2.destroy();
console.log('corpora written under', corpus);
