'use strict';
// Acknowledgements in both directions, with and without timeouts.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { withTimeout, delay } = require('./helpers/clients');

async function pair(t) {
  const ctx = await setup(t);
  const serverSide = nextConnection(ctx.io);
  const client = await ctx.clients.connect();
  const socket = await serverSide;
  return { ...ctx, client, socket };
}

test('client-to-server ack with a callback carries several values', async (t) => {
  const { client, socket } = await pair(t);
  socket.on('sum', (a, b, ack) => ack(a + b, 'done', { a, b }));
  const reply = await withTimeout(new Promise((resolve) => client.emit('sum', 2, 3, (...args) => resolve(args))));
  assert.deepStrictEqual(reply, [5, 'done', { a: 2, b: 3 }]);
});

test('client emitWithAck resolves with the first ack argument', async (t) => {
  const { client, socket } = await pair(t);
  socket.on('double', (n, ack) => ack(n * 2));
  assert.equal(await withTimeout(client.emitWithAck('double', 21)), 42);
});

test('an ack with no arguments', async (t) => {
  const { client, socket } = await pair(t);
  socket.on('empty', (ack) => ack());
  const reply = await withTimeout(new Promise((resolve) => client.emit('empty', (...args) => resolve(args))));
  assert.deepStrictEqual(reply, []);
});

test('the server ack function is the last argument and only present when asked for', async (t) => {
  const { client, socket } = await pair(t);
  const seen = [];
  socket.on('probe', (...args) => {
    const last = args[args.length - 1];
    seen.push(typeof last === 'function');
    if (typeof last === 'function') last('ok');
  });
  client.emit('probe', 1);
  assert.equal(await withTimeout(client.emitWithAck('probe', 1)), 'ok');
  assert.deepStrictEqual(seen, [false, true]);
});

test('acks from concurrent requests are matched to their request', async (t) => {
  const { client, socket } = await pair(t);
  socket.on('later', async (n, ack) => {
    await delay((n * 7) % 20); // answer out of order
    ack(n);
  });
  const replies = await withTimeout(
    Promise.all(Array.from({ length: 50 }, (_, i) => client.emitWithAck('later', i))),
  );
  assert.deepStrictEqual(replies, Array.from({ length: 50 }, (_, i) => i));
});

test('client timeout(ms).emitWithAck rejects when the server never acks', async (t) => {
  const { client, socket } = await pair(t);
  socket.on('ignored', () => {});
  await assert.rejects(client.timeout(200).emitWithAck('ignored', 1), /operation has timed out/);
  // The connection is still fine.
  assert.equal(await withTimeout(client.emitWithAck('echo', 'still here')), 'still here');
});

test('server-to-client emit with an ack callback', async (t) => {
  const { client, socket } = await pair(t);
  client.on('question', (q, ack) => ack(`answer to ${q}`, 42));
  const reply = await withTimeout(new Promise((resolve) => socket.emit('question', 'life', (...a) => resolve(a))));
  assert.deepStrictEqual(reply, ['answer to life', 42]);
});

test('server-to-client emitWithAck resolves with the client answer', async (t) => {
  const { client, socket } = await pair(t);
  client.on('triple', (n, ack) => ack(n * 3));
  assert.equal(await withTimeout(socket.emitWithAck('triple', 5)), 15);
});

test('server timeout(ms).emit calls back with an error when the client never acks', async (t) => {
  const { client, socket } = await pair(t);
  client.on('silent', () => {});
  const [err, ...rest] = await withTimeout(
    new Promise((resolve) => socket.timeout(200).emit('silent', 1, (...args) => resolve(args))),
  );
  assert.ok(err instanceof Error, 'first callback argument is an Error');
  assert.deepStrictEqual(rest, []);
});

test('server timeout(ms).emit calls back with (null, ...values) when the client acks in time', async (t) => {
  const { client, socket } = await pair(t);
  client.on('quick', (n, ack) => ack(n + 1, 'x'));
  const args = await withTimeout(
    new Promise((resolve) => socket.timeout(5000).emit('quick', 1, (...a) => resolve(a))),
  );
  assert.deepStrictEqual(args, [null, 2, 'x']);
});

test('server timeout(ms).emitWithAck rejects when the client never acks', async (t) => {
  const { client, socket } = await pair(t);
  client.on('silent', () => {});
  await assert.rejects(withTimeout(socket.timeout(200).emitWithAck('silent')), Error);
  assert.equal(await withTimeout(client.emitWithAck('echo', 'alive')), 'alive');
});

test('a late ack after the server timeout is ignored', async (t) => {
  const { client, socket } = await pair(t);
  client.on('slow', async (ack) => {
    await delay(300);
    ack('too late');
  });
  let calls = 0;
  const first = await withTimeout(
    new Promise((resolve) =>
      socket.timeout(100).emit('slow', (...args) => {
        calls++;
        resolve(args);
      }),
    ),
  );
  assert.ok(first[0] instanceof Error);
  await delay(400);
  assert.equal(calls, 1);
  assert.equal(await withTimeout(client.emitWithAck('echo', 'ok')), 'ok');
});

test('acks carry binary data both ways', async (t) => {
  const { client, socket } = await pair(t);
  socket.on('bin', (buf, ack) => ack({ got: buf.length, back: Buffer.from([9, 8, 7]) }));
  const reply = await withTimeout(client.emitWithAck('bin', Buffer.from([1, 2, 3, 4])));
  assert.equal(reply.got, 4);
  assert.deepStrictEqual([...new Uint8Array(reply.back)], [9, 8, 7]);

  client.on('binq', (ack) => ack(Buffer.from('client bytes')));
  const fromClient = await withTimeout(socket.emitWithAck('binq'));
  assert.ok(Buffer.isBuffer(fromClient));
  assert.equal(fromClient.toString(), 'client bytes');
});

// Events reach JavaScript in batches that name a namespace only when it changes from one event to
// the next (native/core/host_protocol.h); the ack reply is framed on the main thread. These tests
// interleave namespaces and non-ASCII text inside one batch and check every answer.
test('acks on two namespaces of one connection, interleaved, each answered by its own namespace', async (t) => {
  const { io, url } = await setup(t);
  const { Manager } = require('socket.io-client');
  const text = 'héllo wörld ✓ 😀 \u2028';
  io.on('connection', (s) => s.on('who', (i, s2, ack) => ack('/', i, s2 + text)));
  io.of('/admin').on('connection', (s) => s.on('who', (i, s2, ack) => ack('/admin', i, s2 + text)));
  const manager = new Manager(url, { transports: ['websocket'], reconnection: false });
  t.after(() => manager.engine && manager.engine.close());
  const root = manager.socket('/');
  const admin = manager.socket('/admin');
  await withTimeout(Promise.all([root, admin].map((s) => new Promise((resolve, reject) => {
    s.once('connect', resolve);
    s.once('connect_error', reject);
  }))));
  const n = 200;
  const replies = await withTimeout(Promise.all(Array.from({ length: n }, (_, i) => {
    const s = i % 3 === 0 ? admin : root; // runs of one namespace and single events of the other
    return s.emitWithAck('who', i, `#${i}·`).then((r) => [s.nsp, i, r]);
  })));
  for (const [nsp, i, reply] of replies) {
    assert.equal(reply, nsp, `reply ${i} comes from the namespace it was sent to`);
  }
  const full = await withTimeout(Promise.all(Array.from({ length: 20 }, (_, i) =>
    new Promise((resolve) => (i % 2 ? admin : root).emit('who', i, `#${i}·`, (...args) => resolve(args))))));
  full.forEach(([nsp, i, back], k) => {
    assert.equal(nsp, k % 2 ? '/admin' : '/');
    assert.equal(i, k);
    assert.equal(back, `#${k}·${text}`, 'non-ASCII text survives both directions');
  });
});

test('an ack called after the client disconnected sends nothing and does not throw', async (t) => {
  const { io, client, socket } = await pair(t);
  const held = new Promise((resolve) => socket.on('hold', (ack) => resolve(ack)));
  client.emit('hold', () => assert.fail('no answer after the disconnect'));
  const ack = await withTimeout(held);
  const gone = new Promise((resolve) => socket.once('disconnect', resolve));
  client.disconnect();
  await withTimeout(gone);
  const before = io.stats().messagesOut;
  assert.doesNotThrow(() => ack('late'));
  assert.doesNotThrow(() => ack('again'));
  await delay(100);
  assert.equal(io.stats().messagesOut, before, 'no frame was queued for the closed socket');
});

test('an ack called twice answers once; the next request is answered normally', async (t) => {
  const { io, client, socket } = await pair(t);
  socket.on('twice', (n, ack) => {
    ack(n);
    ack(n + 1000);
  });
  const before = io.stats().messagesOut;
  const first = await withTimeout(new Promise((resolve) => client.emit('twice', 1, (...args) => resolve(args))));
  assert.deepStrictEqual(first, [1]);
  await delay(100);
  // socket.io-client would drop a second answer to the same id itself: count what the server sent.
  assert.equal(io.stats().messagesOut - before, 1, 'one ACK frame for one request');
  assert.equal(await withTimeout(client.emitWithAck('twice', 2)), 2);
});

test('binary acks on a namespace, with several attachments', async (t) => {
  const { io, clients } = await setup(t);
  io.of('/bin').on('connection', (s) => s.on('swap', (a, b, ack) => ack({ a: b, b: a, n: 'ñ' })));
  const client = await clients.connect({ path: '/bin' });
  const reply = await withTimeout(client.emitWithAck('swap', Buffer.from([1, 2]), Buffer.from([3, 4, 5])));
  assert.deepStrictEqual([...new Uint8Array(reply.a)], [3, 4, 5]);
  assert.deepStrictEqual([...new Uint8Array(reply.b)], [1, 2]);
  assert.equal(reply.n, 'ñ');
});

test('a batch of more events than one call carries arrives whole and in order', async (t) => {
  // The addon hands a batch over in calls of at most 4096 values (native/addon/addon.cpp): while the
  // first handler holds the main thread, thousands of events queue up and arrive as one batch.
  const { io, clients } = await setup(t);
  const { eventStride } = require('../../lib/constants');
  let largest = 0; // events in the largest call
  const onEvents = io._onEvents;
  io._onEvents = function (numbers, values) {
    if (numbers) largest = Math.max(largest, numbers.length / eventStride);
    return onEvents.call(this, numbers, values);
  };
  const n = 2500;
  const seen = new Map();
  let blocked = false;
  io.on('connection', (s) => s.on('n', (i, tag, ack) => {
    if (!blocked) {
      blocked = true;
      const until = Date.now() + 300;
      while (Date.now() < until); // hold the main thread: the rest queues in the core
    }
    if (!seen.has(s.id)) seen.set(s.id, []);
    seen.get(s.id).push(i);
    ack(tag);
  }));
  const a = await clients.connect();
  const b = await clients.connect();
  const replies = [];
  for (let i = 0; i < n; i++) {
    for (const [c, tag] of [[a, 'a'], [b, 'b']]) replies.push(new Promise((resolve) => c.emit('n', i, `${tag}${i}`, resolve)));
  }
  const got = await withTimeout(Promise.all(replies), 20000);
  assert.equal(got.length, 2 * n);
  got.forEach((tag, k) => assert.equal(tag, `${k % 2 ? 'b' : 'a'}${Math.floor(k / 2)}`));
  for (const list of seen.values()) assert.deepStrictEqual(list, Array.from({ length: n }, (_, i) => i));
  // 4096 values per call, room for 5 per event: a call at 819 events means the batch was split.
  assert.equal(largest, Math.floor(4096 / 5), 'a batch filled a whole call, and the rest followed in the next');
});
