'use strict';
// Rooms have one owner, the namespace's adapter: socket.rooms is its view, joins from middlewares,
// handlers and socketsJoin all land there, and broadcasts select through it. SIO_IMPL=socket.io
// runs the same tests against socket.io's in-memory adapter (what proves them right).
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { withTimeout } = require('./helpers/clients');
const { IMPL } = require('./helpers/servers');

/** Resolves with the first `event` the client receives, or rejects after a while. */
function next(client, event) {
  return withTimeout(new Promise((resolve) => client.once(event, resolve)), undefined, event);
}

test('a room joined in a middleware is in socket.rooms and receives io.to(room) broadcasts', async (t) => {
  const { io, clients } = await setup(t);
  io.use((socket, nextFn) => {
    if (socket.handshake.auth.vip) {
      socket.join('vip');
      assert.ok(socket.rooms.has('vip'), 'socket.rooms shows the join at once');
    }
    nextFn();
  });
  const serverSide = nextConnection(io);
  const c = await clients.connect({ auth: { vip: true } });
  const socket = await serverSide;
  assert.deepStrictEqual([...socket.rooms].sort(), [socket.id, 'vip'].sort());
  const got = next(c, 'vip-news');
  io.to('vip').emit('vip-news', { n: 1 });
  assert.deepStrictEqual(await got, { n: 1 });
  // socket.to() from another socket, and except(), select through the same rooms.
  const other = nextConnection(io);
  const c2 = await clients.connect();
  const s2 = await other;
  const got2 = next(c, 'from-peer');
  s2.to('vip').emit('from-peer', 'hi');
  assert.equal(await got2, 'hi');
  const seen = [];
  c.on('all-but-vip', () => seen.push('c'));
  const got3 = next(c2, 'all-but-vip');
  io.except('vip').emit('all-but-vip');
  await got3;
  const marker = next(c, 'marker');
  socket.emit('marker');
  await marker;
  assert.deepStrictEqual(seen, [], 'except(vip) skipped the vip socket');
});

test('a room joined in an async middleware before another middleware refuses is left again', async (t) => {
  const { io, clients } = await setup(t);
  let refused;
  io.use((socket, nextFn) => {
    refused = socket;
    socket.join('lobby');
    setTimeout(nextFn, 5);
  });
  io.use((socket, nextFn) => nextFn(socket.handshake.auth.ok ? undefined : new Error('not allowed')));
  await assert.rejects(clients.connect({ auth: { ok: false } }), /not allowed/);
  assert.equal(io.of('/').adapter.rooms.has('lobby'), false, 'the refused socket left its rooms');
  assert.equal(io.of('/').adapter.sids.has(refused.id), false);
  const serverSide = nextConnection(io);
  const c = await clients.connect({ auth: { ok: true } });
  const socket = await serverSide;
  assert.deepStrictEqual([...io.of('/').adapter.rooms.get('lobby')], [socket.id]);
  const got = next(c, 'lobby');
  io.to('lobby').emit('lobby', 'welcome');
  assert.equal(await got, 'welcome');
});

test('nsp.adapter.rooms and sids follow joins and leaves, with socket.io\'s room events in order', async (t) => {
  const { io, clients } = await setup(t);
  const nsp = io.of('/');
  const events = [];
  const serverSide = nextConnection(io);
  await clients.connect();
  const socket = await serverSide;
  const id = socket.id;
  for (const name of ['create-room', 'delete-room', 'join-room', 'leave-room']) {
    nsp.adapter.on(name, (room, sid) => events.push([name, room === id ? 'ID' : room, sid === undefined ? '-' : sid === id ? 'ID' : sid]));
  }
  socket.join(['a', 'b']);
  socket.join('a'); // already in: no event
  assert.deepStrictEqual([...nsp.adapter.sids.get(id)].sort(), [id, 'a', 'b'].sort());
  assert.deepStrictEqual([...nsp.adapter.rooms.get('a')], [id]);
  socket.leave('a');
  socket.leave('nowhere'); // not in it: no event
  assert.equal(nsp.adapter.rooms.has('a'), false);
  assert.deepStrictEqual([...socket.rooms].sort(), [id, 'b'].sort());
  const gone = new Promise((resolve) => socket.once('disconnect', resolve));
  socket.disconnect();
  await gone;
  assert.equal(nsp.adapter.sids.has(id), false);
  assert.equal(nsp.adapter.rooms.has('b'), false);
  assert.equal(nsp.adapter.rooms.has(id), false);
  const sorted = (list) => [...list].sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));
  assert.deepStrictEqual(events.slice(0, 5), [
    ['create-room', 'a', '-'],
    ['join-room', 'a', 'ID'],
    ['create-room', 'b', '-'],
    ['join-room', 'b', 'ID'],
    ['leave-room', 'a', 'ID'],
  ]);
  assert.deepStrictEqual(events[5], ['delete-room', 'a', '-']);
  // Leaving every room at disconnect: each room's leave-room comes before its delete-room.
  const atDisconnect = events.slice(6);
  assert.deepStrictEqual(sorted(atDisconnect), sorted([
    ['leave-room', 'ID', 'ID'],
    ['delete-room', 'ID', '-'],
    ['leave-room', 'b', 'ID'],
    ['delete-room', 'b', '-'],
  ]));
  for (const room of ['ID', 'b']) {
    const leave = atDisconnect.findIndex((e) => e[0] === 'leave-room' && e[1] === room);
    const del = atDisconnect.findIndex((e) => e[0] === 'delete-room' && e[1] === room);
    assert.ok(leave < del, `leave-room before delete-room for ${room}`);
  }
});

test('socketsJoin and socketsLeave change socket.rooms and what broadcasts reach', async (t) => {
  const { io, clients } = await setup(t);
  const pairs = [];
  for (const name of ['a', 'b']) {
    const serverSide = nextConnection(io);
    const c = await clients.connect({ auth: { name } });
    pairs.push({ c, s: await serverSide });
  }
  const [a, b] = pairs;
  a.s.join('team');
  io.in('team').socketsJoin(['team-x', 'team-y']);
  assert.deepStrictEqual([...a.s.rooms].sort(), [a.s.id, 'team', 'team-x', 'team-y'].sort());
  assert.deepStrictEqual([...b.s.rooms], [b.s.id]);
  io.socketsJoin('everyone');
  assert.ok(b.s.rooms.has('everyone'));
  const got = next(b.c, 'hello');
  io.to('everyone').except('team-x').emit('hello', 'only b');
  assert.equal(await got, 'only b');
  io.in('team').socketsLeave('team-x');
  assert.equal(a.s.rooms.has('team-x'), false);
  const gotA = next(a.c, 'again');
  io.to('everyone').except('team-x').emit('again', 'both now');
  assert.equal(await gotA, 'both now');
  const sockets = await io.in('team-y').fetchSockets();
  assert.deepStrictEqual(sockets.map((s) => s.id), [a.s.id]);
});

test('io.adapter(Custom) builds every namespace\'s adapter from that class, keeping the rooms', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const c = await clients.connect();
  const socket = await serverSide;
  socket.join('kept');
  const Base = io.of('/').adapter.constructor;
  const broadcasts = [];
  class Recording extends Base {
    broadcast(packet, opts) {
      broadcasts.push([packet.data[0], [...opts.rooms]]);
      super.broadcast(packet, opts);
    }
  }
  // socket.io replaces the adapters and starts them empty; collabio carries the rooms over.
  const keepsRooms = IMPL === 'collabio';
  assert.equal(io.adapter(Recording), io);
  assert.equal(io.adapter(), Recording);
  assert.ok(io.of('/').adapter instanceof Recording);
  assert.ok(io.of('/other').adapter instanceof Recording, 'a namespace created later too');
  if (keepsRooms) {
    assert.ok(socket.rooms.has('kept'));
    const got = next(c, 'kept-news');
    io.to('kept').emit('kept-news', 1);
    assert.equal(await got, 1);
    assert.deepStrictEqual(broadcasts, [['kept-news', ['kept']]]);
  } else {
    io.emit('news', 1);
    assert.deepStrictEqual(broadcasts, [['news', []]]);
  }
});

test('the adapter server option sets the adapter class', async (t) => {
  const { Adapter } = IMPL === 'collabio' ? require('../..') : require('socket.io-adapter');
  class Mine extends Adapter {}
  const { io } = await setup(t, { adapter: Mine });
  assert.ok(io.of('/').adapter instanceof Mine);
  assert.ok(io.of('/chat').adapter instanceof Mine);
});

test('allRooms() resolves with the room names of one server (collabio)', { skip: IMPL !== 'collabio' && 'socket.io\'s in-memory adapter has no allRooms()' }, async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  await clients.connect();
  const socket = await serverSide;
  socket.join(['x', 'y']);
  assert.deepStrictEqual([...(await io.of('/').adapter.allRooms())].sort(), [socket.id, 'x', 'y'].sort());
  assert.equal(await io.of('/').adapter.serverCount(), 1);
});

test('serverSideEmit refuses reserved names and, on one server, reaches no handler of its own', async (t) => {
  const { io } = await setup(t);
  assert.throws(() => io.serverSideEmit('connection'), /reserved event name/);
  assert.throws(() => io.of('/x').serverSideEmit('new_namespace'), /reserved event name/);
  let heard = false;
  io.on('hello', () => {
    heard = true;
  });
  const warn = t.mock.method(console, 'warn', () => {});
  assert.equal(io.serverSideEmit('hello', 1), true);
  assert.equal(heard, false, 'the sending server does not hear its own event');
  assert.equal(warn.mock.calls.length, 1, 'the single-server adapter warns, as socket.io\'s does');
});
