'use strict';
// Rooms: join/leave, io.to/in/except (chained), socket.to, socket.broadcast, io.emit, and
// fetchSockets with its remote-socket methods.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./helpers/harness');
const { withTimeout } = require('./helpers/clients');

/**
 * Connects `names.length` clients; each records the 'msg' events it receives. Returns
 * { clients: {name: socket}, servers: {name: serverSocket}, got: {name: [...]}, settle() }.
 * settle() waits until a marker sent after the messages has reached every client, so "did not
 * receive" is checked without sleeping.
 */
async function room(t, names) {
  const ctx = await setup(t);
  const servers = {};
  const clients = {};
  const got = {};
  for (const name of names) {
    const serverSide = new Promise((resolve) => ctx.io.once('connection', resolve));
    const c = await ctx.clients.connect({ auth: { name } });
    got[name] = [];
    c.on('msg', (...args) => got[name].push(args.length === 1 ? args[0] : args));
    clients[name] = c;
    servers[name] = await serverSide;
    assert.equal(servers[name].handshake.auth.name, name);
  }
  let marker = 0;
  async function settle() {
    // A marker emitted to every client individually after the messages under test; socket.io keeps
    // per-connection order, so once it arrives every earlier message has arrived too.
    const id = `marker-${++marker}`;
    const arrivals = names.map(
      (name) => new Promise((resolve) => clients[name].once(id, resolve)),
    );
    for (const name of names) servers[name].emit(id);
    await withTimeout(Promise.all(arrivals), undefined, 'settle');
  }
  return { ...ctx, clients, servers, got, settle };
}


test('join puts a socket in rooms; io.to(room) reaches exactly its members', async (t) => {
  const { io, servers, got, settle } = await room(t, ['a', 'b', 'c', 'd']);
  servers.a.join('red');
  servers.b.join(['red', 'blue']);
  servers.c.join('blue');
  assert.deepStrictEqual([...servers.b.rooms].sort(), [servers.b.id, 'blue', 'red'].sort());
  io.to('red').emit('msg', 'to red');
  io.in('blue').emit('msg', 'in blue');
  io.to('red').to('blue').emit('msg', 'red or blue once');
  io.to(['red', 'blue']).emit('msg', 'array form once');
  io.to('nobody').emit('msg', 'to an empty room');
  await settle();
  assert.deepStrictEqual(got, {
    a: ['to red', 'red or blue once', 'array form once'],
    b: ['to red', 'in blue', 'red or blue once', 'array form once'],
    c: ['in blue', 'red or blue once', 'array form once'],
    d: [],
  });
});

test('except excludes room members, also chained with to', async (t) => {
  const { io, servers, got, settle } = await room(t, ['a', 'b', 'c', 'd']);
  servers.a.join('red');
  servers.b.join(['red', 'vip']);
  servers.c.join('vip');
  io.except('vip').emit('msg', 'all but vip');
  io.to('red').except('vip').emit('msg', 'red but not vip');
  io.except('red').except('vip').emit('msg', 'neither');
  io.except(['red', 'vip']).emit('msg', 'neither (array)');
  io.to(servers.d.id).emit('msg', 'private to d');
  await settle();
  assert.deepStrictEqual(got, {
    a: ['all but vip', 'red but not vip'],
    b: [],
    c: [],
    d: ['all but vip', 'neither', 'neither (array)', 'private to d'],
  });
});

test('socket.to(room) and socket.broadcast exclude the sender', async (t) => {
  const { servers, got, settle } = await room(t, ['a', 'b', 'c']);
  servers.a.join('red');
  servers.b.join('red');
  servers.a.to('red').emit('msg', 'a to red');
  servers.a.broadcast.emit('msg', 'a broadcast');
  servers.c.broadcast.to('red').emit('msg', 'c broadcast to red');
  servers.b.except('red').emit('msg', 'b except red');
  await settle();
  assert.deepStrictEqual(got, {
    a: ['c broadcast to red'],
    b: ['a to red', 'a broadcast', 'c broadcast to red'],
    c: ['a broadcast', 'b except red'],
  });
});

test('io.emit reaches every connected socket; broadcast carries several arguments and binary', async (t) => {
  const { io, got, settle } = await room(t, ['a', 'b', 'c']);
  io.emit('msg', 'everyone');
  io.emit('msg', 1, { two: 2 }, Buffer.from([3]));
  await settle();
  for (const name of ['a', 'b', 'c']) {
    assert.equal(got[name][0], 'everyone');
    const [one, two, three] = got[name][1];
    assert.equal(one, 1);
    assert.deepStrictEqual(two, { two: 2 });
    assert.deepStrictEqual([...new Uint8Array(three)], [3]);
  }
});

test('leave stops delivery; leaving a room one is not in is harmless', async (t) => {
  const { io, servers, got, settle } = await room(t, ['a', 'b']);
  servers.a.join('red');
  servers.b.join('red');
  io.to('red').emit('msg', 'first');
  await settle();
  servers.a.leave('red');
  servers.b.leave('not-joined');
  assert.deepStrictEqual([...servers.a.rooms], [servers.a.id]);
  io.to('red').emit('msg', 'second');
  await settle();
  assert.deepStrictEqual(got, { a: ['first'], b: ['first', 'second'] });
});

test('a disconnected socket leaves its rooms', async (t) => {
  const { io, clients, servers, got } = await room(t, ['a', 'b']);
  servers.a.join('red');
  servers.b.join('red');
  const gone = new Promise((resolve) => servers.a.once('disconnect', resolve));
  clients.a.disconnect();
  await withTimeout(gone);
  assert.equal(servers.a.connected, false);
  assert.equal(servers.a.rooms.size, 0);
  io.to('red').emit('msg', 'after a left');
  const sockets = await io.in('red').fetchSockets();
  assert.deepStrictEqual(sockets.map((s) => s.id), [servers.b.id]);
  await withTimeout(new Promise((resolve) => (got.b.length ? resolve() : clients.b.once('msg', resolve))));
  assert.deepStrictEqual(got.a, []);
  assert.deepStrictEqual(got.b, ['after a left']);
});

test('rooms emitted to from a handler: chat relay with socket.to', async (t) => {
  const { clients, servers, got, settle } = await room(t, ['a', 'b', 'c']);
  for (const s of Object.values(servers)) {
    s.on('say', (roomName, text) => s.to(roomName).emit('msg', `${s.handshake.auth.name}: ${text}`));
    s.on('enter', (roomName, ack) => {
      s.join(roomName);
      ack();
    });
  }
  await clients.a.emitWithAck('enter', 'chat');
  await clients.b.emitWithAck('enter', 'chat');
  await clients.a.emitWithAck('echo', 'sync'); // the 'say' below is processed after the joins
  clients.a.emit('say', 'chat', 'hello');
  await withTimeout(new Promise((resolve) => clients.b.once('msg', resolve)));
  await settle();
  assert.deepStrictEqual(got, { a: [], b: ['a: hello'], c: [] });
});

test('fetchSockets returns remote sockets with id, handshake, rooms, data', async (t) => {
  const { io, servers } = await room(t, ['a', 'b', 'c']);
  servers.a.join('red');
  servers.b.join('red');
  servers.a.data.role = 'admin';
  const all = await io.fetchSockets();
  assert.deepStrictEqual(all.map((s) => s.id).sort(), [servers.a.id, servers.b.id, servers.c.id].sort());
  const red = await io.in('red').fetchSockets();
  assert.deepStrictEqual(red.map((s) => s.id).sort(), [servers.a.id, servers.b.id].sort());
  const a = red.find((s) => s.id === servers.a.id);
  assert.equal(a.handshake.auth.name, 'a');
  assert.ok(a.rooms.has('red') && a.rooms.has(servers.a.id));
  assert.equal(a.data.role, 'admin');
  const notRed = await io.except('red').fetchSockets();
  assert.deepStrictEqual(notRed.map((s) => s.id), [servers.c.id]);
  assert.deepStrictEqual(await io.in('nobody').fetchSockets(), []);
});

test('fetched sockets can emit, join, leave and disconnect', async (t) => {
  const { io, clients, servers, got, settle } = await room(t, ['a', 'b']);
  const [remoteA] = (await io.fetchSockets()).filter((s) => s.id === servers.a.id);
  remoteA.emit('msg', 'direct');
  remoteA.join('green');
  assert.ok(servers.a.rooms.has('green'));
  io.to('green').emit('msg', 'to green');
  await settle();
  remoteA.leave('green');
  assert.ok(!servers.a.rooms.has('green'));
  io.to('green').emit('msg', 'to green again');
  await settle();
  assert.deepStrictEqual(got, { a: ['direct', 'to green'], b: [] });

  const clientReason = new Promise((resolve) => clients.b.once('disconnect', resolve));
  const serverReason = new Promise((resolve) => servers.b.once('disconnect', resolve));
  const [remoteB] = await io.in(servers.b.id).fetchSockets();
  remoteB.disconnect();
  assert.equal(await withTimeout(clientReason), 'io server disconnect');
  assert.equal(await withTimeout(serverReason), 'server namespace disconnect');
});

test('kicking a room through fetchSockets leaves other clients connected', async (t) => {
  const { io, clients, servers } = await room(t, ['a', 'b', 'c']);
  servers.a.join('kick');
  servers.b.join('kick');
  const reasons = Promise.all(
    ['a', 'b'].map((n) => new Promise((resolve) => clients[n].once('disconnect', resolve))),
  );
  for (const s of await io.in('kick').fetchSockets()) s.disconnect(true);
  assert.deepStrictEqual(await withTimeout(reasons), ['io server disconnect', 'io server disconnect']);
  assert.equal(await withTimeout(clients.c.emitWithAck('echo', 'c ok')), 'c ok');
});
