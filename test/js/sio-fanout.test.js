'use strict';
// Fan-out: hundreds of messages to dozens of clients arrive complete and in per-sender order.
// No timing thresholds: only completeness and order are checked (timeouts guard liveness).
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./helpers/harness');
const { withTimeout } = require('./helpers/clients');

const CLIENTS = 40;
const SENDERS = 8;
const PER_SENDER = 50; // 400 messages, 16 000 deliveries

async function connectMany(t, n, onConnection) {
  const ctx = await setup(t);
  ctx.io.on('connection', (socket) => onConnection(socket, ctx.io));
  const clients = [];
  for (let i = 0; i < n; i++) clients.push(await ctx.clients.connect({ auth: { i } }));
  return { ...ctx, clients };
}

/** Resolves when `socket` has received `total` 'chat' events; returns them in arrival order. */
function collect(socket, total, event = 'chat') {
  const got = [];
  return {
    got,
    done: new Promise((resolve) => {
      socket.on(event, (...args) => {
        got.push(args);
        if (got.length === total) resolve(got);
      });
    }),
  };
}

function assertPerSenderOrder(got, senders, perSender, label) {
  const bySender = new Map();
  for (const [from, n] of got) {
    if (!bySender.has(from)) bySender.set(from, []);
    bySender.get(from).push(n);
  }
  assert.equal(bySender.size, senders, `${label}: messages from every sender`);
  for (const [from, ns] of bySender) {
    assert.deepStrictEqual(ns, Array.from({ length: perSender }, (_, k) => k), `${label}: order from ${from}`);
  }
}

test('client messages relayed with io.emit reach every client complete and in per-sender order', async (t) => {
  const { clients } = await connectMany(t, CLIENTS, (socket, io) => {
    socket.on('chat', (n) => io.emit('chat', socket.handshake.auth.i, n));
  });
  const total = SENDERS * PER_SENDER;
  const collectors = clients.map((c) => collect(c, total));
  for (let n = 0; n < PER_SENDER; n++) {
    for (let s = 0; s < SENDERS; s++) clients[s].emit('chat', n);
  }
  await withTimeout(Promise.all(collectors.map((c) => c.done)), 60000, 'fan-out delivery');
  collectors.forEach((c, i) => assertPerSenderOrder(c.got, SENDERS, PER_SENDER, `client ${i}`));
});

test('socket.to(room) relay: members get everything in order, the sender and outsiders nothing', async (t) => {
  const { clients } = await connectMany(t, 24, (socket) => {
    if (socket.handshake.auth.i < 16) socket.join('room');
    socket.on('chat', (n) => socket.to('room').emit('chat', socket.handshake.auth.i, n));
  });
  const members = clients.slice(0, 16);
  const outsiders = clients.slice(16);
  const senders = members.slice(0, 4);
  const perSender = 100;
  // Every member receives from every sender except itself.
  const collectors = members.map((c, i) => collect(c, (i < 4 ? 3 : 4) * perSender));
  const strays = [];
  for (const c of outsiders) c.on('chat', (...a) => strays.push(a));
  for (let n = 0; n < perSender; n++) senders.forEach((c) => c.emit('chat', n));
  await withTimeout(Promise.all(collectors.map((c) => c.done)), 60000, 'room delivery');
  collectors.forEach((c, i) => {
    assertPerSenderOrder(c.got, i < 4 ? 3 : 4, perSender, `member ${i}`);
    assert.ok(!c.got.some(([from]) => from === i), `member ${i} does not get its own messages`);
  });
  // Outsiders: a round trip after everything was sent proves nothing was on its way to them.
  for (const c of outsiders) assert.equal(await withTimeout(c.emitWithAck('echo', 'x')), 'x');
  assert.deepStrictEqual(strays, []);
});

test('a burst of 500 server emits in one tick reaches every client in order', async (t) => {
  const { io, clients } = await connectMany(t, 20, () => {});
  const collectors = clients.map((c) => collect(c, 500, 'burst'));
  for (let n = 0; n < 500; n++) io.emit('burst', 'server', n, { pad: 'x'.repeat(n % 50) });
  await withTimeout(Promise.all(collectors.map((c) => c.done)), 60000, 'burst delivery');
  for (const c of collectors) {
    assert.deepStrictEqual(
      c.got.map(([, n]) => n),
      Array.from({ length: 500 }, (_, k) => k),
    );
  }
});
