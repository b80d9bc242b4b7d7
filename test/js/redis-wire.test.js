'use strict';
// The Redis adapter's wire codec (native/socketio/notepack.*) against the real notepack.io and the
// real @socket.io/redis-adapter: bytes they produce decode to what JSON.stringify prints for
// notepack.decode (binaries as placeholders), and what we encode is byte for byte what
// notepack.encode writes, so stock nodes decode it to the same values.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const notepack = require('notepack.io');
const { startRedis } = require('./helpers/redis-server');

const ROOT = path.resolve(__dirname, '..', '..');

function findTool() {
  const candidates = [
    process.env.COLLABIO_TOOLS_DIR && path.join(process.env.COLLABIO_TOOLS_DIR, 'redis_wire_tool'),
    path.join(ROOT, 'build', 'native', 'redis_wire_tool'),
  ];
  const found = candidates.find((p) => p && fs.existsSync(p));
  if (!found) throw new Error('redis_wire_tool is not built: run `node scripts/test.js --native-only` first');
  return found;
}

// One tool process per batch of requests.
function tool(requests) {
  const input = requests.map((r) => JSON.stringify(r)).join('\n') + '\n';
  const r = spawnSync(findTool(), [], { input, encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, requests.length);
  return lines;
}
const decodeAll = (buffers) => tool(buffers.map((b) => ({ op: 'decode', hex: Buffer.from(b).toString('hex') })));
const encodeAll = (items) =>
  tool(items.map(({ json, attachments }) => ({ op: 'encode', json, attachments: attachments.map((a) => a.toString('hex')) })));

// socket.io-parser's deconstructPacket: binaries become placeholders, in order of appearance.
function deconstruct(value, attachments = []) {
  if (Buffer.isBuffer(value) || value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    attachments.push(Buffer.from(value instanceof ArrayBuffer ? new Uint8Array(value) : value));
    return { json: { _placeholder: true, num: attachments.length - 1 }, attachments };
  }
  if (Array.isArray(value)) return { json: value.map((v) => deconstruct(v, attachments).json), attachments };
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = deconstruct(v, attachments).json;
    return { json: out, attachments };
  }
  return { json: value, attachments };
}
// What a JavaScript node sees after notepack.decode, in the placeholder form.
function expected(bytes) {
  const { json, attachments } = deconstruct(notepack.decode(Buffer.from(bytes)));
  return { text: JSON.stringify(json === undefined ? null : json), attachments };
}

function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Values at every boundary notepack's encoder switches format.
const NUMBERS = [0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2 ** 53 - 1, 2 ** 53, 2 ** 63,
  -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -(2 ** 53), -(2 ** 62),
  0.5, -0.5, 1.5e-7, 1e-7, 123.456, 1e21, 1e300, -1e-300, Number.MIN_VALUE, Number.MAX_VALUE, 0.1 + 0.2, -0];
const STRINGS = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'x'.repeat(65535),
  'x'.repeat(65536), 'héllo wörld', '日本語', '😀 emoji', 'quote " backslash \\ slash /', 'ctl \u0000\u0001\u001f\n\t\r\b\f',
  '\u2028\u2029', '_placeholder'];
const BINARIES = [0, 1, 255, 256, 65535, 65536].map((n) => Buffer.alloc(n, n & 0xff));

function randomValue(rnd, depth = 0) {
  const pick = Math.floor(rnd() * (depth > 3 ? 6 : 9));
  switch (pick) {
    case 0: return NUMBERS[Math.floor(rnd() * NUMBERS.length)];
    case 1: return STRINGS[[0, 1, 2, 3, 8, 9, 10, 11, 12, 13][Math.floor(rnd() * 10)]];
    case 2: return rnd() < 0.5;
    case 3: return null;
    case 4: return Math.round((rnd() - 0.5) * 2 ** Math.floor(rnd() * 60));
    case 5: return Buffer.from(Array.from({ length: Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256)));
    case 6: return Array.from({ length: Math.floor(rnd() * 20) }, () => randomValue(rnd, depth + 1));
    default: {
      const o = {};
      const n = Math.floor(rnd() * 18);
      for (let i = 0; i < n; i++) o[`k${i}_${Math.floor(rnd() * 1000)}`] = randomValue(rnd, depth + 1);
      return o;
    }
  }
}

function corpus() {
  const values = [...NUMBERS, ...STRINGS, ...BINARIES, true, false, null,
    Array.from({ length: 15 }, (_, i) => i), Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 65536 }, () => 1),
    Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i])),
    ['event', { nested: { deep: [1, 'two', { three: Buffer.from([3]) }] } }, Buffer.from('bin')],
    { type: 2, data: ['ev', { a: 1 }, Buffer.from([1, 2, 3])], nsp: '/' },
    new Uint8Array([9, 8, 7]), new Uint16Array([1, 2]).buffer];
  const rnd = mulberry32(20);
  for (let i = 0; i < 400; i++) values.push(randomValue(rnd));
  return values;
}

test('what notepack.encode writes decodes to what JavaScript sees, binaries as placeholders', () => {
  const values = corpus();
  const bytes = values.map((v) => notepack.encode(v));
  const answers = decodeAll(bytes);
  answers.forEach((a, i) => {
    assert.ok(a.ok, `value ${i}: ${a.error}`);
    const want = expected(bytes[i]);
    assert.equal(a.json, want.text, `value ${i}`);
    assert.deepEqual(a.attachments, want.attachments.map((b) => b.toString('hex')), `value ${i}`);
  });
});

test('what we encode is byte for byte what notepack.encode writes', () => {
  // JSON-representable values (no Date, no undefined) with their binaries as attachments.
  // Integers beyond 64 bits are left out: notepack writes them as garbled uint 64 / int 64 (its
  // hi/lo split overflows), we write float 64 (docs/LIMITS.md).
  const huge = (v) => (typeof v === 'number' ? Number.isInteger(v) && (v >= 2 ** 64 || v < -(2 ** 63))
    : v !== null && typeof v === 'object' && !Buffer.isBuffer(v) && Object.values(v).some(huge));
  const values = corpus().filter((v) => !huge(v));
  const items = values.map((v) => {
    const { json, attachments } = deconstruct(v);
    return { json: JSON.stringify(json), attachments };
  });
  const answers = encodeAll(items);
  answers.forEach((a, i) => {
    assert.ok(a.ok, `value ${i}: ${a.error}`);
    // notepack writes every binary-like value as a Buffer: compare with the Buffer form.
    const reconstructed = notepack.decode(notepack.encode(values[i]));
    const ours = Buffer.from(a.hex, 'hex');
    const theirs = notepack.encode(reconstructed);
    if (!ours.equals(theirs)) {
      let at = 0;
      while (ours[at] === theirs[at]) at++;
      assert.fail(`value ${i}: bytes differ at ${at}: ours ${ours.subarray(Math.max(0, at - 8), at + 12).toString('hex')}, ` +
        `notepack ${theirs.subarray(Math.max(0, at - 8), at + 12).toString('hex')}`);
    }
    assert.deepEqual(notepack.decode(ours), reconstructed, `value ${i}`);
  });
});

test('notepack quirks: undefined, Dates, ArrayBuffer and other extensions, float 32, bad UTF-8, number keys', () => {
  const raw = [
    notepack.encode([1, undefined, 2]), // fixext 1 type 0 in an array: null
    notepack.encode({ a: 1, b: undefined }), // skipped by the encoder
    Buffer.from('82a161d40000a16201', 'hex'), // {a: undefined, b: 1}: the property is omitted
    notepack.encode(new Date(0)), notepack.encode(new Date(1700000000123)), notepack.encode(new Date(-1)),
    notepack.encode(new Date(2 ** 40 * 1000 + 5)), notepack.encode({ when: new Date(Date.UTC(2024, 1, 29, 23, 59, 59, 999)) }),
    Buffer.from('d7000000018bcfe56800', 'hex'), // notepack's old Date (fixext 8, type 0)
    Buffer.from('c70300010203', 'hex'), // ext 8 type 0: an ArrayBuffer, a binary for socket.io
    Buffer.from('d5050102', 'hex'), // fixext 2 type 5: [5, Buffer]
    Buffer.from('c702fe0a0b', 'hex'), // ext 8 type -2: [-2, Buffer]
    Buffer.from('ca3fc00000', 'hex'), // float 32: 1.5
    Buffer.from('ca7fc00000', 'hex'), // float 32 NaN: null
    Buffer.from('cb7ff0000000000000', 'hex'), // Infinity: null
    Buffer.from('a4ff61e282', 'hex'), // invalid UTF-8: U+FFFD as Buffer#toString
    Buffer.from('a6eda080f09f98', 'hex'), // a surrogate and a truncated 4-byte sequence
    Buffer.from('cf0020000000000001', 'hex'), // uint 64 beyond 2^53: rounded as JavaScript does
    Buffer.from('d3ffffffffffffffff', 'hex'), // int 64 -1
    Buffer.from('81a3616263c0', 'hex'), // {abc: null}
  ];
  const answers = decodeAll(raw);
  answers.forEach((a, i) => {
    assert.ok(a.ok, `${i}: ${a.error}`);
    const want = expected(raw[i]);
    assert.equal(a.json, want.text, `${i} (${raw[i].toString('hex')})`);
    assert.deepEqual(a.attachments, want.attachments.map((b) => b.toString('hex')), `${i}`);
  });
  // A number and nil as keys become property names, as String(key).
  const keys = Buffer.from('8301a162a17a01c003', 'hex');
  const [k] = decodeAll([keys]);
  assert.ok(k.ok, k.error);
  assert.equal(k.json, expected(keys).text);
});

test('malformed msgpack is refused with a reason, never a crash', () => {
  const bad = ['', 'c1', '92', '93a161', 'a5616263', 'c4056162', 'dd7fffffff', 'df7fffffff', '0000', 'c7020001',
    'c70cff00', '81c4016100', '8180c0', '91'.repeat(300) + 'c0'];
  const answers = decodeAll(bad.map((h) => Buffer.from(h, 'hex')));
  answers.forEach((a, i) => {
    assert.equal(a.ok, false, `${bad[i]} should be refused`);
    assert.match(a.error, /^msgpack: /);
  });
  const enc = encodeAll([
    { json: '["ev",{"_placeholder":true,"num":1}]', attachments: [Buffer.from('a')] },
    { json: '["ev",{"_placeholder":true,"num":"0"}]', attachments: [Buffer.from('a')] },
    { json: '[1,', attachments: [] },
    { json: '['.repeat(300) + ']'.repeat(300), attachments: [] },
  ]);
  assert.deepEqual(enc.map((a) => a.ok), [false, false, false, false]);
  assert.equal(enc[0].error, 'illegal attachments');
});

// Stops what a test started, last first (t.after runs hooks in the order they were added).
function cleanup(t) {
  const steps = [];
  t.after(async () => {
    for (const step of steps.reverse()) await step();
  });
  return (step) => steps.push(step);
}

async function redisClient(url, onStop) {
  const { createClient } = require('redis');
  const c = createClient({ url });
  c.on('error', () => {}); // the test's redis-server stops before the process exits
  await c.connect();
  onStop(() => c.quit().catch(() => {}));
  return c;
}

test('the real @socket.io/redis-adapter: classic and sharded broadcasts decode to their packets', async (t) => {
  const onStop = cleanup(t);
  const redis = await startRedis(t); // stopped after the cleanup below (hooks run in order)
  const { Server } = require('socket.io');
  const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');

  const captured = [];
  const spy = await redisClient(redis.url, onStop);
  await spy.pSubscribe('socket.io#*', (msg, channel) => captured.push({ channel: channel.toString(), msg }), true);
  await spy.sSubscribe('sharded#/#', (msg, channel) => captured.push({ channel: channel.toString(), msg }), true);

  const classic = new Server();
  classic.adapter(createAdapter(await redisClient(redis.url, onStop), await redisClient(redis.url, onStop)));
  const sharded = new Server();
  sharded.adapter(createShardedAdapter(await redisClient(redis.url, onStop), await redisClient(redis.url, onStop),
    { channelPrefix: 'sharded' }));
  // These servers were never attached to HTTP: nothing to close but their Redis clients.
  await new Promise((r) => setTimeout(r, 200)); // the adapters' subscriptions

  classic.to('room1').except('other').emit('hello', { n: 1.5, s: 'é', nested: [true, null] }, Buffer.from([1, 2, 3]));
  classic.volatile.emit('tick', 42);
  sharded.emit('plain', 'text');
  sharded.emit('withbin', Buffer.from('xyz'));
  sharded.to('r2').timeout(5000).emit('withack', 7, () => {}); // nobody answers: no clients
  for (let i = 0; i < 250 && captured.length < 5; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(captured.length, 5);

  const answers = decodeAll(captured.map((c) => (c.msg[0] === 0x7b ? notepack.encode(JSON.parse(c.msg)) : c.msg)));
  assert.equal(captured[0].channel, 'socket.io#/#room1#');
  const [uid, packet, opts] = JSON.parse(answers[0].json);
  assert.equal(typeof uid, 'string');
  assert.deepEqual(packet, { type: 2, data: ['hello', { n: 1.5, s: 'é', nested: [true, null] }, { _placeholder: true, num: 0 }], nsp: '/' });
  assert.deepEqual(opts, { rooms: ['room1'], except: ['other'], flags: {} });
  assert.deepEqual(answers[0].attachments, ['010203']);
  assert.equal(captured[1].channel, 'socket.io#/#');
  assert.deepEqual(JSON.parse(answers[1].json)[2], { rooms: [], except: [], flags: { volatile: true } });

  // Sharded: JSON without binaries, msgpack with them (sharded-adapter.ts encode()).
  assert.equal(captured[2].msg[0], 0x7b);
  const plain = JSON.parse(answers[2].json);
  assert.equal(plain.type, 3); // MessageType.BROADCAST
  // The cluster adapter's packet carries no nsp: the message does.
  assert.deepEqual(plain.data.packet, { type: 2, data: ['plain', 'text'] });
  assert.equal(plain.nsp, '/');
  assert.equal(typeof plain.uid, 'string');
  assert.notEqual(captured[3].msg[0], 0x7b);
  const bin = JSON.parse(answers[3].json);
  assert.equal(bin.type, 3);
  assert.equal(bin.nsp, '/');
  assert.deepEqual(bin.data.packet.data, ['withbin', { _placeholder: true, num: 0 }]);
  assert.deepEqual(answers[3].attachments, [Buffer.from('xyz').toString('hex')]);

  // The typed decoders (redis_wire.h) give the core's packet; re-encoded, stock nodes decode the
  // same message.
  const typed = tool([
    { op: 'classic', hex: captured[0].msg.toString('hex') },
    { op: 'classic', hex: captured[1].msg.toString('hex') },
    { op: 'cluster', hex: captured[2].msg.toString('hex') },
    { op: 'cluster', hex: captured[3].msg.toString('hex') },
    { op: 'cluster', hex: captured[4].msg.toString('hex') },
  ]);
  typed.forEach((a, i) => assert.ok(a.ok, `${i}: ${a.error}`));
  assert.equal(typed[0].uid, uid);
  assert.equal(typed[0].type, 5); // BINARY_EVENT for the core
  assert.equal(typed[0].text, '51-["hello",{"n":1.5,"s":"é","nested":[true,null]},{"_placeholder":true,"num":0}]');
  assert.deepEqual(typed[0].attachments, ['010203']);
  assert.deepEqual([typed[0].rooms, typed[0].except, typed[0].volatile], [['room1'], ['other'], false]);
  assert.equal(typed[0].reencoded, captured[0].msg.toString('hex')); // byte for byte
  assert.equal(typed[1].text, '2["tick",42]');
  assert.equal(typed[1].volatile, true);
  assert.equal(typed[1].reencoded, captured[1].msg.toString('hex')); // byte for byte
  assert.equal(typed[2].text, '2["plain","text"]');
  assert.equal(Buffer.from(typed[2].reencoded, 'hex').toString(), captured[2].msg.toString());
  assert.equal(typed[3].text, '51-["withbin",{"_placeholder":true,"num":0}]');
  assert.equal(typed[3].reencoded, captured[3].msg.toString('hex')); // byte for byte
  assert.equal(captured[4].channel, 'sharded#/#'); // a broadcast with acks never uses a room channel
  assert.equal(typed[4].text, '2["withack",7]');
  assert.equal(typed[4].timeout, 5000);
  assert.equal(typeof typed[4].requestId, 'string');
  assert.deepEqual(typed[4].rooms, ['r2']);
  assert.equal(Buffer.from(typed[4].reencoded, 'hex').toString(), captured[4].msg.toString());
});

test('a stock socket.io node with the classic adapter delivers what we encode to its client', async (t) => {
  const onStop = cleanup(t);
  const redis = await startRedis(t); // stopped after the cleanup below (hooks run in order)
  const http = require('node:http');
  const { Server } = require('socket.io');
  const { io: connect } = require('socket.io-client');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const raw = await redisClient(redis.url, onStop);
  const httpServer = http.createServer();
  const io = new Server(httpServer);
  io.adapter(createAdapter(await redisClient(redis.url, onStop), await redisClient(redis.url, onStop)));
  const joined = new Promise((resolve) => io.on('connection', (s) => { s.join('room1'); resolve(); }));
  await new Promise((r) => httpServer.listen(0, '127.0.0.1', r));
  onStop(() => new Promise((r) => io.close(() => r())));
  const client = connect(`http://127.0.0.1:${httpServer.address().port}`, { transports: ['websocket'] });
  onStop(() => client.close());
  await joined;

  // [uid, packet, opts] as the core would publish it: JSON text with a placeholder + the binary.
  const json = JSON.stringify(['collab', { type: 2, data: ['fromCore', { big: 2 ** 40, f: -0.25, u: '✓' }, { _placeholder: true, num: 0 }], nsp: '/' },
    { rooms: ['room1'], except: [], flags: {} }]);
  const [enc] = encodeAll([{ json, attachments: [Buffer.from([0xde, 0xad])] }]);
  assert.ok(enc.ok, enc.error);
  const got = new Promise((resolve) => client.on('fromCore', (...args) => resolve(args)));
  await raw.publish('socket.io#/#room1#', Buffer.from(enc.hex, 'hex'));
  const args = await got;
  assert.deepEqual(args[0], { big: 2 ** 40, f: -0.25, u: '✓' });
  assert.deepEqual([...new Uint8Array(args[1])], [0xde, 0xad]);
});
