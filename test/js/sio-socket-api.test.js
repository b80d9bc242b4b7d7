'use strict';
// The server Socket API beyond emit/on: socket.use (per-packet middleware), onAny / prependAny /
// offAny, onAnyOutgoing / prependAnyOutgoing / offAnyOutgoing, 'disconnecting' with the rooms still
// joined, socket.send / 'message', and socket.conn.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { once, until } = require('./helpers/clients');

test('socket.use runs for every incoming packet, in order, and can reject one', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const seen = [];
  socket.use(([event, ...args], next) => {
    seen.push(['first', event, args.filter((a) => typeof a !== 'function')]);
    next();
  });
  socket.use(([event], next) => {
    if (event === 'forbidden') return next(new Error('not allowed'));
    next();
  });
  const handled = [];
  socket.on('ok', (v) => handled.push(['ok', v]));
  socket.on('forbidden', () => handled.push(['forbidden']));
  const error = once(socket, 'error');
  client.emit('forbidden', 1);
  const [err] = await error;
  assert.equal(err.message, 'not allowed');
  client.emit('ok', 2);
  await until(() => handled.length >= 1, 'the allowed event handled');
  assert.deepEqual(handled, [['ok', 2]]);
  assert.deepEqual(seen, [
    ['first', 'forbidden', [1]],
    ['first', 'ok', [2]],
  ]);
});

test('onAny, prependAny and offAny see every incoming event', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const log = [];
  const any = (ev, ...args) => log.push(['any', ev, ...args]);
  socket.onAny(any);
  socket.prependAny((ev) => log.push(['first', ev]));
  assert.equal(socket.listenersAny().length, 2);
  const done = once(socket, 'b');
  client.emit('a', 1, 'x');
  client.emit('b');
  await done;
  assert.deepEqual(log, [
    ['first', 'a'],
    ['any', 'a', 1, 'x'],
    ['first', 'b'],
    ['any', 'b'],
  ]);
  socket.offAny(any);
  assert.equal(socket.listenersAny().length, 1);
  socket.offAny();
  assert.equal(socket.listenersAny().length, 0);
  const c = once(socket, 'c');
  client.emit('c');
  await c;
  assert.equal(log.length, 4);
});

test('onAnyOutgoing sees emits and broadcasts to the socket; offAnyOutgoing stops it', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const out = [];
  const listener = (ev, ...args) => out.push([ev, ...args]);
  socket.onAnyOutgoing(listener);
  socket.prependAnyOutgoing((ev) => out.push(['first', ev]));
  const got = once(client, 'two');
  socket.emit('one', 1);
  io.emit('two', 2);
  await got;
  assert.deepEqual(out, [['first', 'one'], ['one', 1], ['first', 'two'], ['two', 2]]);
  socket.offAnyOutgoing(listener);
  socket.offAnyOutgoing();
  assert.equal(socket.listenersAnyOutgoing().length, 0);
  const three = once(client, 'three');
  socket.emit('three');
  await three;
  assert.equal(out.length, 4);
});

test('disconnecting fires with the rooms still joined when the server disconnects', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  socket.join(['a', 'b']);
  const events = [];
  socket.on('disconnecting', (reason) => events.push(['disconnecting', reason, [...socket.rooms].sort()]));
  socket.on('disconnect', (reason) => events.push(['disconnect', reason, [...socket.rooms]]));
  const gone = once(client, 'disconnect');
  socket.disconnect();
  assert.equal((await gone)[0], 'io server disconnect');
  assert.deepEqual(events, [
    ['disconnecting', 'server namespace disconnect', ['a', 'b', socket.id].sort()],
    ['disconnect', 'server namespace disconnect', []],
  ]);
});

test('socket.send and the message event, both ways', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect({ transports: ['polling', 'websocket'] });
  const socket = await serverSide;
  const fromClient = once(socket, 'message');
  client.send('hello', { n: 1 });
  assert.deepEqual(await fromClient, ['hello', { n: 1 }]);
  const fromServer = once(client, 'message');
  socket.send('back', [2]);
  assert.deepEqual(await fromServer, ['back', [2]]);
  const broadcast = once(client, 'message');
  io.send('to all');
  assert.deepEqual(await broadcast, ['to all']);
});

test('socket.conn: transport name and close()', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect({ transports: ['polling'] });
  const socket = await serverSide;
  assert.equal(socket.conn.transport.name, 'polling');
  assert.equal(socket.conn.readyState, 'open');
  const gone = once(client, 'disconnect');
  socket.conn.close();
  await gone;
});
