'use strict';
// Disconnection from either side, with socket.io's reason strings.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { once, withTimeout, delay, assertEchoWorks } = require('./helpers/clients');

async function pair(t, opts) {
  const ctx = await setup(t, opts);
  const serverSide = nextConnection(ctx.io);
  const client = await ctx.clients.connect();
  const socket = await serverSide;
  return { ...ctx, client, socket };
}

test('server kick: the client sees "io server disconnect", the server "server namespace disconnect"', async (t) => {
  const { client, socket, clients } = await pair(t);
  const other = await clients.connect();
  const clientReason = once(client, 'disconnect');
  const serverReason = once(socket, 'disconnect');
  socket.disconnect();
  assert.equal((await clientReason)[0], 'io server disconnect');
  assert.equal((await serverReason)[0], 'server namespace disconnect');
  assert.equal(socket.connected, false);
  assert.equal(client.connected, false);
  await assertEchoWorks(other, assert);
});

test('server kick with close=true gives the same reasons', async (t) => {
  const { client, socket } = await pair(t);
  const clientReason = once(client, 'disconnect');
  const serverReason = once(socket, 'disconnect');
  socket.disconnect(true);
  assert.equal((await clientReason)[0], 'io server disconnect');
  assert.equal((await serverReason)[0], 'server namespace disconnect');
});

test('client disconnect: the server sees "client namespace disconnect"', async (t) => {
  const { client, socket } = await pair(t);
  const serverReason = once(socket, 'disconnect');
  client.disconnect();
  assert.equal((await serverReason)[0], 'client namespace disconnect');
  assert.equal(socket.connected, false);
});

test('client connection dropped: the server sees "transport close"', async (t) => {
  const { client, socket } = await pair(t);
  const serverReason = once(socket, 'disconnect');
  client.io.engine.transport.ws.terminate(); // TCP goes away without a close handshake
  assert.equal((await serverReason)[0], 'transport close');
});

test('disconnecting fires before disconnect with the rooms still joined', async (t) => {
  const { client, socket } = await pair(t);
  socket.join('red');
  const events = [];
  socket.on('disconnecting', (reason) => events.push(['disconnecting', reason, [...socket.rooms].sort()]));
  socket.on('disconnect', (reason) => events.push(['disconnect', reason, [...socket.rooms]]));
  const done = once(socket, 'disconnect');
  client.disconnect();
  await done;
  assert.deepStrictEqual(events, [
    ['disconnecting', 'client namespace disconnect', [socket.id, 'red'].sort()],
    ['disconnect', 'client namespace disconnect', []],
  ]);
});

test('disconnect is safe to call twice and emits after it are dropped', async (t) => {
  const { client, socket } = await pair(t);
  let disconnects = 0;
  socket.on('disconnect', () => disconnects++);
  const gone = once(client, 'disconnect');
  socket.disconnect();
  socket.disconnect();
  socket.emit('late', 'dropped');
  let late = 0;
  client.on('late', () => late++);
  await gone;
  await delay(50);
  assert.equal(disconnects, 1);
  assert.equal(late, 0);
});

test('a client kicked from the connection handler gets "io server disconnect"', async (t) => {
  const { io, clients } = await setup(t);
  io.on('connection', (socket) => {
    if (socket.handshake.auth.kick) socket.disconnect();
  });
  const kicked = clients.create({ auth: { kick: true } });
  const [reason] = await once(kicked, 'disconnect');
  assert.equal(reason, 'io server disconnect');
  const fine = await clients.connect();
  await assertEchoWorks(fine, assert);
});

test('events sent by the client before a kick are all delivered first', async (t) => {
  const { client, socket } = await pair(t);
  const got = [];
  const all = new Promise((resolve) =>
    socket.on('n', (n) => {
      got.push(n);
      if (n === 99) resolve();
    }),
  );
  for (let n = 0; n < 100; n++) client.emit('n', n);
  await withTimeout(all);
  const gone = once(client, 'disconnect');
  socket.disconnect();
  await gone;
  assert.deepStrictEqual(got, Array.from({ length: 100 }, (_, n) => n));
});
