'use strict';
// The broadcast operator: volatile, compress, local, timeout with acks from every recipient,
// emitWithAck on a broadcast, socketsJoin / socketsLeave, disconnectSockets, fetchSockets; with
// clients on both transports.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./helpers/harness');
const { once, withTimeout, delay, until } = require('./helpers/clients');

/** n connected clients (alternating polling-only and websocket) and their server sockets, by client id. */
async function connectMany(io, clients, n) {
  const servers = new Map();
  io.on('connection', (socket) => servers.set(socket.id, socket));
  const list = [];
  for (let i = 0; i < n; i++) list.push(await clients.connect({ transports: i % 2 ? ['polling'] : ['websocket'] }));
  await until(() => servers.size >= n, 'every server-side socket');
  return { list, servers };
}

test('volatile, compress and local broadcasts reach idle clients', async (t) => {
  const { io, clients } = await setup(t);
  const { list } = await connectMany(io, clients, 2);
  for (const [op, name] of [
    [io.volatile, 'volatile'],
    [io.compress(false), 'compress'],
    [io.local, 'local'],
    [io.to('nobody').local.except('x'), 'none'],
  ]) {
    if (name === 'none') {
      op.emit('never');
      continue;
    }
    // A volatile packet is dropped for a polling client with no GET waiting (socket.io does the
    // same): only the websocket client is sure to get it.
    const got = (name === 'volatile' ? [list[0]] : list).map((c) => once(c, name));
    op.emit(name, 1);
    for (const g of got) assert.deepEqual(await g, [1]);
  }
  let never = false;
  for (const c of list) c.on('never', () => (never = true));
  await delay(50);
  assert.equal(never, false);
});

test('timeout(ms).emit with a callback collects an ack from every recipient', async (t) => {
  const { io, clients } = await setup(t);
  const { list } = await connectMany(io, clients, 3);
  list.forEach((c, i) => c.on('q', (x, ack) => ack(x + i)));
  const [err, responses] = await withTimeout(new Promise((resolve) => io.timeout(2000).emit('q', 10, (...a) => resolve(a))));
  assert.equal(err, null);
  assert.deepEqual([...responses].sort(), [10, 11, 12]);
});

test('timeout(ms).emit reports a timeout with the acks that did arrive', async (t) => {
  const { io, clients } = await setup(t);
  const { list } = await connectMany(io, clients, 2);
  list[0].on('q', (ack) => ack('yes'));
  list[1].on('q', () => {}); // never answers
  const [err, responses] = await withTimeout(new Promise((resolve) => io.timeout(200).emit('q', (...a) => resolve(a))));
  assert.ok(err instanceof Error);
  assert.deepEqual(responses, ['yes']);
});

test('emitWithAck on a broadcast resolves with every response, rejects on timeout', async (t) => {
  const { io, clients } = await setup(t);
  const { list, servers } = await connectMany(io, clients, 2);
  list.forEach((c) => c.on('name', (ack) => ack(c.id)));
  const responses = await withTimeout(io.timeout(2000).emitWithAck('name'));
  assert.deepEqual([...responses].sort(), list.map((c) => c.id).sort());
  servers.get(list[0].id).join('one');
  assert.deepEqual(await withTimeout(io.to('one').timeout(2000).emitWithAck('name')), [list[0].id]);
  list[1].off('name');
  list[1].on('name', () => {});
  await assert.rejects(withTimeout(io.timeout(150).emitWithAck('name')), /timed out/);
});

test('socketsJoin, socketsLeave and disconnectSockets act on the matching sockets', async (t) => {
  const { io, clients } = await setup(t);
  const { list, servers } = await connectMany(io, clients, 3);
  const [a, b, c] = list.map((cl) => servers.get(cl.id));
  a.join('red');
  b.join('red');
  io.in('red').socketsJoin(['team', 'extra']);
  assert.deepEqual([...a.rooms].sort(), [a.id, 'extra', 'red', 'team'].sort());
  assert.deepEqual([...c.rooms], [c.id]);
  // The native rooms follow: a broadcast to 'team' reaches a and b only.
  const got = [];
  list.forEach((cl, i) => cl.on('team-news', () => got.push(i)));
  io.to('team').emit('team-news');
  await until(() => got.length >= 2, 'both room members');
  await delay(30);
  assert.deepEqual(got.sort(), [0, 1]);

  io.in('red').socketsLeave('extra');
  assert.equal(a.rooms.has('extra'), false);
  assert.equal(a.rooms.has('team'), true);

  const fetched = await io.in('team').fetchSockets();
  assert.deepEqual(fetched.map((s) => s.id).sort(), [a.id, b.id].sort());
  assert.ok(fetched.every((s) => s.rooms.has('team') && typeof s.emit === 'function'));

  const gone = [once(list[0], 'disconnect'), once(list[1], 'disconnect')];
  io.in('red').disconnectSockets();
  for (const g of gone) assert.equal((await g)[0], 'io server disconnect');
  assert.equal(list[2].connected, true);
  const closed = once(list[2], 'disconnect');
  io.disconnectSockets(true);
  assert.equal((await closed)[0], 'io server disconnect');
});
