'use strict';
// HTTP long-polling and the upgrade to WebSocket, with socket.io-client's default transports and
// with raw HTTP requests: handshake, held GETs, POST batches, binary as base64, 413, overlapping
// GETs, unknown sids, transport options, upgradeTimeout, and the upgrade under traffic.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { setup, nextConnection } = require('./helpers/harness');
const { once, withTimeout, delay, until, assertEchoWorks } = require('./helpers/clients');

const POLLING_FIRST = { transports: ['polling', 'websocket'] };

/** Opens a polling session by hand; resolves with the parsed open packet. */
async function openPolling(url, path = '/socket.io/') {
  const res = await fetch(`${url}${path}?EIO=4&transport=polling`);
  assert.equal(res.status, 200);
  const body = await res.text();
  assert.equal(body[0], '0');
  return JSON.parse(body.slice(1));
}

const pollUrl = (url, sid) => `${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`;
const post = (url, sid, body) => fetch(pollUrl(url, sid), { method: 'POST', body });

/** Connects "/" by hand over polling; resolves with the CONNECT reply packet. */
async function connectPolling(url, sid) {
  const res = await post(url, sid, '40');
  assert.equal(res.status, 200);
  assert.equal(await res.text(), 'ok');
  const poll = await fetch(pollUrl(url, sid));
  return poll.text();
}

test('default transports: connects over polling, then upgrades to websocket', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = clients.create(POLLING_FIRST);
  const upgraded = once(client.io, 'open').then(() => once(client.io.engine, 'upgrade'));
  await once(client, 'connect');
  const socket = await serverSide;
  assert.equal(socket.handshake.query.transport, 'polling');
  const serverUpgrade = socket.conn.transport.name === 'websocket' ? Promise.resolve() : once(socket.conn, 'upgrade');
  await upgraded;
  await serverUpgrade;
  assert.equal(client.io.engine.transport.name, 'websocket');
  assert.equal(socket.conn.transport.name, 'websocket');
  await assertEchoWorks(client, assert);
  // One Engine.IO session across the upgrade.
  assert.equal(io.engine.clientsCount, 1);
});

test('transports: ["polling"] works for the whole session', async (t) => {
  const { io, clients } = await setup(t, { pingInterval: 200, pingTimeout: 1000 });
  const serverSide = nextConnection(io);
  const client = await clients.connect({ transports: ['polling'] });
  const socket = await serverSide;
  assert.equal(client.io.engine.transport.name, 'polling');
  // Several heartbeats pass over polling without dropping the session.
  await delay(700);
  assert.equal(client.connected, true);
  await assertEchoWorks(client, assert);
  // Server to client, with an ack from the client.
  client.on('question', (q, ack) => ack(q * 2));
  assert.equal(await withTimeout(socket.emitWithAck('question', 21)), 42);
  // Many emits in a burst arrive in order.
  const got = [];
  const all = new Promise((resolve) => {
    client.on('n', (n) => {
      got.push(n);
      if (got.length === 50) resolve();
    });
  });
  for (let i = 0; i < 50; i++) socket.emit('n', i);
  await withTimeout(all);
  assert.deepEqual(got, [...Array(50).keys()]);
  assert.equal(client.io.engine.transport.name, 'polling');
});

test('binary over polling travels as base64 both ways', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect({ transports: ['polling'] });
  const socket = await serverSide;
  const received = new Promise((resolve) => socket.on('bin', (...args) => resolve(args)));
  client.emit('bin', Buffer.from([0, 1, 2, 255]), { nested: [Buffer.from('héllo')] });
  const [a, b] = await withTimeout(received);
  assert.deepEqual([...a], [0, 1, 2, 255]);
  assert.equal(Buffer.from(b.nested[0]).toString(), 'héllo');

  const back = new Promise((resolve) => client.on('bin-back', (...args) => resolve(args)));
  socket.emit('bin-back', Buffer.from([9, 8, 7]), 'text');
  const [c, d] = await withTimeout(back);
  assert.deepEqual([...new Uint8Array(c)], [9, 8, 7]);
  assert.equal(d, 'text');
  assert.equal(client.io.engine.transport.name, 'polling');
});

test('raw polling: POST batches, held GET, base64 binary in the payload', async (t) => {
  const { io, url } = await setup(t);
  io.on('connection', (socket) => {
    socket.on('bin', (buf) => socket.emit('bin', buf));
  });
  const open = await openPolling(url);
  assert.deepEqual(open.upgrades, ['websocket']);
  assert.equal(open.maxPayload, 1e6);
  const reply = await connectPolling(url, open.sid);
  assert.match(reply, /^40\{"sid":"[^"]+"\}$/);

  // The GET is held until there is something to send.
  const held = fetch(pollUrl(url, open.sid)).then((r) => r.text());
  await delay(100);
  const res = await post(url, open.sid, '451-["bin",{"_placeholder":true,"num":0}]\x1ebAQIDBA==');
  assert.equal(await res.text(), 'ok');
  // The event and its attachment may come in one payload or two (socket.io flushes each packet).
  const packets = (await withTimeout(held)).split('\x1e');
  while (packets.length < 2) packets.push(...(await (await fetch(pollUrl(url, open.sid))).text()).split('\x1e'));
  assert.deepEqual(packets, ['451-["bin",{"_placeholder":true,"num":0}]', 'bAQIDBA==']);
});

test('a second concurrent GET gets 400 and ends the session; the first gets the close packet', async (t) => {
  const { url } = await setup(t);
  const { sid } = await openPolling(url);
  const first = fetch(pollUrl(url, sid));
  await delay(50);
  const second = await fetch(pollUrl(url, sid));
  assert.equal(second.status, 400);
  const firstRes = await first;
  assert.equal(firstRes.status, 200);
  assert.equal(await firstRes.text(), '1');
  const after = await fetch(pollUrl(url, sid));
  assert.equal(after.status, 400);
});

test('unknown sid: 400 with the Engine.IO error JSON', async (t) => {
  const { url } = await setup(t);
  const res = await fetch(pollUrl(url, 'nope'));
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 1, message: 'Session ID unknown' });
  const res2 = await post(url, 'nope', '40');
  assert.equal(res2.status, 400);
  assert.deepEqual(await res2.json(), { code: 1, message: 'Session ID unknown' });
});

test('a POST body over maxHttpBufferSize gets 413', async (t) => {
  const { url } = await setup(t, { maxHttpBufferSize: 1000 });
  const { sid } = await openPolling(url);
  const res = await post(url, sid, '42["big","' + 'x'.repeat(1500) + '"]');
  assert.equal(res.status, 413);
});

test('a client close packet over polling ends the session; the held GET gets a noop', async (t) => {
  const { io, url } = await setup(t);
  const { sid } = await openPolling(url);
  const serverSide = nextConnection(io);
  await connectPolling(url, sid);
  const socket = await serverSide;
  const reason = once(socket, 'disconnect');
  const held = fetch(pollUrl(url, sid));
  await delay(50);
  await post(url, sid, '1');
  assert.equal(await (await held).text(), '6');
  assert.equal((await reason)[0], 'transport close');
  assert.equal((await fetch(pollUrl(url, sid))).status, 400);
});

test('server disconnect over polling: the client sees "io server disconnect"', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect({ transports: ['polling'] });
  const socket = await serverSide;
  const gone = once(client, 'disconnect');
  socket.disconnect(true);
  assert.equal((await gone)[0], 'io server disconnect');
});

test('transports: ["websocket"] refuses a polling handshake with "Transport unknown"', async (t) => {
  const { url } = await setup(t, { transports: ['websocket'] });
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 0, message: 'Transport unknown' });
});

test('transports: ["polling"] offers no upgrade', async (t) => {
  const { url, clients } = await setup(t, { transports: ['polling'] });
  const open = await openPolling(url);
  assert.deepEqual(open.upgrades, []);
  const client = await clients.connect({ transports: ['polling', 'websocket'] });
  await assertEchoWorks(client, assert);
  assert.equal(client.io.engine.transport.name, 'polling');
});

test('after the upgrade, polling requests for the sid get 400', async (t) => {
  const { url } = await setup(t);
  const { sid } = await openPolling(url);
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  const msgs = [];
  ws.on('message', (m) => msgs.push(m.toString()));
  ws.send('2probe');
  await until(() => msgs.includes('3probe'));
  ws.send('5');
  await delay(50);
  const res = await fetch(pollUrl(url, sid));
  assert.equal(res.status, 400);
});

// engine.io answers the probe at once but ends a held GET with a noop only at its upgrade check,
// 100 ms later and then every 100 ms (Socket#_maybeUpgrade): a message sent meanwhile ends the GET
// instead, so the client receives no noop. socket.io-client's suite counts the packets a client
// receives in that window ("should not emit a packet twice in the 'connect' handler").
test('during an upgrade a held GET ends with the next message, and with a noop only when idle', async (t) => {
  const { url } = await setup(t);
  const { sid } = await openPolling(url);
  assert.match(await connectPolling(url, sid), /^40\{"sid":/);
  const held = fetch(pollUrl(url, sid)).then((r) => r.text());
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  const pong = once(ws, 'message');
  ws.send('2probe');
  assert.equal(String((await pong)[0]), '3probe');
  const res = await post(url, sid, '421["echo","x"]');
  assert.equal(await res.text(), 'ok');
  assert.equal(await withTimeout(held), '431["x"]');
  // Nothing to carry: the next held GET ends with a noop, and the upgrade completes.
  assert.equal(await withTimeout(fetch(pollUrl(url, sid)).then((r) => r.text())), '6');
  ws.send('5');
  const echoed = once(ws, 'message');
  ws.send('422["echo","y"]');
  assert.equal(String((await echoed)[0]), '432["y"]');
});

test('upgradeTimeout: a probe that never sends the upgrade packet is dropped, polling goes on', async (t) => {
  const { url } = await setup(t, { upgradeTimeout: 200 });
  const { sid } = await openPolling(url);
  const ws = new WebSocket(`${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`);
  t.after(() => ws.terminate());
  ws.on('error', () => {});
  await once(ws, 'open');
  ws.send('2probe');
  const [code] = await once(ws, 'close', 3000);
  assert.ok(typeof code === 'number');
  // The session is still alive over polling.
  const reply = await connectPolling(url, sid);
  assert.match(reply, /^40\{"sid":/);
});

test('upgrade under concurrent traffic loses and reorders nothing', async (t) => {
  const { io, clients } = await setup(t);
  const N = 400;
  const serverGot = [];
  const serverSide = new Promise((resolve) => {
    io.on('connection', (socket) => {
      socket.on('up', (n) => serverGot.push(n));
      resolve(socket);
    });
  });
  const client = clients.create(POLLING_FIRST);
  const clientGot = [];
  client.on('down', (n) => clientGot.push(n));
  const upgraded = once(client.io, 'open').then(() => once(client.io.engine, 'upgrade'));
  await once(client, 'connect');
  const socket = await serverSide;
  // Both directions keep sending from before the upgrade until well after it.
  let sent = 0;
  await withTimeout(
    new Promise((resolve) => {
      const tick = () => {
        for (let k = 0; k < 4 && sent < N; k++, sent++) {
          client.emit('up', sent);
          socket.emit('down', sent);
        }
        if (sent < N) setTimeout(tick, 1);
        else resolve();
      };
      tick();
    }),
  );
  await upgraded;
  await until(() => serverGot.length >= N && clientGot.length >= N, 'every event in both directions');
  assert.deepEqual(serverGot, [...Array(N).keys()]);
  assert.deepEqual(clientGot, [...Array(N).keys()]);
  assert.equal(client.io.engine.transport.name, 'websocket');
});

test('sessions their clients close right after the handshake leave nothing behind at close()', async (t) => {
  // The client's close POST may reach the session before the handshake's own work on the session's
  // strand (its timers) has run; timers armed on a closed session used to hold close() for good.
  // The harness's close() fails when the core had to stop its threads (forcedShutdowns).
  const { io, url, close } = await setup(t);
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      const { sid } = await openPolling(url);
      const res = await post(url, sid, '1');
      assert.equal(res.status, 200);
    }),
  );
  await until(() => io.engine.clientsCount === 0, 'every session closed');
  await close();
  assert.equal(io.stats().forcedShutdowns, 0);
});

test('a malformed POST payload ends the session', async (t) => {
  const { url } = await setup(t);
  const { sid } = await openPolling(url);
  try {
    await post(url, sid, 'abc');
  } catch {
    // an implementation may drop the connection instead of answering
  }
  assert.equal((await fetch(pollUrl(url, sid))).status, 400);
});

test('a held GET whose client goes away ends the session', async (t) => {
  const { io, url } = await setup(t);
  const { sid } = await openPolling(url);
  const serverSide = nextConnection(io);
  await connectPolling(url, sid);
  const socket = await serverSide;
  const reason = once(socket, 'disconnect');
  const controller = new AbortController();
  fetch(pollUrl(url, sid), { signal: controller.signal }).catch(() => {});
  await delay(50);
  controller.abort();
  assert.equal((await reason)[0], 'transport error');
  assert.equal((await fetch(pollUrl(url, sid))).status, 400);
});

test('no pong over polling within pingTimeout ends the session', async (t) => {
  const { io, url } = await setup(t, { pingInterval: 100, pingTimeout: 100 });
  const { sid } = await openPolling(url);
  const serverSide = nextConnection(io);
  await connectPolling(url, sid);
  const socket = await serverSide;
  const reason = once(socket, 'disconnect');
  assert.equal((await reason)[0], 'ping timeout');
  assert.equal((await fetch(pollUrl(url, sid))).status, 400);
});

test('a second WebSocket for an upgraded sid is closed; the first goes on', async (t) => {
  const { url } = await setup(t);
  const { sid } = await openPolling(url);
  const wsUrl = `${url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket&sid=${sid}`;
  const ws = new WebSocket(wsUrl);
  t.after(() => ws.terminate());
  await once(ws, 'open');
  const msgs = [];
  ws.on('message', (m) => msgs.push(m.toString()));
  ws.send('2probe');
  await until(() => msgs.includes('3probe'));
  ws.send('5');
  const second = new WebSocket(wsUrl);
  second.on('error', () => {});
  await once(second, 'close');
  ws.send('40');
  await until(() => msgs.some((m) => m.startsWith('40{')));
});
