'use strict';
// Connecting with socket.io-client: handshake (query, auth, headers, address, time, url),
// socket.id, socket.data, socket.rooms, socket.connected, and io.close() releasing everything.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { startServer, IMPL } = require('./helpers/servers');
const { Clients, once, assertEchoWorks } = require('./helpers/clients');

test('connect exposes query, auth and the handshake to the server', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const before = Date.now();
  const client = await clients.connect({
    query: { room: 'lobby', n: '42', empty: '' },
    auth: { token: 'abc', nested: { ok: true }, list: [1, 'two'] },
    extraHeaders: { 'x-test': 'yes' },
  });
  const socket = await serverSide;

  assert.equal(socket.id, client.id);
  assert.equal(typeof socket.id, 'string');
  assert.ok(socket.id.length > 0);
  assert.equal(socket.connected, true);
  assert.equal(client.connected, true);

  const hs = socket.handshake;
  assert.equal(hs.query.room, 'lobby');
  assert.equal(hs.query.n, '42');
  assert.equal(hs.query.empty, '');
  assert.equal(hs.query.EIO, '4');
  assert.equal(hs.query.transport, 'websocket');
  assert.deepEqual(hs.auth, { token: 'abc', nested: { ok: true }, list: [1, 'two'] });
  assert.equal(hs.headers['x-test'], 'yes');
  assert.match(hs.headers.host, /^127\.0\.0\.1:\d+$/);
  assert.match(hs.address, /127\.0\.0\.1$/);
  assert.equal(typeof hs.time, 'string');
  const issued = Date.parse(hs.time);
  assert.ok(!Number.isNaN(issued), `handshake.time parses as a date: ${hs.time}`);
  assert.ok(issued >= before - 2000 && issued <= Date.now() + 2000);
  assert.ok(hs.url.startsWith('/socket.io/?'), hs.url);
  assert.match(hs.url, /[?&]room=lobby(&|$)/);
  assert.match(hs.url, /[?&]EIO=4(&|$)/);
});

test('auth defaults to an empty object and data to an empty object', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  await clients.connect();
  const socket = await serverSide;
  assert.deepEqual(socket.handshake.auth, {});
  assert.deepEqual(socket.data, {});
});

test('auth can be a function on the client', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  await clients.connect({ auth: (cb) => cb({ token: 'from-callback' }) });
  const socket = await serverSide;
  assert.deepEqual(socket.handshake.auth, { token: 'from-callback' });
});

test('a new socket is in the room named after its id', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  await clients.connect();
  const socket = await serverSide;
  assert.ok(socket.rooms instanceof Set);
  assert.deepEqual([...socket.rooms], [socket.id]);
});

test('socket.data is kept per socket and visible through fetchSockets', async (t) => {
  const { io, clients } = await setup(t);
  io.on('connection', (socket) => {
    socket.data.user = socket.handshake.auth.user;
  });
  await clients.connect({ auth: { user: 'ann' } });
  await clients.connect({ auth: { user: 'bob' } });
  const sockets = await io.fetchSockets();
  assert.deepEqual(sockets.map((s) => s.data.user).sort(), ['ann', 'bob']);
});

test('each client gets its own id', async (t) => {
  const { clients } = await setup(t);
  const a = await clients.connect();
  const b = await clients.connect();
  assert.notEqual(a.id, b.id);
  await assertEchoWorks(a, assert);
  await assertEchoWorks(b, assert);
});

test('io.close() disconnects clients with "server shutting down" and the port is released', async () => {
  const server = await startServer();
  const clients = new Clients(server.url);
  try {
    const serverSide = nextConnection(server.io);
    const client = await clients.connect();
    const socket = await serverSide;
    const serverReason = once(socket, 'disconnect');
    const clientReason = once(client, 'disconnect');
    await server.close();
    assert.equal((await serverReason)[0], 'server shutting down');
    // The client sees the transport go away.
    assert.equal((await clientReason)[0], 'transport close');
    // Nothing listens any more: a new connection attempt fails.
    const late = clients.create();
    const [err] = await once(late, 'connect_error');
    assert.ok(err instanceof Error);
  } finally {
    clients.closeAll();
    await server.close();
  }
});

test('handshake.query and allowRequest\'s req._query parse the query as socket.io does (repeated keys, +, escapes, bare keys)', async (t) => {
  // Differential: the same raw polling handshake to a stock socket.io server and to collabio. The
  // query holds what parsers disagree on: a repeated key, '+', percent escapes, a key without '='.
  const { Server: StockServer } = require('socket.io');
  const { Server } = require('../..');
  const query = 'room=a&room=b&name=x+y&pct=%41%2B%20&flag&empty=&amp=%26';
  async function observe(io, port) {
    const connected = new Promise((resolve) => io.on('connection', (socket) => resolve(socket.handshake.query)));
    const base = `http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`;
    const open = await (await fetch(`${base}&${query}`)).text();
    const { sid } = JSON.parse(open.slice(1));
    const posted = await fetch(`${base}&sid=${sid}`, { method: 'POST', body: '40' });
    assert.equal(posted.status, 200);
    return connected;
  }
  const seen = {};
  const stock = new StockServer({ allowRequest: (req, cb) => cb(null, (seen.stock = req._query) !== undefined) });
  stock.listen(0);
  t.after(() => stock.close());
  const ours = new Server({ documents: false, allowRequest: (req, cb) => cb(null, (seen.ours = req._query) !== undefined) });
  ours.listen(0, '127.0.0.1');
  t.after(() => ours.close());
  const expected = await observe(stock, stock.httpServer.address().port);
  const actual = await observe(ours, ours.address().port);
  assert.deepEqual(actual, expected);
  assert.deepEqual(seen.ours, seen.stock, 'allowRequest sees the same req._query');
  // What socket.io gives, spelled out (so that the comparison cannot pass on two empty objects).
  assert.equal(expected.room, 'b');
  assert.equal(expected.name, 'x y');
  assert.equal(expected.pct, 'A+ ');
  assert.equal(expected.flag, '');
  assert.equal(expected.amp, '&');
  assert.equal(Object.getPrototypeOf(actual), Object.prototype, 'a plain object, as socket.io\'s');
});

// socket.io options collabio does not have are refused when the server is made, with the reason,
// rather than ignored (a msgpack client, or an Engine.IO v3 one, would otherwise fail far from
// the cause). The default parser itself is accepted.
test('parser, allowEIO3, wsEngine, allowUpgrades: false and initialPacket are refused with the reason (collabio)', { skip: IMPL !== 'collabio' && 'collabio refuses them' }, () => {
  const { Server } = require('../..');
  const msgpackLike = { Encoder: class {}, Decoder: class {} };
  assert.throws(() => new Server({ parser: msgpackLike }), /parser option is not supported.*socket\.io-parser/);
  assert.throws(() => new Server({ allowEIO3: true }), /allowEIO3 is not supported.*Engine\.IO v4/);
  assert.throws(() => new Server({ wsEngine: require('ws').Server }), /wsEngine option is not supported/);
  assert.throws(() => new Server({ allowUpgrades: false }), /allowUpgrades: false is not supported.*transports/);
  assert.throws(() => new Server({ initialPacket: 'hi' }), /initialPacket option is not supported/);
  const io = new Server({ parser: require('socket.io-parser'), allowEIO3: false, documents: false });
  io.close();
});
