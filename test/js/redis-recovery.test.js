'use strict';
// Connection state recovery across the nodes of a Redis fleet (lib/redis-recovery.js): sessions and
// the packet log live in Redis, written as sockets connect and join, so a client whose node was
// SIGKILLed recovers on another node with its id, rooms, data and every event it missed, in order.
// The client is the real socket.io-client; it reaches the nodes through a TCP proxy, as behind a
// load balancer: the proxy sends new connections to the node the test says.
const test = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');
const { io: ioClient } = require('socket.io-client');
const { collabioNode, childNode: fleetChild, joinFromAuth } = require('./helpers/fleet');
const { startRedis } = require('./helpers/redis-server');
const { once, delay, until } = require('./helpers/clients');

/** A collabio node with recovery in this process (helpers/fleet.js), its sockets set up by joinFromAuth. */
async function localNode(t, url, maxDisconnectionDuration) {
  const node = await collabioNode(url, { maxDisconnectionDuration });
  t.after(() => node.close());
  joinFromAuth(node.io);
  return node;
}

/** The same node in a child process, so that the test can SIGKILL it: { port, emit(room, event, ...args), kill() }. */
function childNode(t, url, maxDisconnectionDuration) {
  return fleetChild(url, { kind: 'collabio', maxDisconnectionDuration, t });
}

/** A TCP proxy on a loopback port: each new connection goes to `proxy.target` (a port), or is refused while it is null. */
async function tcpProxy(t, target) {
  const proxy = { target, url: '' };
  const open = new Set();
  const server = net.createServer((inbound) => {
    open.add(inbound);
    inbound.on('close', () => open.delete(inbound));
    inbound.on('error', () => {});
    if (proxy.target === null) return inbound.destroy();
    const outbound = net.connect(proxy.target, '127.0.0.1');
    open.add(outbound);
    outbound.on('close', () => open.delete(outbound));
    outbound.on('error', () => inbound.destroy());
    inbound.pipe(outbound).pipe(inbound);
    outbound.on('close', () => inbound.destroy());
    inbound.on('close', () => outbound.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${server.address().port}`;
  t.after(() => {
    for (const s of open) s.destroy();
    server.close();
  });
  return proxy;
}

function client(t, url, auth, transports = ['websocket']) {
  const socket = ioClient(url, { transports, forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200, auth });
  t.after(() => socket.disconnect());
  return socket;
}

for (const transports of [['websocket'], ['polling', 'websocket']]) {
  const over = transports.length === 1 ? 'WebSocket' : 'polling that upgraded';
  test(`node SIGKILLed (${over}): the client recovers on another node with its id, rooms, data and every missed event in order`, async (t) => {
    const redis = await startRedis(t);
    const b = await localNode(t, redis.url, 10000);
    const a = await childNode(t, redis.url, 10000);
    const proxy = await tcpProxy(t, a.port);
    const socket = client(t, proxy.url, { room: 'r1', data: { name: 'ada' } }, transports);
    const got = [];
    socket.on('tick', (n) => got.push(n));
    await once(socket, 'connect');
    // (The upgrade may complete before 'connect' is emitted: wait on the state, not the event.)
    if (transports.length > 1) await until(() => socket.io.engine.transport.name === 'websocket', 'the upgrade to WebSocket');
    const id = socket.id;
    // Until node A reads the packet log: then the client holds an offset.
    // Emitting again every 100 ms until one arrives.
    let last = 0;
    await until(() => {
      if (got.length > 0) return true;
      if (Date.now() - last >= 100) {
        a.emit('r1', 'tick', 'warm-up');
        last = Date.now();
      }
      return false;
    }, 'first event through node A');
    await delay(100); // the other warm-up events in flight arrive
    const seen = got.length;

    proxy.target = null; // no node until the events below are logged
    const disconnected = once(socket, 'disconnect');
    await a.kill();
    assert.equal((await disconnected)[0], 'transport close');
    b.io.to('r1').emit('tick', 1);
    b.io.to('other').emit('tick', 'not for r1');
    b.io.except('r1').emit('tick', 'except r1');
    b.io.to('r1').emit('tick', 2, { nested: [true] });
    b.io.emit('tick', 3);
    b.io.to('r1').volatile.emit('tick', 'volatile: not logged');
    await delay(200); // appended to the log (XADD), read by node B

    const connected = once(socket, 'connect');
    proxy.target = b.port;
    await connected;
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    await until(() => got.length >= seen + 3, 'the missed events');
    assert.deepEqual(got.slice(seen), [1, 2, 3]);
    const serverSide = b.io.of('/').sockets.get(id);
    assert.ok(serverSide, 'node B has the socket under its old id');
    assert.equal(serverSide.recovered, true);
    assert.ok(serverSide.rooms.has('r1'));
    assert.deepEqual(serverSide.data, { name: 'ada' });
    // And it goes on: a room broadcast from node B reaches it, once.
    b.io.to('r1').emit('tick', 4);
    await until(() => got.length >= seen + 4, 'an event after the recovery');
    await delay(100);
    assert.deepEqual(got.slice(seen), [1, 2, 3, 4]);
  });
}

test('a session older than maxDisconnectionDuration is not recovered: new id, no missed events', async (t) => {
  const redis = await startRedis(t);
  const b = await localNode(t, redis.url, 1000);
  const a = await childNode(t, redis.url, 1000);
  const proxy = await tcpProxy(t, a.port);
  const socket = client(t, proxy.url, { room: 'r1' });
  const got = [];
  socket.on('tick', (n) => got.push(n));
  await once(socket, 'connect');
  const id = socket.id;
  // Emitting again every 100 ms until one arrives.
  let last = 0;
  await until(() => {
    if (got.length > 0) return true;
    if (Date.now() - last >= 100) {
      a.emit('r1', 'tick', 'warm-up');
      last = Date.now();
    }
    return false;
  }, 'first event through node A');
  proxy.target = null;
  await a.kill();
  b.io.to('r1').emit('tick', 'missed');
  await delay(2500); // past maxDisconnectionDuration (its session was last renewed before the kill)
  const seen = got.length;
  const connected = once(socket, 'connect');
  proxy.target = b.port;
  await connected;
  assert.equal(socket.recovered, false);
  assert.notEqual(socket.id, id);
  await delay(200);
  assert.deepEqual(got.slice(seen), []);
});

test('two nodes emitting at once: clients of both see the logged events in one order', async (t) => {
  const redis = await startRedis(t);
  const a = await localNode(t, redis.url, 10000);
  const b = await localNode(t, redis.url, 10000);
  const onA = client(t, `http://127.0.0.1:${a.port}`, {});
  const onB = client(t, `http://127.0.0.1:${b.port}`, {});
  const gotA = [];
  const gotB = [];
  onA.on('n', (x) => gotA.push(x));
  onB.on('n', (x) => gotB.push(x));
  await Promise.all([once(onA, 'connect'), once(onB, 'connect')]);
  const N = 200;
  for (let i = 0; i < N; i++) {
    a.io.emit('n', `a${i}`);
    b.io.emit('n', `b${i}`);
  }
  await until(() => gotA.length === 2 * N && gotB.length === 2 * N, 'every event on both clients');
  assert.deepEqual(gotA, gotB);
  // Each node's own events keep their emission order.
  assert.deepEqual(gotA.filter((x) => x[0] === 'a'), Array.from({ length: N }, (_, i) => `a${i}`));
  assert.deepEqual(gotA.filter((x) => x[0] === 'b'), Array.from({ length: N }, (_, i) => `b${i}`));
});

test('writes to Redis that fail are counted and logged: a socket.data that is not JSON, an append Redis refuses', async (t) => {
  const redis = await startRedis(t);
  const node = await localNode(t, redis.url, 10000);
  const warnings = [];
  const onWarning = (w) => {
    if (w.name === 'CollabioWarning') warnings.push(w);
  };
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const socket = client(t, `http://127.0.0.1:${node.port}`, { room: 'r1' });
  const got = [];
  socket.on('tick', (n) => got.push(n));
  await once(socket, 'connect');
  assert.equal(node.io.stats().recoveryErrors, 0);

  // socket.data that JSON.stringify refuses: the session cannot be stored.
  const [serverSide] = node.io.of('/').sockets.values();
  const cyclic = {};
  cyclic.self = cyclic;
  serverSide.data = cyclic;
  serverSide.join('r2'); // a join writes the session
  await until(() => node.io.stats().recoveryErrors === 1, 'the unstorable session counted');
  await until(() => warnings.length === 1, 'the warning (emitted on the next tick)');
  assert.match(warnings.at(-1).message, /storing session .*socket\.data is not JSON/);
  assert.equal(warnings.at(-1).code, 'COLLABIO_RECOVERY_FAILED');
  serverSide.data = {};

  // An append Redis refuses (the packet log's key holds a string, so XADD answers WRONGTYPE): the
  // event still reaches this node's sockets, and the failure is counted. (While Redis is only
  // unreachable, appends wait on the connection and go out after the reconnect.)
  const adapter = node.io.of('/').adapter;
  await adapter._cluster.command(['SET', adapter._recovery.streamKey, 'not a stream']);
  node.io.to('r1').emit('tick', 'not logged');
  await until(() => got.includes('not logged'), 'the event on this node');
  await until(() => node.io.stats().recoveryErrors >= 2, 'the failed append counted');
  assert.match(node.io.metrics(), /^collabio_recovery_errors_total [2-9]\d*$/m);
});
