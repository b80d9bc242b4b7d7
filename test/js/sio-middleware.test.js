'use strict';
// io.use middleware: order, access to the handshake, async next(), and rejection with
// connect_error carrying err.message and err.data.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { once, withTimeout, delay, assertEchoWorks } = require('./helpers/clients');

test('middlewares run in order before connection and can set socket.data', async (t) => {
  const { io, clients } = await setup(t);
  const order = [];
  io.use((socket, next) => {
    order.push('first');
    assert.equal(socket.handshake.auth.token, 'secret');
    socket.data.user = 'ann';
    next();
  });
  io.use(async (socket, next) => {
    order.push('second');
    await delay(20); // next() may be called later
    next();
  });
  io.on('connection', () => order.push('connection'));
  const serverSide = nextConnection(io);
  const client = await clients.connect({ auth: { token: 'secret' } });
  const socket = await serverSide;
  assert.deepStrictEqual(order, ['first', 'second', 'connection']);
  assert.equal(socket.data.user, 'ann');
  await assertEchoWorks(client, assert);
});

test('next(err) rejects the connection: connect_error with message and data', async (t) => {
  const { io, clients } = await setup(t);
  let connections = 0;
  io.use((socket, next) => {
    if (socket.handshake.auth.token === 'good') return next();
    const err = new Error('not authorized');
    err.data = { code: 401, reason: 'bad token', nested: { list: [1, 'two', null] }, text: 'ü😀' };
    next(err);
  });
  io.on('connection', () => connections++);
  const rejected = clients.create({ auth: { token: 'bad' } });
  const [err] = await once(rejected, 'connect_error');
  assert.ok(err instanceof Error);
  assert.equal(err.message, 'not authorized');
  assert.deepStrictEqual(err.data, { code: 401, reason: 'bad token', nested: { list: [1, 'two', null] }, text: 'ü😀' });
  assert.equal(rejected.connected, false);
  assert.equal(connections, 0);

  // Other clients are unaffected.
  const accepted = await clients.connect({ auth: { token: 'good' } });
  await assertEchoWorks(accepted, assert);
  assert.equal(connections, 1);
});

test('next(err) without data gives connect_error with only the message', async (t) => {
  const { io, clients } = await setup(t);
  io.use((socket, next) => next(new Error('go away')));
  const rejected = clients.create();
  const [err] = await once(rejected, 'connect_error');
  assert.equal(err.message, 'go away');
  assert.equal(err.data, undefined);
});

test('a rejecting middleware stops the chain', async (t) => {
  const { io, clients } = await setup(t);
  const ran = [];
  io.use((socket, next) => {
    ran.push(1);
    next(new Error('stop'));
  });
  io.use((socket, next) => {
    ran.push(2);
    next();
  });
  const rejected = clients.create();
  const [err] = await once(rejected, 'connect_error');
  assert.equal(err.message, 'stop');
  await delay(50);
  assert.deepStrictEqual(ran, [1]);
});

test('the rejected client may connect again with better credentials', async (t) => {
  const { io, clients } = await setup(t);
  io.use((socket, next) => (socket.handshake.auth.ok ? next() : next(new Error('no'))));
  const client = clients.create({ auth: { ok: false } });
  await once(client, 'connect_error');
  client.auth = { ok: true };
  client.connect();
  await withTimeout(once(client, 'connect'));
  await assertEchoWorks(client, assert);
});

test('many rejected clients at once do not disturb a connected one', async (t) => {
  const { io, clients } = await setup(t);
  io.use((socket, next) => (socket.handshake.query.ok ? next() : next(new Error('rejected'))));
  const good = await clients.connect({ query: { ok: '1' } });
  const errors = await Promise.all(
    Array.from({ length: 20 }, () => once(clients.create(), 'connect_error').then(([e]) => e.message)),
  );
  assert.deepStrictEqual(errors, Array(20).fill('rejected'));
  await assertEchoWorks(good, assert);
});
