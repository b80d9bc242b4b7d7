'use strict';
// Inbound backpressure (issue 15, docs/LIMITS.md "Inbound backpressure"): a client that sends
// faster than the handlers run must not grow the server. Each server runs in a child process
// (test/js/helpers/flood-server.js) whose memory is read from /proc: its peak RSS (VmHWM, reset
// after the warm-up through /proc/<pid>/clear_refs) against its RSS before the flood.
// Under AddressSanitizer (`npm test -- --sanitize`: LD_PRELOAD of libasan, inherited by the flood
// server) the RSS bounds are not checked, and each test says so: ASan keeps freed memory in its
// quarantine (up to 256 MiB) and pads every allocation, so RSS measures ASan, not the server. Every
// other check (delivery, order, pauses, the bounds on what waits for JavaScript) runs in both builds.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const WebSocket = require('ws');
const Y = require('yjs');
const encoding = require('lib0/encoding');
const { Clients, withTimeout, delay } = require('./helpers/clients');
const { upgrade } = require('./helpers/raw-ws');
const { startIpcServer } = require('./helpers/ipc-server');

const MiB = 1024 * 1024;
const EVENT_BYTES = 100 * 1000;

if (process.platform !== 'linux') throw new Error('hardening-backpressure needs Linux (/proc/<pid>/status)');

const underAsan = /libasan/.test(process.env.LD_PRELOAD || '');

/** Asserts the server's RSS peak above its baseline, or under ASan says loudly that it does not. */
function assertPeak(t, peak, bound) {
  const what = `server RSS peak +${(peak / MiB).toFixed(1)} MiB`;
  if (underAsan) {
    t.diagnostic(`RSS bound NOT CHECKED under AddressSanitizer (freed memory stays in its quarantine, so RSS says nothing about the server): ${what}, bound +${(bound / MiB).toFixed(1)} MiB without ASan`);
    return;
  }
  assert.ok(peak < bound, `${what} stays under +${(bound / MiB).toFixed(1)} MiB`);
}

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM). */
function procStatus(pid, field) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  if (!m) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Starts the flood server; resolves with a handle whose memory and counters can be read. */
async function floodServer(t, opts) {
  const script = path.join(__dirname, 'helpers', 'flood-server.js');
  const server = await startIpcServer(t, process.execPath, [script, JSON.stringify(opts)], { label: 'flood server', timeout: 30000 });
  const { pid } = server;
  return {
    ...server,
    counters: () => server.ask({ cmd: 'stats' }, 'stats'),
    rss: () => procStatus(pid, 'VmRSS'),
    // Peak RSS since resetPeak() (Linux: writing 5 to clear_refs resets VmHWM to the current RSS).
    resetPeak: () => fs.writeFileSync(`/proc/${pid}/clear_refs`, '5'),
    peak: () => procStatus(pid, 'VmHWM'),
  };
}

/** The WebSocket under a connected socket.io-client socket (engine.io-client's websocket transport). */
function rawSocket(socket) {
  const ws = socket.io.engine.transport.ws;
  assert.ok(ws && typeof ws.bufferedAmount === 'number', 'socket.io-client runs over a ws WebSocket');
  return ws;
}

/**
 * Emits `count` 'flood' events of EVENT_BYTES each, numbered from 0, as fast as the connection
 * takes them: the client keeps at most `ahead` bytes in its own send buffer, so what the server
 * does not read stays in the kernel's socket buffers and in the client.
 */
async function flood(socket, count, ahead = 4 * MiB) {
  const payload = 'x'.repeat(EVENT_BYTES);
  for (let seq = 0; seq < count; seq++) {
    socket.emit('flood', seq, payload);
    // The transport may change under us (polling, then the upgrade to WebSocket).
    for (;;) {
      const transport = socket.io.engine.transport;
      const waiting = transport.name === 'websocket' ? rawSocket(socket).bufferedAmount : socket.io.engine.writeBuffer.length * EVENT_BYTES;
      if (waiting <= ahead || !socket.connected) break;
      await delay(2);
    }
    if (seq % 16 === 15) await delay(0);
    if (!socket.connected) throw new Error(`flooder disconnected after ${seq} events`);
  }
}

/**
 * What a failed order check says: the first sequence breaks the flood server recorded (which
 * socket, at which of its events, the number expected and the one that came), so that the shape of
 * the disorder (two events swapped, a block moved, a repeat, another socket's events) shows in the
 * failure itself.
 */
function orderBreaks(counters) {
  const shown = counters.breaks.map((b) => `socket ${b.socket} event #${b.at}: expected ${b.expected}, got ${b.got} (after ${b.pauses} pauses)`);
  return `${counters.outOfOrder} events out of sequence; the first: ${shown.join('; ')}`;
}

/** Samples the server's counters until `done` settles: the highest values seen. */
function sampleWhile(server, done) {
  const seen = { inboundBytes: 0, inboundEvents: 0, pausedConnections: 0, documentInboundBytes: 0, bytesQueued: 0, heapTotal: 0, external: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const c = await server.counters();
      for (const k of Object.keys(seen)) seen[k] = Math.max(seen[k], k in c.stats ? c.stats[k] : c.memory[k]);
      await delay(20);
    }
  })();
  return done.finally(async () => {
    running = false;
    await loop;
  }).then(() => seen);
}

async function waitFor(server, what, pred, ms = 120000) {
  for (const deadline = Date.now() + ms; ; ) {
    const c = await server.counters();
    if (pred(c)) return c;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(c)}`);
    await delay(50);
  }
}

/** Connects and warms the server up (JIT, allocator) with a little flood, so the baseline is steady. */
async function warmUp(server, clients, n) {
  const socket = await clients.connect();
  await flood(socket, 50);
  await waitFor(server, 'the warm-up', (c) => c.floods >= n + 50);
  socket.disconnect();
  await delay(300);
}

test('one client floods 300 MB: the server stays within +64 MiB, every event arrives in order, and another client is answered', { timeout: 300000 }, async (t) => {
  // Every 250th event the handler holds the JS thread for 100 ms, as a slow handler or a GC pause
  // would: the reads go on meanwhile, and without backpressure the backlog piles up in the server.
  const server = await floodServer(t, { documents: false, stallEvery: 250, stallMs: 100 });
  const clients = new Clients(server.url);
  t.after(() => clients.closeAll());
  await warmUp(server, clients, 0);

  const flooder = await clients.connect();
  const healthy = await clients.connect();
  const before = await server.counters();
  const baseline = server.rss();
  server.resetPeak();

  const COUNT = 3000; // 300 MB
  let flooding = true;
  let acks = 0;
  const rtts = [];
  const pinger = (async () => {
    while (flooding) {
      const sentAt = process.hrtime.bigint();
      const reply = await withTimeout(healthy.emitWithAck('echo', acks), 20000, 'the healthy client\'s ack during the flood');
      rtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      assert.equal(reply, acks);
      acks++;
      await delay(50);
    }
  })();
  const sent = flood(flooder, COUNT);
  const done = sent.then(() => waitFor(server, 'every flood event', (c) => c.floods >= before.floods + COUNT));
  const seen = await sampleWhile(server, done);
  flooding = false;
  await pinger;

  const after = await server.counters();
  const peak = server.peak() - baseline;
  rtts.sort((a, b) => a - b);
  t.diagnostic(`RSS peak +${(peak / MiB).toFixed(1)} MiB; most waiting for JS ${(Math.max(seen.inboundBytes, after.stalls.maxInboundBytes) / MiB).toFixed(2)} MiB (${(seen.inboundBytes / MiB).toFixed(2)} MiB in ${seen.inboundEvents} events between tasks); pauses ${after.stats.inboundPauses - before.stats.inboundPauses}; acks during the flood ${acks}, round trip median ${rtts[rtts.length >> 1].toFixed(1)} ms, max ${rtts[rtts.length - 1].toFixed(1)} ms (the handler stalls 100 ms every 250 events); acks run while the flooder was paused ${after.echoes.whilePaused - before.echoes.whilePaused}, most events waiting when one ran ${after.echoes.maxWaiting}`);
  assert.equal(after.floods - before.floods, COUNT, 'every event was delivered');
  assert.equal(after.floodBytes - before.floodBytes, COUNT * EVENT_BYTES);
  assert.equal(after.outOfOrder, 0, `events arrived in the order they were sent: ${orderBreaks(after)}`);
  assert.ok(after.stats.inboundPauses > before.stats.inboundPauses, 'the flooder was paused (io.stats().inboundPauses)');
  // What waits for JavaScript (between tasks, and inside the stalls, when it peaks) stays near the
  // per-connection share (1 MiB), give or take one read chunk and one event.
  const waiting = Math.max(seen.inboundBytes, after.stalls.maxInboundBytes);
  assert.ok(waiting < 1 * MiB + 64 * 1024 + 2 * EVENT_BYTES, `inbound bytes bounded (${waiting})`);
  assert.ok(acks >= 3, `the healthy client's acks were answered during the flood (${acks})`);
  // The acks did not wait behind the flood: some ran while the flooder was stopped, and none found
  // more waiting than the flooder's share (about 11 of its events) twice over. Without
  // backpressure none runs while paused and the acks find hundreds of events ahead.
  assert.ok(after.echoes.whilePaused - before.echoes.whilePaused >= 1, 'an ack was answered while the flooder was paused');
  const shareEvents = Math.ceil((1 * MiB + 64 * 1024) / EVENT_BYTES) + 2;
  assert.ok(after.echoes.maxWaiting <= 2 * shareEvents, `an ack never waited behind more than twice the flooder's share (${after.echoes.maxWaiting} events waiting, bound ${2 * shareEvents})`);
  assertPeak(t, peak, 64 * MiB);
  assert.equal(after.stats.pausedConnections, 0, 'nothing stays paused once drained');
  assert.equal(after.stats.inboundBytes, 0);
});

test('a compressing flooder: one read chunk inflating to ~60 MB of events is handed on in steps, and the server stays within its share and +64 MiB', { timeout: 300000 }, async (t) => {
  // permessage-deflate inflates ~1000:1 on repetitive text: a 100 kB event takes ~110 bytes on the
  // wire, so one 64 KiB read chunk carries ~600 of them (~60 MB). The connection must still be
  // stopped at its share: the parser hands on about one read chunk of inflated bytes before the
  // budget is asked again (without that, this test saw 40 MiB waiting for JS and +108 MiB RSS).
  const server = await floodServer(t, { documents: false, perMessageDeflate: true, stallEvery: 250, stallMs: 100 });
  const clients = new Clients(server.url);
  t.after(() => clients.closeAll());
  await warmUp(server, clients, 0);
  // socket.io-client (ws) offers permessage-deflate and compresses frames from 1024 bytes on.
  const flooder = await clients.connect();
  assert.match(rawSocket(flooder).extensions, /permessage-deflate/, 'the flooder negotiated permessage-deflate');
  const healthy = await clients.connect();
  const before = await server.counters();
  const baseline = server.rss();
  server.resetPeak();

  const COUNT = 3000; // 300 MB once inflated, ~330 kB on the wire
  const wire = rawSocket(flooder)._socket;
  const wireBefore = wire.bytesWritten;
  const sent = flood(flooder, COUNT);
  const done = sent.then(() => waitFor(server, 'every flood event', (c) => c.floods >= before.floods + COUNT));
  const seen = await sampleWhile(server, done);
  assert.equal(await withTimeout(healthy.emitWithAck('echo', 'after'), 20000, 'the healthy client\'s ack'), 'after');

  const after = await server.counters();
  const peak = server.peak() - baseline;
  const onWire = wire.bytesWritten - wireBefore;
  // The most that waited for JavaScript: between tasks, as the handlers saw it while they ran, and
  // inside the stalls.
  const waiting = Math.max(seen.inboundBytes, after.floodMaxWaiting, after.stalls.maxInboundBytes);
  t.diagnostic(`${(onWire / 1024).toFixed(0)} KiB on the wire; RSS peak +${(peak / MiB).toFixed(1)} MiB; JS heap at most ${(seen.heapTotal / MiB).toFixed(1)} MiB; most waiting for JS ${(waiting / MiB).toFixed(2)} MiB; pauses ${after.stats.inboundPauses - before.stats.inboundPauses}`);
  assert.ok(onWire < COUNT * EVENT_BYTES / 100, `the events went compressed (${onWire} bytes on the wire)`);
  assert.equal(after.floods - before.floods, COUNT, 'every event was delivered');
  assert.equal(after.floodBytes - before.floodBytes, COUNT * EVENT_BYTES);
  assert.equal(after.outOfOrder, 0, `events arrived in the order they were sent: ${orderBreaks(after)}`);
  assert.ok(after.stats.inboundPauses > before.stats.inboundPauses, 'the flooder was paused (io.stats().inboundPauses)');
  // The share (1 MiB), plus one step of the parser (64 KiB of inflated bytes, completed by one
  // event), as for an uncompressed flooder.
  assert.ok(waiting < 1 * MiB + 64 * 1024 + 2 * EVENT_BYTES, `inbound bytes bounded (${waiting})`);
  assertPeak(t, peak, 64 * MiB);
  assert.equal(after.stats.pausedConnections, 0, 'nothing stays paused once drained');
  assert.equal(after.stats.inboundBytes, 0);
});

test('a long-polling flooder: its POSTs are answered only as fast as the handlers run, in order', { timeout: 300000 }, async (t) => {
  const server = await floodServer(t, { documents: false, stallEvery: 50, stallMs: 100 });
  const clients = new Clients(server.url);
  t.after(() => clients.closeAll());
  const flooder = await clients.connect({ transports: ['polling'] });
  const healthy = await clients.connect({ transports: ['polling'] });
  assert.equal(flooder.io.engine.transport.name, 'polling');
  const before = await server.counters();

  const COUNT = 300; // 30 MB
  let flooding = true;
  let acks = 0;
  const pinger = (async () => {
    while (flooding) {
      assert.equal(await withTimeout(healthy.emitWithAck('echo', acks), 20000, 'the polling client\'s ack'), acks);
      acks++;
      await delay(50);
    }
  })();
  await flood(flooder, COUNT, 2 * MiB);
  await waitFor(server, 'every flood event', (c) => c.floods >= before.floods + COUNT);
  flooding = false;
  await pinger;
  const after = await server.counters();
  t.diagnostic(`pauses ${after.stats.inboundPauses - before.stats.inboundPauses}; acks ${acks}`);
  assert.equal(after.floods - before.floods, COUNT);
  assert.equal(after.outOfOrder, 0, `events arrived in the order they were sent: ${orderBreaks(after)}`);
  assert.ok(after.stats.inboundPauses > before.stats.inboundPauses, 'POSTs were held (io.stats().inboundPauses)');
  assert.ok(acks >= 1, 'the other polling client was answered');
  assert.equal(after.stats.pausedConnections, 0);
});

test('50 clients flood at once: the server stays bounded by the total limit, and everything arrives in order', { timeout: 300000 }, async (t) => {
  // Every 500th event holds the JS thread for 100 ms and then until the server has stopped reading
  // some connection (or nothing more arrives, or 10 s): the backlog reaches the limits however fast
  // the 50 clients send. Under AddressSanitizer they send several times slower, and in 100 ms they
  // filled neither a connection's 1 MiB nor the 16 MiB total. Without backpressure no pause ever
  // comes, the server reads on until the clients are done, and the checks below fail: no pauses,
  // and far more than the total waiting for JavaScript.
  const server = await floodServer(t, { documents: false, stallEvery: 500, stallMs: 100, stallUntilPausedMs: 10000 });
  const clients = new Clients(server.url);
  t.after(() => clients.closeAll());
  await warmUp(server, clients, 0);
  // Half of them start on long-polling and upgrade (their session runs on a strand of its own).
  const flooders = [];
  for (let i = 0; i < 50; i++) flooders.push(await clients.connect(i % 2 ? { transports: ['polling', 'websocket'] } : {}));
  await Promise.all(flooders.map((s) => (s.io.engine.transport.name === 'websocket' ? null : new Promise((resolve) => s.io.engine.once('upgrade', resolve)))));
  const before = await server.counters();
  const baseline = server.rss();
  server.resetPeak();

  const EACH = 60; // 6 MB each, 300 MB in all
  const done = Promise.all(flooders.map((s) => flood(s, EACH, 512 * 1024))).then(() =>
    waitFor(server, 'every flood event', (c) => c.floods >= before.floods + 50 * EACH),
  );
  const seen = await sampleWhile(server, done);
  const after = await server.counters();
  const peak = server.peak() - baseline;
  // The most waiting for JavaScript: between tasks (the sampler) and inside the stalls, when the
  // backlog peaks.
  const waiting = Math.max(seen.inboundBytes, after.stalls.maxInboundBytes);
  // The total (16 MiB by default), plus what each connection may read before it is stopped (one
  // 64 KiB chunk completing one event) and its incomplete frame, plus 48 MiB for the JavaScript
  // heap the handlers use (without backpressure this run peaks near +270 MiB).
  const bound = 16 * MiB + 50 * (64 * 1024 + 2 * EVENT_BYTES) + 48 * MiB;
  t.diagnostic(`RSS peak +${(peak / MiB).toFixed(1)} MiB (bound ${(bound / MiB).toFixed(1)}); most waiting for JS ${(waiting / MiB).toFixed(2)} MiB (${(seen.inboundBytes / MiB).toFixed(2)} between tasks); most paused at once ${Math.max(seen.pausedConnections, after.stalls.maxPausedConnections)}; JS heap at most ${(seen.heapTotal / MiB).toFixed(1)} MiB; pauses ${after.stats.inboundPauses - before.stats.inboundPauses}; stalls ${after.stalls.count}, ${after.stalls.untilPaused} of them past 100 ms waiting for a pause, the longest ${after.stalls.longestMs} ms`);
  assert.equal(after.floods - before.floods, 50 * EACH);
  assert.equal(after.outOfOrder, 0, `each client's events arrived in order: ${orderBreaks(after)}`);
  assert.ok(after.stats.inboundPauses > before.stats.inboundPauses, 'flooders were paused (io.stats().inboundPauses)');
  assert.ok(waiting < 16 * MiB + 50 * (64 * 1024 + 2 * EVENT_BYTES), `inbound bytes bounded by the total (${waiting})`);
  assertPeak(t, peak, bound);
  assert.equal(after.stats.pausedConnections, 0);
});

/** A y-websocket sync message (messageSync = 0) of `type` (0 SyncStep1, 1 SyncStep2, 2 Update). */
function syncMessage(type, payload) {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, 0);
  encoding.writeVarUint(e, type);
  encoding.writeVarUint8Array(e, payload);
  return encoding.toUint8Array(e);
}

function openWs(url) {
  const ws = new WebSocket(url);
  ws.binaryType = 'nodebuffer';
  return withTimeout(new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  }), 10000, 'document WebSocket open');
}

test('a document flooder that sends faster than the store commits stays bounded, and every update is integrated', { timeout: 300000 }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-bp-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const server = await floodServer(t, { documents: { persistence: { dir, durability: 'full' } } });
  const url = `ws://127.0.0.1:${server.port}/flooded`;

  // The flooder's own document: each round inserts 100 kB and deletes it again, so the document
  // stays small while every insert is a 100 kB update the server must store before relaying it.
  const doc = new Y.Doc();
  const updates = [];
  doc.on('update', (u) => updates.push(u));
  const text = doc.getText('t');
  const chunk = 'y'.repeat(EVENT_BYTES);
  const ROUNDS = 1000; // 100 MB of inserts
  for (let i = 0; i < ROUNDS; i++) {
    text.insert(0, chunk);
    text.delete(0, chunk.length);
  }
  text.insert(0, 'done');

  const ws = await openWs(url);
  t.after(() => ws.terminate());
  const baseline = server.rss();
  server.resetPeak();
  const before = await server.counters();
  const sending = (async () => {
    for (const u of updates) {
      ws.send(syncMessage(2, u));
      while (ws.bufferedAmount > 4 * MiB) await delay(2);
    }
  })();

  // Done when a second client, synced from the server's stored state, has the flooder's state.
  const done = sending.then(async () => {
    const want = Buffer.from(Y.encodeStateVector(doc)).toString('hex');
    for (const deadline = Date.now() + 120000; ; ) {
      const reader = await openWs(url);
      const copy = new Y.Doc();
      const step2 = await withTimeout(new Promise((resolve) => {
        reader.on('message', (m) => {
          if (m[0] === 0 && m[1] === 1) resolve(m);
        });
        reader.send(syncMessage(0, Y.encodeStateVector(copy)));
      }), 30000, 'SyncStep2 from the server');
      reader.close();
      const decoding = require('lib0/decoding');
      const d = decoding.createDecoder(step2);
      decoding.readVarUint(d);
      decoding.readVarUint(d);
      Y.applyUpdate(copy, decoding.readVarUint8Array(d));
      if (Buffer.from(Y.encodeStateVector(copy)).toString('hex') === want) return copy;
      if (Date.now() > deadline) throw new Error('the server never caught up with the flooder');
      await delay(200);
    }
  });
  const seen = await sampleWhile(server, done);
  const copy = await done;
  const after = await server.counters();
  const peak = server.peak() - baseline;
  t.diagnostic(`RSS peak +${(peak / MiB).toFixed(1)} MiB; most document bytes in flight ${(seen.documentInboundBytes / MiB).toFixed(2)} MiB; pauses ${after.stats.inboundPauses - before.stats.inboundPauses}`);
  assert.equal(copy.getText('t').toString(), 'done', 'every update was integrated, in order');
  assert.ok(after.stats.inboundPauses > before.stats.inboundPauses, 'the document flooder was paused (io.stats().inboundPauses)');
  assert.ok(seen.documentInboundBytes < 1 * MiB + 64 * 1024 + 2 * EVENT_BYTES, `document bytes in flight bounded (${seen.documentInboundBytes})`);
  assertPeak(t, peak, 64 * MiB);
  // The last holds are released when their store commit reports back, which may come a moment
  // after the reader's sync saw the final state.
  let held = after.stats.documentInboundBytes;
  for (const deadline = Date.now() + 10000; held !== 0 && Date.now() < deadline; ) {
    await delay(50);
    held = (await server.counters()).stats.documentInboundBytes;
  }
  assert.equal(held, 0, 'every document hold is released once the flood is stored');
});

test('slow reader: 400 MB sent to a room whose only other member stopped reading keeps the server under +128 MiB', { timeout: 300000 }, async (t) => {
  // Default heartbeat (25 s / 20 s) and maxOutboundBytes (64 MiB): the reader is closed as a slow
  // consumer once its queue is full, and the sender's backlog is bounded by backpressure.
  const server = await floodServer(t, { documents: false });
  const clients = new Clients(server.url);
  t.after(() => clients.closeAll());
  await warmUp(server, clients, 0);
  const sender = await clients.connect();
  const reader = await upgrade(server.port, '/socket.io/?EIO=4&transport=websocket');
  t.after(() => reader.destroy());
  await reader.joinSocketIo();
  reader.sock.pause(); // never reads again
  await delay(100);
  const baseline = server.rss();
  server.resetPeak();
  const before = await server.counters();

  const COUNT = 4000; // 400 MB
  const payload = 'x'.repeat(EVENT_BYTES);
  const ws = rawSocket(sender);
  const sending = (async () => {
    for (let seq = 0; seq < COUNT; seq++) {
      sender.emit('relay', seq, payload);
      while (ws.bufferedAmount > 4 * MiB) await delay(2);
      if (seq % 16 === 15) await delay(0);
    }
    return withTimeout(sender.emitWithAck('echo', 'end'), 60000, 'the sender\'s ack after its 400 MB');
  })();
  const seen = await sampleWhile(server, sending);
  assert.equal(await sending, 'end');
  const after = await server.counters();
  // What the server holds for the reader, whatever the allocator does with it: never past
  // maxOutboundBytes (64 MiB, docs/LIMITS.md), the reader is closed instead. io.stats().bytesQueued
  // counts every connection: the sender's few bytes (pings, its ack) may come on top.
  assert.ok(seen.bytesQueued <= 64 * MiB + 64 * 1024, `outbound bytes queued bounded by maxOutboundBytes (${seen.bytesQueued})`);
  const peak = server.peak() - baseline;
  t.diagnostic(`RSS peak +${(peak / MiB).toFixed(1)} MiB; outbound queued at most ${(seen.bytesQueued / MiB).toFixed(1)} MiB, now ${(after.stats.bytesQueued / MiB).toFixed(1)} MiB; pauses ${after.stats.inboundPauses - before.stats.inboundPauses}`);
  assertPeak(t, peak, 128 * MiB);
});

test('a document whose updates JavaScript listens to: a flooder is paused until the busy main thread has run them, and every update arrives in order', { timeout: 300000 }, async (t) => {
  // The application listens to 'update' on 'flooded' and keeps its main thread busy 100 ms out of
  // every 150: without backpressure the updates would wait for it in the server without bound.
  const server = await floodServer(t, { documents: {}, watch: { document: 'flooded', busyEveryMs: 600, busyMs: 500 } });
  const base = `ws://127.0.0.1:${server.port}`;

  const doc = new Y.Doc();
  const updates = [];
  doc.on('update', (u) => updates.push(u));
  const text = doc.getText('t');
  text.insert(0, 'start');
  const chunk = 'y'.repeat(EVENT_BYTES);
  const ROUNDS = 1000; // 100 MB of inserts, each deleted again by the next update
  for (let i = 0; i < ROUNDS; i++) {
    text.insert(0, chunk);
    text.delete(0, chunk.length);
  }
  text.insert(0, 'done');

  const ws = await openWs(`${base}/flooded`);
  t.after(() => ws.terminate());
  // The first update reaches the listener: the application's subscription is in place.
  ws.send(syncMessage(2, updates[0]));
  await waitFor(server, 'the first update in JavaScript', (c) => c.docs.updates >= 1, 30000);
  const baseline = server.rss();
  server.resetPeak();
  const before = await server.counters();

  let flooding = true;
  const rtts = [];
  const quiet = await openWs(`${base}/quiet`);
  t.after(() => quiet.terminate());
  const syncs = (async () => {
    // A client of another document: its SyncStep1 is answered from C++ while the flooder waits.
    while (flooding) {
      const sentAt = process.hrtime.bigint();
      await withTimeout(new Promise((resolve) => {
        const on = (m) => {
          if (m[0] === 0 && m[1] === 1) {
            quiet.off('message', on);
            resolve();
          }
        };
        quiet.on('message', on);
        quiet.send(syncMessage(0, Y.encodeStateVector(new Y.Doc())));
      }), 20000, 'the other document client\'s SyncStep2 during the flood');
      rtts.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      await delay(50);
    }
  })();
  const sending = (async () => {
    for (const u of updates.slice(1)) {
      ws.send(syncMessage(2, u));
      while (ws.bufferedAmount > 4 * MiB) await delay(2);
    }
  })();
  const done = sending.then(() => waitFor(server, 'every update in JavaScript', (c) => c.docs.updates >= updates.length));
  const seen = await sampleWhile(server, done);
  flooding = false;
  await syncs;

  const after = await server.counters();
  const peak = server.peak() - baseline;
  rtts.sort((a, b) => a - b);
  t.diagnostic(`RSS peak +${(peak / MiB).toFixed(1)} MiB; most waiting for JS ${(Math.max(seen.inboundBytes, after.docs.maxInboundBytes) / MiB).toFixed(2)} MiB, document bytes held ${(Math.max(seen.documentInboundBytes, after.docs.maxDocumentInboundBytes) / MiB).toFixed(2)} MiB; pauses ${after.stats.inboundPauses - before.stats.inboundPauses}; other document's syncs ${rtts.length}, median ${rtts[rtts.length >> 1].toFixed(1)} ms, max ${rtts[rtts.length - 1].toFixed(1)} ms`);
  assert.equal(after.docs.updates, updates.length, 'every update reached the listener');
  assert.equal(after.docs.outOfOrder, 0, `each update continued the previous one: ${JSON.stringify(after.docs.breaks)}`);
  assert.equal(after.docs.clocks[doc.clientID], Y.decodeStateVector(Y.encodeStateVector(doc)).get(doc.clientID), 'the listener saw the flooder\'s whole state');
  assert.ok(after.stats.inboundPauses > before.stats.inboundPauses, 'the document flooder was paused (io.stats().inboundPauses)');
  const share = 1 * MiB + 64 * 1024 + 2 * EVENT_BYTES; // its share, one read chunk, one message
  const held = Math.max(seen.documentInboundBytes, after.docs.maxDocumentInboundBytes);
  const waiting = Math.max(seen.inboundBytes, after.docs.maxInboundBytes);
  assert.ok(held < share, `document bytes held bounded (${held})`);
  assert.ok(waiting < share, `bytes waiting for JavaScript bounded (${waiting})`);
  assert.ok(rtts.length >= 3, `the other document's client was answered during the flood (${rtts.length})`);
  assertPeak(t, peak, 64 * MiB);
  let left = after.stats.documentInboundBytes;
  for (const deadline = Date.now() + 10000; left !== 0 && Date.now() < deadline; ) {
    await delay(50);
    left = (await server.counters()).stats.documentInboundBytes;
  }
  assert.equal(left, 0, 'every hold is released once JavaScript has run the updates');
  assert.equal(after.stats.pausedConnections, 0);
});
