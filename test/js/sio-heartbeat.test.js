'use strict';
// Engine.IO heartbeat: the server pings every pingInterval; an idle but healthy connection
// survives; a peer that stops answering is closed with "ping timeout".
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { once, withTimeout, delay, assertEchoWorks } = require('./helpers/clients');

// Dead peers are detected after pingInterval + pingTimeout = 300 ms.
const FAST = { pingInterval: 100, pingTimeout: 200 };
// For the survival tests: the client gives up 600 ms after the last ping it received, so staying
// connected for 1.5 s proves pings kept coming, with slack for a busy machine.
const IDLE = { pingInterval: 100, pingTimeout: 500 };

test('the open packet announces the configured pingInterval, pingTimeout and maxPayload', async (t) => {
  const { clients } = await setup(t, { ...FAST, maxHttpBufferSize: 12345 });
  const raw = await clients.raw();
  const open = await raw.opened;
  assert.deepStrictEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
  assert.equal(typeof open.sid, 'string');
  assert.ok(open.sid.length > 0);
  assert.deepStrictEqual(open.upgrades, []); // already on WebSocket
  assert.equal(open.pingInterval, 100);
  assert.equal(open.pingTimeout, 200);
  assert.equal(open.maxPayload, 12345);
});

test('defaults are socket.io defaults', async (t) => {
  const { clients } = await setup(t);
  const open = await (await clients.raw()).opened;
  assert.equal(open.pingInterval, 25000);
  assert.equal(open.pingTimeout, 20000);
  assert.equal(open.maxPayload, 1e6);
});

test('an idle socket.io-client connection survives many ping intervals', async (t) => {
  const { io, clients } = await setup(t, IDLE);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const reasons = [];
  client.on('disconnect', (r) => reasons.push(`client: ${r}`));
  socket.on('disconnect', (r) => reasons.push(`server: ${r}`));
  let pings = 0;
  client.io.on('ping', () => pings++); // the Manager emits 'ping' for each server ping
  await delay(1500); // fifteen ping intervals, more than twice pingInterval + pingTimeout
  assert.deepStrictEqual(reasons, []);
  assert.ok(pings >= 3, `the client saw server pings (${pings})`);
  assert.equal(client.connected, true);
  assert.equal(socket.connected, true);
  await assertEchoWorks(client, assert);
});

test('the server keeps pinging while traffic flows', async (t) => {
  const { clients } = await setup(t, IDLE);
  const raw = await clients.raw({ autoPong: true });
  await raw.connectNamespace();
  // Client traffic every 10 ms must not replace the server's Engine.IO pings: the client resets
  // its own liveness timer only when it receives a ping packet.
  let i = 0;
  const chatter = setInterval(() => raw.send(`42${++i}["echo",${i}]`), 10);
  t.after(() => clearInterval(chatter));
  for (let k = 0; k < 3; k++) assert.equal(await raw.next((m) => m === '2'), '2');
  clearInterval(chatter);
  assert.ok(raw.messages.some((m) => typeof m === 'string' && m.startsWith('43')), 'acks flowed meanwhile');
});

test('a raw Engine.IO client that answers pings stays connected', async (t) => {
  const { io, clients } = await setup(t, IDLE);
  const serverSide = nextConnection(io);
  const raw = await clients.raw({ autoPong: true });
  await raw.connectNamespace();
  const socket = await serverSide;
  let disconnected = false;
  socket.on('disconnect', () => (disconnected = true));
  for (let i = 0; i < 4; i++) await raw.next((m) => m === '2'); // four pings, each answered
  assert.equal(disconnected, false);
  raw.send('421["echo","raw"]');
  assert.equal(await raw.next((m) => typeof m === 'string' && m.startsWith('431')), '431["raw"]');
});

test('a client that stops answering pings is disconnected with "ping timeout"', async (t) => {
  const { io, clients } = await setup(t, FAST);
  const healthy = await clients.connect();
  const serverSide = nextConnection(io);
  const dead = await clients.raw(); // never answers the server's pings
  const sid = await dead.connectNamespace();
  const socket = await serverSide;
  assert.equal(socket.id, sid.sid);
  const [reason] = await once(socket, 'disconnect');
  assert.equal(reason, 'ping timeout');
  assert.ok(dead.messages.includes('2'), 'the server pinged before giving up');
  await withTimeout(dead.closed, undefined, 'dead client connection closed');
  assert.equal(healthy.connected, true);
  await assertEchoWorks(healthy, assert);
});

test('a client that never answers is detected even before it joins a namespace', async (t) => {
  const { io, clients } = await setup(t, { ...FAST, connectTimeout: 60000 });
  let connections = 0;
  io.on('connection', () => connections++);
  const dead = await clients.raw();
  const closed = await withTimeout(dead.closed, undefined, 'dead client closed');
  assert.equal(typeof closed.code, 'number');
  assert.equal(connections, 0);
  assert.ok(dead.messages.includes('2'), 'the server pinged before giving up');
});
