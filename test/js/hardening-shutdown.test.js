'use strict';
// Graceful shutdown under load: Socket.IO clients receiving a steady broadcast, y-websocket
// editors typing into persisted documents, and one client that never reads. io.close() (and
// SIGTERM to the `collabio` CLI) must finish within closeTimeout plus a generous margin however
// the slow client behaves (with a thousand clients connected: within closeTimeout plus one second),
// every reading client must get a proper close frame (1001, not a reset), and every edit the
// server relayed or acknowledged before the close must be in the store afterwards.
const test = require('node:test');
const assert = require('node:assert/strict');
const { spawn, fork } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const WebSocket = require('ws');
const { WebsocketProvider } = require('y-websocket');
const { io: ioClient } = require('socket.io-client');
const { Server } = require('../..');
const { RawEioClient, withTimeout, delay } = require('./helpers/clients');
const { upgrade } = require('./helpers/raw-ws');
const { waitFor, Y } = require('./helpers/docs');

const CLOSE_TIMEOUT = 1500;
// Only guards against a shutdown that does not end: the bound under test is closeTimeout.
const MARGIN = 10000;
const SIO_PATH = '/socket.io/?EIO=4&transport=websocket';
const DOCS = ['shutdown-a', 'shutdown-b'];

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-shutdown-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A y-websocket editor typing into `name` every 10 ms while connected. `remote` collects every
 * update it received from the server (relayed edits of the others, and the initial sync), and
 * `closeCode` the close code of its live connection (it does not reconnect afterwards).
 */
/** `n` raw Engine.IO WebSocket clients in the main namespace (they report the close code). */
async function rawSockets(port, n) {
  const raws = [];
  for (let i = 0; i < n; i++) {
    const c = new RawEioClient(`http://127.0.0.1:${port}`, { autoPong: true });
    await c.opened;
    await c.connectNamespace();
    raws.push(c);
  }
  return raws;
}

function editor(url, name, label) {
  const doc = new Y.Doc();
  const p = new WebsocketProvider(url, name, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
  const e = { name, doc, p, remote: [], closeCode: undefined };
  doc.on('update', (u, origin) => {
    if (origin === p) e.remote.push(u);
  });
  p.on('connection-close', (ev) => {
    if (p.wsconnected && e.closeCode === undefined) e.closeCode = ev ? ev.code : null;
    p.shouldConnect = false;
  });
  let n = 0;
  const text = doc.getText('t');
  const timer = setInterval(() => {
    if (!p.wsconnected) return;
    text.insert(n % 3 === 0 ? 0 : text.length, `${label}${n++} `);
    if (n % 7 === 0 && text.length > 4) text.delete(1, 2);
  }, 10);
  e.stopTyping = () => clearInterval(timer);
  e.stop = () => {
    clearInterval(timer);
    p.destroy();
    doc.destroy(); // also ends the awareness's interval timer
  };
  return e;
}

/** The stored state of each document, read back through a fresh server on the same directory. */
async function storedStates(dir) {
  const io = new Server({ documents: { persistence: { dir } } });
  io.listen(0, '127.0.0.1');
  try {
    const out = {};
    for (const name of DOCS) {
      const h = io.documents.open(name);
      out[name] = await h.encodeState();
      h.close();
    }
    return out;
  } finally {
    await io.close();
  }
}

/** Every update the server relayed to `e` is contained in the stored document. */
function assertRelayedStored(e, stored) {
  assert.ok(e.remote.length > 0, `${e.name}: the editor received relayed edits`);
  const s = new Y.Doc();
  Y.applyUpdate(s, stored);
  const sv = Y.encodeStateVector(s);
  const text = s.getText('t').toString();
  assert.ok(text.length > 0, `${e.name}: the stored document has content`);
  Y.applyUpdate(s, Y.mergeUpdates(e.remote));
  assert.deepEqual(Y.encodeStateVector(s), sv, `${e.name}: every relayed insert is stored`);
  assert.equal(s.getText('t').toString(), text, `${e.name}: every relayed delete is stored`);
}

/** A Socket.IO connection by raw TCP that joins "/" and then never reads again. */
async function neverReader(port) {
  const raw = await upgrade(port, SIO_PATH);
  const { sid } = await raw.joinSocketIo();
  raw.sock.pause();
  return { raw, sid };
}

/** Every raw WebSocket client got a close frame with code 1001 (going away). */
async function assertRawClosed(raws) {
  for (const c of raws) assert.equal((await withTimeout(c.closed, 10000, 'raw client close')).code, 1001);
}

/** Every editor saw its connection close with 1001, and every update relayed to it is stored. */
async function assertEditorsClosedAndStored(editors, dir) {
  await waitFor(() => editors.every((e) => e.closeCode !== undefined), 'every editor saw its connection close');
  for (const e of editors) assert.equal(e.closeCode, 1001, `${e.name}: close code`);
  const stored = await storedStates(dir);
  for (const e of editors) assertRelayedStored(e, stored[e.name]);
}

test('io.close() under load: bounded by closeTimeout, 1001 close frames, relayed edits stored', { timeout: 90000 }, async (t) => {
  const dir = tmpdir(t);
  const io = new Server({ closeTimeout: CLOSE_TIMEOUT, documents: { persistence: { dir }, unloadDelay: 200 } });
  io.listen(0, '127.0.0.1');
  const port = io.address().port;
  const url = `ws://127.0.0.1:${port}`;
  let closed = false;
  t.after(() => (closed ? undefined : io.close()));

  // Socket.IO: raw WebSocket clients (they report the close code) and socket.io-client sockets.
  const raws = await rawSockets(port, 4);
  // socket.io-client over WebSocket, and idle ones over long-polling (a GET is held at any time:
  // the shutdown answers it with the close packet).
  io.of('/quiet');
  const sios = [];
  for (const [nsp, transports] of [['/', ['websocket']], ['/', ['websocket']], ['/quiet', ['polling']], ['/quiet', ['polling']]]) {
    const s = ioClient(`http://127.0.0.1:${port}${nsp}`, { transports, forceNew: true, reconnection: false });
    s.ticks = 0;
    s.on('tick', () => s.ticks++);
    s.reason = new Promise((resolve) => s.once('disconnect', resolve));
    await withTimeout(new Promise((resolve) => s.once('connect', resolve)), 10000, 'socket.io-client connect');
    sios.push(s);
  }
  t.after(() => sios.forEach((s) => s.disconnect()));
  const slow = await neverReader(port);
  t.after(() => slow.raw.destroy());

  const editors = [];
  DOCS.forEach((name, i) => {
    for (let k = 0; k < 2; k++) editors.push(editor(url, name, `${'ab'[i]}${k}-`));
  });
  t.after(() => editors.forEach((e) => e.stop()));
  await waitFor(() => editors.every((e) => e.p.synced), 'editors synced');

  // Load: a broadcast every 5 ms, and megabytes queued for the client that never reads.
  let n = 0;
  const ticker = setInterval(() => io.emit('tick', { n: n++, pad: 'x'.repeat(512) }), 5);
  t.after(() => clearInterval(ticker));
  const big = 'z'.repeat(1 << 20);
  for (let i = 0; i < 12; i++) io.to(slow.sid).emit('big', big);
  await waitFor(() => io.stats().bytesQueued > 4 << 20, 'megabytes queued for the client that never reads');
  await waitFor(() => sios.every((s) => s.nsp !== '/' || s.ticks > 20) && editors.every((e) => e.remote.length > 5), 'traffic flowing');

  const t0 = performance.now();
  await io.close();
  const elapsed = performance.now() - t0;
  closed = true;
  clearInterval(ticker);
  editors.forEach((e) => e.stopTyping());
  t.diagnostic(`io.close() took ${elapsed.toFixed(0)} ms (closeTimeout ${CLOSE_TIMEOUT})`);
  // The client that never reads held the close until its closeTimeout, and no longer.
  assert.ok(elapsed >= CLOSE_TIMEOUT - 50, `close waited for the slow client (${elapsed} ms)`);
  assert.ok(elapsed < CLOSE_TIMEOUT + MARGIN, `close finished within closeTimeout + margin (${elapsed} ms)`);

  // Every reading client saw a close frame with 1001 (going away), not a reset; the polling
  // clients got the Engine.IO close packet ("transport close", not "transport error").
  await assertRawClosed(raws);
  for (const s of sios) {
    const reason = await withTimeout(s.reason, 10000, 'socket.io-client disconnect');
    assert.equal(reason, 'transport close', `socket.io-client over ${s.io.opts.transports[0]}`);
  }
  await assertEditorsClosedAndStored(editors, dir);
});

test('SIGTERM to the collabio CLI under load: exits 0 within closeTimeout, edits stored, clients closed with 1001', { timeout: 90000 }, async (t) => {
  const dir = tmpdir(t);
  const cli = path.join(__dirname, '..', '..', 'lib', 'cli.js');
  const child = spawn(process.execPath, [cli, '--port', '0', '--host', '127.0.0.1', '--data', dir, '--close-timeout', String(CLOSE_TIMEOUT)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor(() => /listening on ws:\/\/[^ ]+:(\d+)/.test(out), 'the CLI listening', 20000);
  const port = Number(/listening on ws:\/\/[^ ]+:(\d+)/.exec(out)[1]);
  const url = `ws://127.0.0.1:${port}`;

  const raws = await rawSockets(port, 3);
  t.after(() => raws.forEach((c) => c.terminate()));
  const editors = [];
  DOCS.forEach((name, i) => {
    for (let k = 0; k < 2; k++) editors.push(editor(url, name, `${'ab'[i]}${k}-`));
  });
  t.after(() => editors.forEach((e) => e.stop()));
  await waitFor(() => editors.every((e) => e.p.synced), 'editors synced');
  // A document client that never reads: the others' edits are relayed to it.
  const slow = await upgrade(port, `/${DOCS[0]}`);
  assert.equal(slow.status, 101);
  slow.sock.pause();
  t.after(() => slow.destroy());
  await waitFor(() => editors.every((e) => e.remote.length > 5), 'edits relayed');
  await delay(200);

  const t0 = performance.now();
  child.kill('SIGTERM');
  const { code, signal } = await withTimeout(exited, CLOSE_TIMEOUT + MARGIN, 'the CLI exits after SIGTERM');
  const elapsed = performance.now() - t0;
  editors.forEach((e) => e.stopTyping());
  t.diagnostic(`exit ${elapsed.toFixed(0)} ms after SIGTERM (closeTimeout ${CLOSE_TIMEOUT})`);
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.ok(elapsed < CLOSE_TIMEOUT + MARGIN);

  await assertRawClosed(raws);
  await assertEditorsClosedAndStored(editors, dir);
});

// The bound: with a thousand clients connected and documents being edited, io.close()
// takes closeTimeout (a client that never reads holds it that long) and at most one second more,
// and every edit the server acknowledged is in the store. The bound is the feature's contract
// (docs/LIMITS.md, closeTimeout), not a performance figure.
const FLEET = 1000;

test(`io.close() with ${FLEET} clients and documents being edited: within closeTimeout + 1 s, every acknowledged edit stored`, { timeout: 180000 }, async (t) => {
  const dir = tmpdir(t);
  const io = new Server({ closeTimeout: CLOSE_TIMEOUT, documents: { persistence: { dir }, unloadDelay: 200 } });
  io.listen(0, '127.0.0.1');
  const port = io.address().port;
  const url = `ws://127.0.0.1:${port}`;
  let closed = false;
  t.after(() => (closed ? undefined : io.close()));

  // Socket.IO edits of DOCS[1]: applied through a document handle and acknowledged once durable.
  const handle = io.documents.open(DOCS[1]);
  io.on('connection', (socket) => {
    socket.on('edit', (update, ack) => {
      handle.applyUpdate(new Uint8Array(update)).then(() => ack(true), () => ack(false));
    });
  });

  // The fleet: raw Engine.IO clients in a process of their own.
  const fleet = fork(path.join(__dirname, 'helpers', 'eio-fleet.js'), [String(port), String(FLEET)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  t.after(() => fleet.exitCode === null && fleet.kill('SIGKILL'));
  const fleetMessage = (key) => new Promise((resolve, reject) => {
    const on = (m) => {
      if (m.error) reject(new Error(`fleet: ${m.error}`));
      else if (m[key] !== undefined) {
        fleet.off('message', on);
        resolve(m);
      }
    };
    fleet.on('message', on);
  });
  const fleetClosed = fleetMessage('closed');
  fleetClosed.catch(() => {});
  await withTimeout(fleetMessage('ready'), 60000, `${FLEET} fleet clients joined`);
  assert.ok(io.stats().connections >= FLEET, `${io.stats().connections} connections`);

  // y-websocket editors of DOCS[0]: what the server relays to them it has stored first.
  const editors = [0, 1].map((k) => editor(url, DOCS[0], `a${k}-`));
  t.after(() => editors.forEach((e) => e.stop()));
  // A socket.io-client editor of DOCS[1]: keeps the updates the server acknowledged.
  const sio = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  t.after(() => sio.disconnect());
  await withTimeout(new Promise((resolve) => sio.once('connect', resolve)), 10000, 'socket.io-client connect');
  const sdoc = new Y.Doc();
  const acked = [];
  sdoc.on('update', (u) => sio.emit('edit', u, (ok) => ok && acked.push(u)));
  let n = 0;
  const typing = setInterval(() => sio.connected && sdoc.getText('t').insert(0, `s${n++} `), 10);
  t.after(() => clearInterval(typing));
  await waitFor(() => editors.every((e) => e.p.synced), 'editors synced');

  // A client that never reads holds the shutdown for closeTimeout; the fleet gets a broadcast.
  const slow = await neverReader(port);
  t.after(() => slow.raw.destroy());
  const big = 'z'.repeat(1 << 20);
  for (let i = 0; i < 8; i++) io.to(slow.sid).emit('big', big);
  const ticker = setInterval(() => io.emit('tick', n), 50);
  t.after(() => clearInterval(ticker));
  await waitFor(() => io.stats().bytesQueued > 4 << 20, 'megabytes queued for the client that never reads');
  await waitFor(() => editors.every((e) => e.remote.length > 5) && acked.length > 5, 'edits flowing');

  const t0 = performance.now();
  await io.close();
  const elapsed = performance.now() - t0;
  closed = true;
  clearInterval(ticker);
  clearInterval(typing);
  editors.forEach((e) => e.stopTyping());
  t.diagnostic(`io.close() with ${FLEET} clients took ${elapsed.toFixed(0)} ms (closeTimeout ${CLOSE_TIMEOUT})`);
  assert.ok(elapsed >= CLOSE_TIMEOUT - 50, `close waited for the slow client (${elapsed.toFixed(0)} ms)`);
  assert.ok(elapsed <= CLOSE_TIMEOUT + 1000, `close finished within closeTimeout + 1 s (${elapsed.toFixed(0)} ms)`);

  // Every fleet client got a close frame with 1001.
  const { closed: codes } = await withTimeout(fleetClosed, 20000, 'every fleet client closed');
  assert.deepEqual(codes, { 1001: FLEET }, 'close codes of the fleet');
  // Every edit relayed to a y-websocket editor, and every edit acknowledged to the socket.io-client
  // editor, is in the store.
  await assertEditorsClosedAndStored(editors, dir);
  const stored = await storedStates(dir);
  const s = new Y.Doc();
  Y.applyUpdate(s, stored[DOCS[1]]);
  const sv = Y.encodeStateVector(s);
  Y.applyUpdate(s, Y.mergeUpdates(acked));
  assert.deepEqual(Y.encodeStateVector(s), sv, `every one of the ${acked.length} acknowledged Socket.IO edits is stored`);
  handle.close();
});

test("io.close() does not wait for an idle document's unloadDelay", { timeout: 60000 }, async (t) => {
  const dir = tmpdir(t);
  const io = new Server({ closeTimeout: 500, documents: { persistence: { dir }, unloadDelay: 120000 } });
  io.listen(0, '127.0.0.1');
  const p = editor(`ws://127.0.0.1:${io.address().port}`, DOCS[0], 'x');
  t.after(() => p.stop());
  await waitFor(() => p.p.synced && p.doc.getText('t').length > 0, 'an edit');
  const h = io.documents.open(DOCS[0]);
  await h.encodeState();
  h.close();
  // The document is loaded and idle: no connection, no handle, unloading in 2 minutes.
  p.stop();
  await waitFor(() => io.stats().connections === 0, 'the editor gone', 10000);
  assert.equal(io.documents.loaded, 1);
  const t0 = performance.now();
  await withTimeout(io.close(), 500 + MARGIN, 'io.close()');
  assert.ok(performance.now() - t0 < 500 + MARGIN);
});
