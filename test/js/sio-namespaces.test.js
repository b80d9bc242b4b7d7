'use strict';
// Namespaces: io.of('/name'), dynamic namespaces from a RegExp or a function, per-namespace
// middleware, 'Invalid namespace', 'new_namespace', and one connection carrying several
// namespaces (also over polling).
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./helpers/harness');
const { once, withTimeout, until } = require('./helpers/clients');

test('io.of(name): a namespace with its own connection event and middleware', async (t) => {
  const { io, clients } = await setup(t);
  const admin = io.of('/admin');
  admin.use((socket, next) => (socket.handshake.auth.role === 'admin' ? next() : next(new Error('admins only'))));
  const connected = new Promise((resolve) => admin.on('connection', resolve));
  const client = await clients.connect({ path: '/admin', auth: { role: 'admin' } });
  const socket = await connected;
  assert.equal(socket.nsp.name, '/admin');
  assert.equal(socket.id, client.id);

  const refused = clients.create({ path: '/admin', auth: { role: 'guest' } });
  const [err] = await once(refused, 'connect_error');
  assert.equal(err.message, 'admins only');
});

test('an unknown namespace is refused with "Invalid namespace"', async (t) => {
  const { clients } = await setup(t);
  const client = clients.create({ path: '/nowhere' });
  const [err] = await once(client, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
});

test('new_namespace is emitted for io.of()', async (t) => {
  const { io } = await setup(t);
  const seen = [];
  io.on('new_namespace', (nsp) => seen.push(nsp.name));
  io.of('/one');
  io.of('/one');
  io.of('/two');
  assert.deepEqual(seen, ['/one', '/two']);
});

test('dynamic namespace from a RegExp: child namespaces get the parent handlers and middleware', async (t) => {
  const { io, clients } = await setup(t);
  const created = [];
  io.on('new_namespace', (nsp) => created.push(nsp.name));
  const parent = io.of(/^\/room-\d+$/);
  const order = [];
  parent.use((socket, next) => {
    order.push('middleware:' + socket.nsp.name);
    next();
  });
  const connections = [];
  parent.on('connection', (socket) => {
    connections.push(socket.nsp.name);
    socket.on('where', (ack) => ack(socket.nsp.name));
  });
  const a = await clients.connect({ path: '/room-1' });
  const b = await clients.connect({ path: '/room-22' });
  assert.equal(await withTimeout(a.emitWithAck('where')), '/room-1');
  assert.equal(await withTimeout(b.emitWithAck('where')), '/room-22');
  assert.deepEqual(connections, ['/room-1', '/room-22']);
  assert.deepEqual(order, ['middleware:/room-1', 'middleware:/room-22']);
  assert.deepEqual(created, ['/room-1', '/room-22']);

  // The parent's emit reaches every child namespace.
  const gotA = once(a, 'news');
  const gotB = once(b, 'news');
  parent.emit('news', 'for all rooms');
  assert.deepEqual(await gotA, ['for all rooms']);
  assert.deepEqual(await gotB, ['for all rooms']);

  const refused = clients.create({ path: '/room-x' });
  const [err] = await once(refused, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
});

test('dynamic namespace from a function sees the name and the auth', async (t) => {
  const { io, clients } = await setup(t);
  const asked = [];
  io.of((name, auth, next) => {
    asked.push([name, auth]);
    next(null, name.startsWith('/team-') && auth.token === 'ok');
  }).on('connection', (socket) => socket.emit('welcome', socket.nsp.name));
  const client = clients.create({ path: '/team-blue', auth: { token: 'ok' } });
  const [name] = await once(client, 'welcome');
  assert.equal(name, '/team-blue');
  const refused = clients.create({ path: '/team-red', auth: { token: 'bad' } });
  const [err] = await once(refused, 'connect_error');
  assert.equal(err.message, 'Invalid namespace');
  assert.deepEqual(asked, [
    ['/team-blue', { token: 'ok' }],
    ['/team-red', { token: 'bad' }],
  ]);
  // The child exists now: io.of(name) returns it.
  assert.equal(io.of('/team-blue').sockets.size, 1);
});

// socket.io's cleanupEmptyChildNamespaces (4.6+): a dynamic child namespace is removed with its last
// socket, and a client connecting to that name afterwards gets a new child (its 'connection'
// handlers run again). io._nsps is private in both servers; these tests read it as socket.io's own do.
test('cleanupEmptyChildNamespaces: a child namespace goes with its last socket and comes back on demand', async (t) => {
  const { io, clients } = await setup(t, { cleanupEmptyChildNamespaces: true });
  const parent = io.of(/^\/dyn-\d+$/);
  const connections = [];
  parent.on('connection', (socket) => connections.push(socket.nsp));
  const a = await clients.connect({ path: '/dyn-1' });
  const b = await clients.connect({ path: '/dyn-1' });
  assert.equal(connections.length, 2);
  const first = connections[0];
  assert.equal(io._nsps.get('/dyn-1'), first);
  a.disconnect();
  await until(() => first.sockets.size === 1, 'one socket left in the child namespace');
  assert.equal(io._nsps.get('/dyn-1'), first, 'kept while a socket remains');
  b.disconnect();
  await until(() => !io._nsps.has('/dyn-1'), 'the empty child namespace removed');
  const c = await clients.connect({ path: '/dyn-1' });
  assert.equal(connections.length, 3);
  assert.notEqual(connections[2], first, 'a new child namespace');
  assert.equal(io._nsps.get('/dyn-1'), connections[2]);
  assert.equal(c.connected, true);
});

test('without cleanupEmptyChildNamespaces an empty child namespace stays', async (t) => {
  const { io, clients } = await setup(t);
  io.of(/^\/dyn-\d+$/);
  const a = await clients.connect({ path: '/dyn-2' });
  const child = io._nsps.get('/dyn-2');
  assert.ok(child);
  a.disconnect();
  await until(() => child.sockets.size === 0, 'the child namespace empty');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(io._nsps.get('/dyn-2'), child);
});

test('one connection carries several namespaces, also over polling', async (t) => {
  const { io, clients } = await setup(t);
  io.of('/chat').on('connection', (socket) => socket.on('hi', (ack) => ack('chat')));
  io.on('connection', (socket) => socket.on('hi', (ack) => ack('main')));
  for (const transports of [['websocket'], ['polling']]) {
    const main = await clients.connect({ transports });
    const chat = main.io.socket('/chat');
    await once(chat, 'connect');
    assert.equal(await withTimeout(main.emitWithAck('hi')), 'main');
    assert.equal(await withTimeout(chat.emitWithAck('hi')), 'chat');
    chat.disconnect();
  }
});
