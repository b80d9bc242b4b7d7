'use strict';
// Malformed input from raw WebSocket clients closes only that connection; a normal
// socket.io-client connected to the same server keeps working (proved by an emit round trip).
//
// Reasons are the reference server's (socket.io 4.8 / engine.io 6.6): an invalid Engine.IO
// packet closes with "parse error"; an invalid Socket.IO packet (socket.io-parser throws) makes
// the server close the connection with "forced close" (after emitting 'error' on the server
// socket); a frame above maxHttpBufferSize is a "transport error" with WebSocket close code 1009.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { withTimeout, delay, assertEchoWorks } = require('./helpers/clients');

// Server-side 'disconnect' reasons of the reference implementation, per layer.
const ENGINE_IO_PARSE_ERROR = 'parse error'; // engine.io: the frame is not an Engine.IO packet
const SOCKET_IO_PARSE_ERROR = 'forced close'; // socket.io-parser threw; Client#onerror closes the conn
const TRANSPORT_ERROR = 'transport error'; // the WebSocket layer failed (size, UTF-8, heartbeat direction)

/**
 * Starts a server, connects a healthy socket.io-client and a raw client (joined to "/" unless
 * `join` is false), runs `attack(raw)`, then checks that only the raw connection closed.
 * Returns { closed: {code, reason}, reason: server-side disconnect reason or null }.
 */
async function attackAndCheck(t, attack, { join = true, opts = {} } = {}) {
  const { io, clients } = await setup(t, opts);
  const healthyServer = nextConnection(io);
  const healthy = await clients.connect();
  const healthySocket = await healthyServer;
  let healthyDisconnected = null;
  healthySocket.on('disconnect', (r) => (healthyDisconnected = r));

  let rawSocketReason = null;
  let rawGone;
  const raw = await clients.raw({ autoPong: true });
  if (join) {
    const rawServer = nextConnection(io);
    await raw.connectNamespace();
    const rawSocket = await rawServer;
    rawGone = new Promise((resolve) =>
      rawSocket.on('disconnect', (r) => {
        rawSocketReason = r;
        resolve();
      }),
    );
  }
  await attack(raw);
  const closed = await withTimeout(raw.closed, undefined, 'raw connection closed by the server');
  if (rawGone) await withTimeout(rawGone, undefined, 'server-side disconnect event');

  assert.equal(healthyDisconnected, null, 'the healthy socket was not disconnected');
  assert.equal(healthy.connected, true);
  await assertEchoWorks(healthy, assert);
  // And the server still accepts new clients.
  await assertEchoWorks(await clients.connect(), assert);
  return { closed, reason: rawSocketReason };
}

test('garbage text frame (not an Engine.IO packet) closes with "parse error"', async (t) => {
  const { reason } = await attackAndCheck(t, (raw) => raw.send('hello, this is not engine.io'));
  assert.equal(reason, ENGINE_IO_PARSE_ERROR);
});

test('unknown Engine.IO packet type closes with "parse error"', async (t) => {
  const { reason } = await attackAndCheck(t, (raw) => raw.send('9["x"]'));
  assert.equal(reason, ENGINE_IO_PARSE_ERROR);
});

test('empty text frame closes with "parse error"', async (t) => {
  const { reason } = await attackAndCheck(t, (raw) => raw.send(''));
  assert.equal(reason, ENGINE_IO_PARSE_ERROR);
});

test('garbage text before joining a namespace closes the connection', async (t) => {
  await attackAndCheck(t, (raw) => raw.send('\u0000\u0001garbage'), { join: false });
});

test('garbage binary frame (no binary packet pending) closes with "forced close"', async (t) => {
  const { reason } = await attackAndCheck(t, (raw) => raw.send(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0xff])));
  assert.equal(reason, SOCKET_IO_PARSE_ERROR);
});

test('garbage binary frame before joining a namespace closes the connection', async (t) => {
  await attackAndCheck(t, (raw) => raw.send(Buffer.from([4, 2, 0x5b])), { join: false });
});

test('text frame with invalid UTF-8 closes the connection', async (t) => {
  // A WebSocket text frame must be UTF-8 (RFC 6455 §8.1): the server fails the connection.
  const { reason } = await attackAndCheck(t, (raw) => raw.ws.send(Buffer.from([0x34, 0x32, 0xff, 0xfe]), { binary: false }));
  assert.equal(reason, TRANSPORT_ERROR);
});

test('unknown Socket.IO packet type closes with "forced close"', async (t) => {
  const { reason } = await attackAndCheck(t, (raw) => raw.send('47["x"]'));
  assert.equal(reason, SOCKET_IO_PARSE_ERROR);
});

test('EVENT whose payload is not an array closes with "forced close"', async (t) => {
  for (const bad of ['42{"a":1}', '42"hello"', '42[]', '42[{"not":"a name"}]']) {
    await t.test(bad, async (t2) => {
      const { reason } = await attackAndCheck(t2, (raw) => raw.send(bad));
      assert.equal(reason, SOCKET_IO_PARSE_ERROR);
    });
  }
});

test('EVENT with a reserved event name closes with "forced close"', async (t) => {
  for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
    await t.test(name, async (t2) => {
      const { reason } = await attackAndCheck(t2, (raw) => raw.send(`42["${name}"]`));
      assert.equal(reason, SOCKET_IO_PARSE_ERROR);
    });
  }
});

test('EVENT with invalid JSON closes with "forced close"', async (t) => {
  for (const bad of ['42["a"', '42["a",]', "42['a']", '42["a"]x', '42["a",NaN]']) {
    await t.test(bad, async (t2) => {
      const { reason } = await attackAndCheck(t2, (raw) => raw.send(bad));
      assert.equal(reason, SOCKET_IO_PARSE_ERROR);
    });
  }
});

test('bad attachment counts close with "forced close"', async (t) => {
  for (const bad of ['45-["a"]', '450-["a"]', '4511-["a"]', '45x-["a"]']) {
    await t.test(bad, async (t2) => {
      const { reason } = await attackAndCheck(t2, (raw) => raw.send(bad));
      assert.equal(reason, SOCKET_IO_PARSE_ERROR);
    });
  }
});

test('binary placeholder with an out-of-range index closes with "forced close"', async (t) => {
  for (const num of ['1', '-1', '"0"']) {
    await t.test(`num ${num}`, async (t2) => {
      const { reason } = await attackAndCheck(t2, (raw) => {
        raw.send(`451-["upload",{"_placeholder":true,"num":${num}}]`);
        raw.send(Buffer.from([1, 2, 3]));
      });
      assert.equal(reason, SOCKET_IO_PARSE_ERROR);
    });
  }
});

test('a text packet while binary attachments are pending closes with "forced close"', async (t) => {
  const { reason } = await attackAndCheck(t, (raw) => {
    raw.send('452-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    raw.send(Buffer.from([1]));
    raw.send('42["echo","interleaved"]');
  });
  assert.equal(reason, SOCKET_IO_PARSE_ERROR);
});

test('a huge ack id does not crash the server', async (t) => {
  // socket.io answers (ack id precision is lost in JS numbers); the point is that the server
  // survives and other clients are unaffected. The attacker then sends garbage to end the test.
  const { reason } = await attackAndCheck(t, async (raw) => {
    raw.send('42123456789012345678901234567890["echo",1]');
    await delay(50);
    raw.send('garbage');
  });
  assert.ok([ENGINE_IO_PARSE_ERROR, SOCKET_IO_PARSE_ERROR].includes(reason), reason);
});

test('deeply nested JSON (100 000 levels) does not crash the server', async (t) => {
  const { reason } = await attackAndCheck(
    t,
    async (raw) => {
      raw.send('42["deep",' + '['.repeat(100000) + ']'.repeat(100000) + ']');
      raw.send('42["deep",' + '['.repeat(100000)); // and unterminated
    },
    { opts: { maxHttpBufferSize: 1e6 } },
  );
  assert.equal(reason, SOCKET_IO_PARSE_ERROR);
});

test('a frame larger than maxHttpBufferSize closes with code 1009 and "transport error"', async (t) => {
  const { closed, reason } = await attackAndCheck(
    t,
    (raw) => raw.send('42["big","' + 'x'.repeat(2000) + '"]'),
    { opts: { maxHttpBufferSize: 1000 } },
  );
  assert.equal(closed.code, 1009);
  assert.equal(reason, TRANSPORT_ERROR);
});

test('a binary frame larger than maxHttpBufferSize closes with code 1009', async (t) => {
  const { closed, reason } = await attackAndCheck(
    t,
    (raw) => {
      raw.send('451-["big",{"_placeholder":true,"num":0}]');
      raw.send(Buffer.alloc(5000, 7));
    },
    { opts: { maxHttpBufferSize: 1000 } },
  );
  assert.equal(closed.code, 1009);
  assert.equal(reason, TRANSPORT_ERROR);
});

test('frames up to maxHttpBufferSize are accepted', async (t) => {
  const { io, clients } = await setup(t, { maxHttpBufferSize: 1000 });
  const serverSide = nextConnection(io);
  const raw = await clients.raw({ autoPong: true });
  await raw.connectNamespace();
  const socket = await serverSide;
  const got = new Promise((resolve) => socket.on('fits', resolve));
  const packet = '42["fits","' + 'x'.repeat(1000 - 13) + '"]';
  assert.equal(packet.length, 1000);
  raw.send(packet);
  assert.equal((await withTimeout(got)).length, 1000 - 13);
});

test('a client that never sends CONNECT is closed after connectTimeout', async (t) => {
  const { io, clients } = await setup(t, { connectTimeout: 200 });
  let connections = 0;
  io.on('connection', () => connections++);
  const healthy = await clients.connect();
  const idle = await clients.raw({ autoPong: true }); // Engine.IO open, no Socket.IO CONNECT
  const joined = await clients.raw({ autoPong: true });
  await joined.connectNamespace();
  await withTimeout(idle.closed, undefined, 'idle raw client closed');
  assert.equal(connections, 2); // healthy + joined; never the idle one
  // The one that did join stays open past the timeout.
  await delay(300);
  joined.send('421["echo","still here"]');
  assert.equal(await joined.next((m) => typeof m === 'string' && m.startsWith('431')), '431["still here"]');
  await assertEchoWorks(healthy, assert);
});

test('a client sending Engine.IO pings (wrong direction in v4) is closed', async (t) => {
  const { reason } = await attackAndCheck(t, (raw) => raw.send('2'));
  assert.equal(reason, TRANSPORT_ERROR);
});

test('many bad clients at once leave a good one working', async (t) => {
  const { clients } = await setup(t);
  const healthy = await clients.connect();
  const attacks = ['hello', '42{}', '49', Buffer.from([1, 2]), '42["disconnect"]', '4', '451-["a"]'];
  const raws = await Promise.all(attacks.map(() => clients.raw({ autoPong: true })));
  await Promise.all(raws.map((r) => r.connectNamespace()));
  raws.forEach((r, i) => {
    r.send(attacks[i]);
    if (attacks[i] === '451-["a"]') r.send('garbage'); // text while a binary packet is pending
  });
  await withTimeout(Promise.all(raws.map((r) => r.closed)), undefined, 'all bad clients closed');
  await assertEchoWorks(healthy, assert);
});
