'use strict';
// A fleet of nodes on one Redis behaves as one server: broadcasts (nested objects, binary, except,
// volatile, local, socket.to), fetchSockets, socketsJoin/Leave, disconnectSockets, serverSideEmit
// with acks, broadcasts with acks and a timeout, allRooms (classic), a SIGKILLed node and a Redis
// restart, in the classic (PUBLISH/PSUBSCRIBE) and sharded (SPUBLISH/SSUBSCRIBE) modes of
// @socket.io/redis-adapter 8.
//
// Three fleets run by default: three stock socket.io nodes, the reference run that proves these
// tests right (as SIO_IMPL does for the single-server tests), and two mixed fleets: "collabio,
// socket.io, collabio", where the first node (which asks most of the questions) is a collabio one,
// and "socket.io, collabio, socket.io", where stock nodes ask and a collabio node answers.
// COLLABIO_FLEET names the kind of each node of a single fleet instead, e.g. "collabio,collabio".
const test = require('node:test');
const assert = require('node:assert/strict');
const { startRedis } = require('./helpers/redis-server');
const { stockNode, collabioNode, childNode, untilServerCount, connectTo } = require('./helpers/fleet');
const { withTimeout, until } = require('./helpers/clients');

const FLEETS = process.env.COLLABIO_FLEET
  ? [process.env.COLLABIO_FLEET.split(',')]
  : [
      ['socket.io', 'socket.io', 'socket.io'],
      ['collabio', 'socket.io', 'collabio'],
      ['socket.io', 'collabio', 'socket.io'],
    ];

async function startNode(kind, url, opts) {
  if (kind === 'socket.io') return stockNode(url, opts);
  if (kind === 'collabio') return collabioNode(url, opts);
  throw new Error(`unknown node kind ${kind}`);
}

/** Resolves with the first `event` `client` receives (its arguments as an array). */
function next(client, event) {
  return withTimeout(new Promise((resolve) => client.once(event, (...args) => resolve(args))), undefined, event);
}

for (const KINDS of FLEETS) for (const mode of ['classic', 'sharded']) {
  test(`a fleet on one Redis behaves as one server (${mode}; ${KINDS.join(', ')})`, async (t) => {
    const redis = await startRedis(t);
    const nodes = [];
    // Nodes close before Redis stops (hooks run in the order they were registered, so Redis's
    // own hook would stop it first): a node-redis client that loses its server while the adapter
    // unsubscribes rejects promises nobody can catch. The body closes them on success; this hook
    // covers a failure.
    const closeNodes = async () => {
      for (const n of nodes.splice(0)) await n.close().catch(() => {});
    };
    t.after(closeNodes);
    for (const kind of KINDS) nodes.push(await startNode(kind, redis.url, { mode, requestsTimeout: 3000 }));
    await untilServerCount(nodes, nodes.length);
    const clients = [];
    t.after(() => {
      for (const c of clients) c.disconnect();
    });
    // One client per node, named after it; each joins the rooms its auth lists, and, in a
    // middleware (before it is connected: issue 20's regression), a room named after its node.
    for (const [i, node] of nodes.entries()) {
      node.io.use((socket, next) => {
        socket.join(`mw-${i}`);
        next();
      });
      node.io.on('connection', (socket) => {
        socket.data.name = socket.handshake.auth.name;
        for (const room of socket.handshake.auth.rooms || []) socket.join(room);
        socket.on('to-room', (room, ev, payload) => socket.to(room).emit(ev, payload));
      });
    }
    const names = nodes.map((_, i) => `c${i}`);
    for (let i = 0; i < nodes.length; i++) {
      const rooms = ['all', i === 0 ? 'first' : 'rest', ...(i === nodes.length - 1 ? ['muted'] : [])];
      clients.push(await connectTo(nodes[i], { auth: { name: names[i], rooms } }));
    }
    const [a] = nodes;
    const last = clients.length - 1;

    // Everything a client received, per event, in order.
    const got = clients.map(() => ({}));
    clients.forEach((c, i) =>
      c.onAny((ev, ...args) => {
        (got[i][ev] ||= []).push(args);
      }),
    );
    let markers = 0;
    // A broadcast from node `from` to every client, after the ones under test: each publisher's
    // messages reach each subscriber in order, so once it is in, everything before it is too.
    async function settle(from = a) {
      const ev = `marker-${++markers}`;
      const arrivals = clients.map((c) => next(c, ev));
      from.io.emit(ev);
      await Promise.all(arrivals);
    }

    await t.test('a broadcast with nested objects and binary reaches the clients of every node', async () => {
      const payload = { user: { id: 7, tags: ['x', { deep: [1, null, true] }] }, blob: Buffer.from([0, 1, 2, 255]) };
      const arrivals = clients.map((c) => next(c, 'nested'));
      a.io.emit('nested', payload, 'second', [Buffer.from('abc')]);
      for (const [obj, second, list] of await Promise.all(arrivals)) {
        assert.deepStrictEqual(obj.user, payload.user);
        assert.deepStrictEqual(Buffer.from(obj.blob), payload.blob);
        assert.equal(second, 'second');
        assert.deepStrictEqual(Buffer.from(list[0]), Buffer.from('abc'));
      }
    });

    await t.test('a room joined in a middleware is reached from the other nodes', async () => {
      for (let i = 0; i < nodes.length; i++) {
        const from = nodes[(i + 1) % nodes.length];
        const arrival = next(clients[i], 'mw');
        from.io.to(`mw-${i}`).emit('mw', i);
        assert.deepStrictEqual(await arrival, [i]);
      }
      await settle();
      assert.deepStrictEqual(got.map((g) => (g.mw || []).map((args) => args[0])), clients.map((_, i) => [i]));
    });

    await t.test('to(), except(), local and volatile select across the fleet', async () => {
      // Volatile first, while every connection is idle: a volatile packet may be dropped for a
      // connection that is still writing (socket.io and collabio alike).
      nodes[1].io.volatile.to('all').emit('sel', 'volatile-all');
      await settle(nodes[1]);
      nodes[1].io.to('rest').except('muted').emit('sel', 'rest-not-muted');
      a.io.local.emit('sel', 'local-to-first-node');
      await settle(nodes[1]);
      await settle(a);
      const sel = got.map((g) => (g.sel || []).map((args) => args[0]));
      const want = clients.map((_, i) => [
        ...(i > 0 && i < last ? ['rest-not-muted'] : []),
        ...(i === 0 ? ['local-to-first-node'] : []),
        'volatile-all',
      ]);
      assert.deepStrictEqual(sel.map((l) => [...l].sort()), want.map((l) => [...l].sort()));
    });

    await t.test('socket.to(room) from a client\'s socket reaches the room on other nodes, not the sender', async () => {
      clients[last].emit('to-room', 'all', 'peer', 'from-last');
      const arrivals = clients.slice(0, last).map((c) => next(c, 'peer'));
      assert.deepStrictEqual((await Promise.all(arrivals)).map((args) => args[0]), clients.slice(0, last).map(() => 'from-last'));
      await settle();
      assert.equal(got[last].peer, undefined);
    });

    await t.test('fetchSockets returns the sockets of every node with id, handshake, rooms and data', async () => {
      const sockets = await a.io.fetchSockets();
      assert.deepStrictEqual(sockets.map((s) => s.data.name).sort(), [...names].sort());
      for (const s of sockets) {
        const i = names.indexOf(s.data.name);
        assert.equal(s.id, clients[i].id);
        assert.equal(s.handshake.auth.name, names[i]);
        assert.ok(s.rooms.has(s.id) && s.rooms.has('all'));
      }
      const muted = await nodes[1].io.in('muted').fetchSockets();
      assert.deepStrictEqual(muted.map((s) => s.data.name), [names[last]]);
    });

    await t.test('socketsJoin, socketsLeave and disconnectSockets reach the sockets of other nodes', async () => {
      a.io.in(clients[last].id).socketsJoin('joined');
      await until(async () => (await a.io.in('joined').fetchSockets()).length === 1, 'socketsJoin');
      const arrival = next(clients[last], 'joined-news');
      a.io.to('joined').emit('joined-news', 1);
      await arrival;
      a.io.in('joined').socketsLeave('joined');
      await until(async () => (await a.io.in('joined').fetchSockets()).length === 0, 'socketsLeave');
      const gone = new Promise((resolve) => clients[last].once('disconnect', resolve));
      a.io.in('muted').disconnectSockets();
      assert.equal(await withTimeout(gone, undefined, 'disconnectSockets'), 'io server disconnect');
      clients[last] = await connectTo(nodes[last], { auth: { name: names[last], rooms: ['all', 'rest', 'muted'] } });
      clients[last].onAny((ev, ...args) => {
        (got[last][ev] ||= []).push(args);
      });
    });

    await t.test('serverSideEmit with an ack gets every other node\'s answer', async () => {
      nodes.forEach((node, i) => {
        node.io.removeAllListeners('whoami');
        node.io.on('whoami', (x, ack) => ack({ node: i, x }));
      });
      const answers = await a.io.serverSideEmitWithAck('whoami', 5); // bounded by requestsTimeout
      assert.deepStrictEqual(answers.map((r) => r.node).sort(), nodes.slice(1).map((_, i) => i + 1));
      assert.ok(answers.every((r) => r.x === 5));
    });

    await t.test('a broadcast with acks collects every client\'s answer, and times out without them', async () => {
      clients.forEach((c, i) => c.on('ask', (q, ack) => ack(`${names[i]}:${q}`)));
      const answers = await nodes[1].io.timeout(3000).emitWithAck('ask', 'q1');
      assert.deepStrictEqual([...answers].sort(), names.map((n) => `${n}:q1`).sort());
      await assert.rejects(nodes[1].io.timeout(200).emitWithAck('nobody-answers'), /timed out/);
    });

    if (mode === 'classic') {
      await t.test('allRooms() lists the rooms of every node', async () => {
        const rooms = await a.io.of('/').adapter.allRooms();
        for (const r of ['all', 'first', 'rest', 'muted']) assert.ok(rooms.has(r), r);
      });
    }

    for (const kind of new Set(KINDS)) {
      await t.test(`a SIGKILLed ${kind} node does not stall the others' requests`, async () => {
        const child = await childNode(redis.url, { mode, kind });
        await untilServerCount(nodes, nodes.length + 1);
        const c = await connectTo(child, { auth: { room: 'child-room' } });
        t.after(() => c.disconnect());
        assert.equal((await a.io.in('child-room').fetchSockets()).length, 1);
        await child.kill();
        const started = Date.now();
        const sockets = await a.io.fetchSockets();
        assert.equal(sockets.length, clients.length, 'the killed node\'s socket is gone');
        assert.ok(Date.now() - started < 3000 + 1000, 'resolved within requestsTimeout');
        await untilServerCount(nodes, nodes.length);
      });
    }

    await t.test('when Redis restarts, nodes keep serving their clients and then the fleet again', async () => {
      await redis.stop();
      const localArrival = next(clients[0], 'during-outage');
      a.io.local.emit('during-outage', 1);
      await localArrival;
      await redis.restart();
      await untilServerCount(nodes, nodes.length, 'every node back on Redis');
      const arrivals = clients.map((c) => next(c, 'after-restart'));
      nodes[last].io.emit('after-restart', 'ok');
      assert.deepStrictEqual((await Promise.all(arrivals)).map((args) => args[0]), clients.map(() => 'ok'));
    });

    for (const c of clients) c.disconnect();
    await closeNodes();
  });
}
