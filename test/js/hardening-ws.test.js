'use strict';
// Hostile WebSocket and HTTP clients against the Socket.IO endpoint, written over raw TCP
// (test/js/helpers/raw-ws.js). In every case only the hostile connection goes away: a healthy
// socket.io-client keeps its session (no disconnect) and still gets acks, and io.stats() shows
// the hostile connection gone.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { assertEchoWorks, withTimeout, delay } = require('./helpers/clients');
const { frame, text, upgrade, rawHttp } = require('./helpers/raw-ws');
const { waitFor } = require('./helpers/docs');

const SIO_PATH = '/socket.io/?EIO=4&transport=websocket';

/** A server with one healthy client; returns a `check()` that proves the healthy client intact. */
async function withHealthy(t, opts = {}) {
  const ctx = await setup(t, opts);
  const serverSide = nextConnection(ctx.io);
  const healthy = await ctx.clients.connect();
  const socket = await serverSide;
  let disconnected = null;
  socket.on('disconnect', (r) => (disconnected = r));
  const check = async () => {
    assert.equal(disconnected, null, 'the healthy socket was not disconnected');
    assert.equal(healthy.connected, true);
    await assertEchoWorks(healthy, assert);
    await waitFor(() => ctx.io.stats().connections === 1, 'only the healthy connection left', 10000);
  };
  return { ...ctx, healthy, check };
}

// Frame-level attacks after a complete Socket.IO join. Each closes the connection with the given
// WebSocket close code (RFC 6455 7.4.1), or at least closes it (null).
const FRAME_ATTACKS = [
  ['garbage bytes instead of a frame', Buffer.from('GET / HTTP/1.1\r\n\r\n'), 1002],
  ['an unmasked client frame', frame(0x81, '42["echo"]', { mask: false }), 1002],
  ['reserved bit RSV1 (no extension negotiated)', frame(0xc1, '42["x"]'), 1002],
  ['reserved bits RSV2 and RSV3', frame(0xb1, '42["x"]'), 1002],
  ['an unknown opcode', frame(0x83, 'x'), 1002],
  ['a non-minimal 16-bit length', frame(0x81, '42["x"]', { lenForm: 126 }), 1002],
  ['a non-minimal 64-bit length', frame(0x81, '42["x"]', { lenForm: 127 }), 1002],
  ['a fragmented ping', frame(0x09, 'p'), 1002],
  ['a 126-byte ping', frame(0x89, Buffer.alloc(126)), 1002],
  ['a continuation without a message', frame(0x80, 'x'), 1002],
  ['invalid UTF-8 in a text frame', frame(0x81, Buffer.from([0x34, 0x32, 0xc0, 0xaf])), 1007],
  ['a UTF-16 surrogate encoded in UTF-8', frame(0x81, Buffer.from([0x34, 0xed, 0xa0, 0x80])), 1007],
  ['a close reason that is not UTF-8', frame(0x88, Buffer.from([0x03, 0xe8, 0xff])), 1007],
  ['a declared length of 2^62 bytes', Buffer.from([0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]), 1009],
];

for (const [name, bytes, code] of FRAME_ATTACKS) {
  test(`${name} closes only that connection (close code ${code})`, async (t) => {
    const { port, check } = await withHealthy(t);
    const raw = await upgrade(port, SIO_PATH);
    assert.equal(raw.status, 101);
    await raw.joinSocketIo();
    raw.send(bytes);
    await withTimeout(raw.ended, 10000, 'server closes the hostile connection');
    assert.equal(raw.closeCode, code);
    await check();
  });
}

test('a truncated frame followed by a dead peer leaves no connection behind', async (t) => {
  const { port, check } = await withHealthy(t);
  const raw = await upgrade(port, SIO_PATH);
  await raw.joinSocketIo();
  const whole = text('42["echo","' + 'x'.repeat(1000) + '"]');
  raw.send(whole.subarray(0, 300)); // header and part of the payload
  await delay(50);
  raw.destroy();
  await check();
});

test('a frame split into single bytes is still understood (no false positives)', async (t) => {
  const { io, port, check } = await withHealthy(t);
  const raw = await upgrade(port, SIO_PATH);
  const got = new Promise((resolve) => io.once('connection', (s) => s.once('split', resolve)));
  await raw.joinSocketIo();
  const bytes = text('42["split",{"ok":"é中😀"}]');
  for (const b of bytes) {
    raw.send(Buffer.from([b]));
    await delay(1);
  }
  assert.deepEqual(await withTimeout(got, 10000, 'event from the split frame'), { ok: 'é中😀' });
  raw.destroy();
  await check();
});

for (const [what, key] of [
  ['missing', null],
  ['not base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
  ['the base64 of 17 bytes', 'dGhlIHNhbXBsZSBub25jZSE='],
  ['too short', 'abc'],
]) {
  test(`an upgrade whose Sec-WebSocket-Key is ${what} is refused with 400`, async (t) => {
    const { port, check } = await withHealthy(t);
    for (const path of [SIO_PATH, '/some-document']) {
      const raw = await upgrade(port, path, { key });
      assert.equal(raw.status, 400, `${path}: ${raw.head}`);
      raw.destroy();
    }
    await check();
  });
}

test('slow request headers (slowloris) are cut off after handshakeTimeout', async (t) => {
  const { port, check } = await withHealthy(t, { handshakeTimeout: 500 });
  const net = require('node:net');
  const sock = net.connect(port, '127.0.0.1');
  sock.on('error', () => {});
  const closed = new Promise((resolve) => sock.once('close', resolve));
  await new Promise((resolve) => sock.once('connect', resolve));
  const request = 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
  let sent = 0;
  let isClosed = false;
  closed.then(() => (isClosed = true));
  // One byte every 100 ms would take 15 s; the server must give up long before.
  for (; sent < request.length && !isClosed; sent++) {
    sock.write(request[sent]);
    await delay(100);
  }
  assert.ok(isClosed, 'the server closed the slow connection');
  assert.ok(sent < request.length, `closed after ${sent} of ${request.length} bytes`);
  await check();
});

test('many slow-header connections do not stop healthy clients from connecting', async (t) => {
  const { port, clients, check } = await withHealthy(t, { handshakeTimeout: 1000 });
  const net = require('node:net');
  const socks = [];
  for (let i = 0; i < 200; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    s.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n');
    socks.push(new Promise((resolve) => s.once('close', resolve)));
  }
  const extra = await clients.connect();
  await assertEchoWorks(extra, assert);
  await withTimeout(Promise.all(socks), 15000, 'every slow connection closed by the server');
  extra.disconnect();
  await check();
});

test('a flood of connections beyond maxConnections gets HTTP 503; admitted clients keep working', async (t) => {
  const { io, port, clients, healthy, check } = await withHealthy(t, { maxConnections: 5 });
  for (let i = 0; i < 4; i++) await clients.connect();
  assert.equal(io.stats().connections, 5);
  const answers = await Promise.all(
    Array.from({ length: 50 }, () =>
      rawHttp(port, `GET ${SIO_PATH} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'),
    ),
  );
  for (const a of answers) assert.match(a, /^HTTP\/1\.1 503 /);
  // A socket.io-client over the limit gets a connect_error, not a hang.
  await assert.rejects(clients.connect());
  assert.equal(io.stats().connections, 5);
  await assertEchoWorks(healthy, assert);
  // Below the limit again, new clients are admitted.
  for (const c of [...clients.open].slice(1, 5)) c.close();
  await waitFor(() => io.stats().connections === 1, 'others gone', 10000);
  const late = await clients.connect();
  await assertEchoWorks(late, assert);
  late.disconnect();
  await check();
});

test('over the per-IP connection rate a client gets HTTP 429', async (t) => {
  const { port, clients, healthy } = await withHealthy(t, {
    connectionRate: 0.001,
    connectionBurst: 3,
    rateLimitLoopback: true,
  });
  // The healthy client took one token; two more connections pass, then 429.
  await clients.connect();
  await clients.connect();
  const answer = await rawHttp(port, 'GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.match(answer, /^HTTP\/1\.1 429 /);
  await assertEchoWorks(healthy, assert);
});

test('a client that never reads: its queue stays bounded and it is closed as "slow consumer"', async (t) => {
  const LIMIT = 1 << 20;
  const { io, port, check, healthy } = await withHealthy(t, { maxOutboundBytes: LIMIT });
  const raw = await upgrade(port, SIO_PATH);
  const serverSide = nextConnection(io);
  const { sid } = await raw.joinSocketIo();
  const slowSocket = await serverSide;
  assert.equal(slowSocket.id, sid);
  const reason = new Promise((resolve) => slowSocket.once('disconnect', resolve));
  raw.sock.pause(); // never read again: the kernel buffers fill, then the server's queue

  const payload = 'x'.repeat(256 * 1024);
  let maxQueued = 0;
  let healthyGot = 0;
  healthy.on('big', () => healthyGot++);
  let emitted = 0;
  let gone = false;
  reason.then(() => (gone = true));
  // Paced by the healthy client (each packet waits for it to receive the previous one), so only
  // the slow connection's queue can grow.
  while (!gone && emitted < 400) {
    io.emit('big', payload);
    emitted++;
    const before = Date.now();
    while (!gone && healthyGot < emitted && Date.now() - before < 10000) {
      maxQueued = Math.max(maxQueued, io.stats().bytesQueued);
      await delay(1);
    }
    maxQueued = Math.max(maxQueued, io.stats().bytesQueued);
  }
  assert.equal(await withTimeout(reason, 10000, 'slow consumer disconnect'), 'slow consumer');
  // The slow connection's queue never passed the limit; the healthy one holds at most a few
  // packets in flight at any time.
  assert.ok(maxQueued <= LIMIT + 2 * payload.length, `bytesQueued peaked at ${maxQueued}`);
  await waitFor(() => io.stats().bytesQueued === 0, 'queues drained', 10000);
  await waitFor(() => healthyGot === emitted, `healthy client got all ${emitted} packets`, 20000);
  raw.destroy();
  await check();
});

test('deeply nested JSON in a binary event does not overflow any stack', async (t) => {
  const { io, port, check } = await withHealthy(t);
  const raw = await upgrade(port, SIO_PATH);
  const serverSide = nextConnection(io);
  await raw.joinSocketIo();
  const s = await serverSide;
  const errors = [];
  s.on('deep', () => {});
  s.on('error', (e) => errors.push(e));
  const depth = 200000;
  const json = '["deep",' + '['.repeat(depth) + '{"_placeholder":true,"num":0}' + ']'.repeat(depth) + ']';
  raw.send(frame(0x81, '451-' + json));
  raw.send(frame(0x82, Buffer.from([1, 2, 3])));
  // Whatever the server does with it (deliver or close), the process survives and others work.
  await delay(500);
  raw.destroy();
  await check();
});

test('maxAttachments: a packet announcing more attachments than allowed closes that connection', async (t) => {
  const { io, port, check } = await withHealthy(t, { maxAttachments: 2 });
  // At the limit: delivered.
  const ok = await upgrade(port, SIO_PATH);
  const serverSide = nextConnection(io);
  await ok.joinSocketIo();
  const s = await serverSide;
  const got = new Promise((resolve) => s.once('two', (a, b) => resolve([a, b])));
  ok.send(frame(0x81, '452-["two",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'));
  ok.send(frame(0x82, Buffer.from([1])));
  ok.send(frame(0x82, Buffer.from([2])));
  const [a, b] = await withTimeout(got, 10000, 'event with 2 attachments');
  assert.deepEqual([...a, ...b], [1, 2]);
  ok.destroy();
  // Over the limit: refused before any attachment is buffered.
  const raw = await upgrade(port, SIO_PATH);
  await raw.joinSocketIo();
  raw.send(frame(0x81, '453-["three",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]'));
  await withTimeout(raw.ended, 10000, 'server closes the connection');
  await check();
});
