'use strict';
// permessage-deflate benchmark (issue 17): server CPU per delivery and bytes on the wire for a
// broadcast of a JSON chat payload, collabio with and without perMessageDeflate, against socket.io
// 4 with and without perMessageDeflate. The server runs in a child process (its CPU, every thread,
// read from /proc/<pid>/stat); the clients are socket.io-client over WebSocket in this process
// (ws offers permessage-deflate by default, as browsers do).
//
//   node bench/compression.js [--clients 100] [--messages 1000] [--json]
//
// Each run: N clients join, the server broadcasts M messages (in steps of 10, the next step when
// every client has the previous one), and the run ends when every client has all M. Reported: server
// CPU (user+system) / (N × M) deliveries, bytes the clients read / (N × M), and the payload size.
const { fork } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};

/**
 * Broadcast number `seq`: a page of chat history as an app sends it, 12 messages with id, user,
 * text and timestamp. Texts differ from one broadcast to the next (a seeded PRNG picks the words),
 * so a compressor that keeps its context between messages gains from the shared structure and
 * vocabulary, not from repeats of the same bytes.
 */
function chatPayload(seq) {
  const words = ('the quick brown fox jumps over a lazy dog while we talk about the release plan for ' +
    'friday and the new design review meeting notes budget coffee lunch deploy staging production bug ' +
    'fix test green red merge branch ticket customer feedback').split(' ');
  let x = (seq + 1) * 2654435761 >>> 0;
  const rnd = (n) => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
  return Array.from({ length: 12 }, (_, i) => ({
    id: `m${seq * 12 + i}`,
    room: 'general',
    user: { id: `u${rnd(50)}`, name: ['Ada', 'Bob', 'Cy', 'Dee', 'Eve'][rnd(5)] },
    text: Array.from({ length: 8 + rnd(12) }, () => words[rnd(words.length)]).join(' '),
    at: 1733450000000 + seq * 15000 + i * 1234,
  }));
}

// ---- child: the server ----
if (process.env.BENCH_COMPRESSION_SERVER) {
  const impl = process.env.BENCH_COMPRESSION_SERVER;
  const pmdMode = process.env.BENCH_PMD; // '0' off, '1' on, 'own' on with a stream per connection
  const pmd = pmdMode === 'own' ? { serverNoContextTakeover: false } : pmdMode === '1';
  let seq = 0;
  let io;
  const ready = (port) => process.send({ port });
  if (impl === 'socket.io') {
    const http = require('node:http');
    const { Server } = require('socket.io');
    const srv = http.createServer();
    io = new Server(srv, { perMessageDeflate: pmd });
    srv.listen(0, '127.0.0.1', () => ready(srv.address().port));
  } else {
    const { Server } = require('..');
    io = new Server({ perMessageDeflate: pmd, documents: false });
    io.listen(0, '127.0.0.1');
    ready(io.address().port);
  }
  io.on('connection', (socket) => socket.join('room'));
  process.on('message', (m) => {
    if (m.send) for (let i = 0; i < m.send; i++) io.to('room').emit('chat', chatPayload(seq++));
    if (m.exit) process.exit(0);
  });
  return;
}

// ---- parent: clients and measurement ----
const { io: ioClient } = require('socket.io-client');

function cpuMs(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(parts[11]) + Number(parts[12]); // utime + stime (fields 14, 15)
  return (ticks * 1000) / 100; // CLK_TCK is 100 on Linux
}

async function run(impl, pmd, clients, messages) {
  const child = fork(__filename, [], {
    env: { ...process.env, BENCH_COMPRESSION_SERVER: impl, BENCH_PMD: pmd === 'own' ? 'own' : pmd ? '1' : '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { port } = await new Promise((resolve) => child.once('message', resolve));
  const sockets = [];
  let received = 0;
  let waiter = null;
  for (let i = 0; i < clients; i++) {
    const s = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
    s.on('chat', () => {
      received++;
      if (waiter && received >= waiter.target) waiter.resolve();
    });
    await new Promise((resolve, reject) => {
      s.once('connect', resolve);
      s.once('connect_error', reject);
    });
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, 300)); // joins done
  const extensions = sockets[0].io.engine.transport.ws.extensions || '(none)';
  const bytesRead = () => sockets.reduce((n, s) => n + s.io.engine.transport.ws._socket.bytesRead, 0);
  const b0 = bytesRead();
  const c0 = cpuMs(child.pid);
  const step = 10;
  for (let sent = 0; sent < messages; sent += step) {
    const target = (sent + step) * clients;
    const done = new Promise((resolve) => (waiter = { target, resolve }));
    child.send({ send: step });
    await done;
  }
  const c1 = cpuMs(child.pid);
  const b1 = bytesRead();
  for (const s of sockets) s.disconnect();
  child.send({ exit: true });
  await new Promise((r) => child.once('exit', r));
  const deliveries = clients * messages;
  return {
    server: impl,
    perMessageDeflate: pmd,
    negotiated: extensions,
    cpuUsPerDelivery: ((c1 - c0) * 1000) / deliveries,
    wireBytesPerDelivery: (b1 - b0) / deliveries,
  };
}

(async () => {
  const clients = arg('clients', 100);
  const messages = arg('messages', 1000);
  let payloadBytes = 0;
  for (let i = 0; i < messages; i++) payloadBytes += Buffer.byteLength(`42${JSON.stringify(['chat', chatPayload(i)])}`);
  payloadBytes = Math.round(payloadBytes / messages);
  const results = [];
  const configs = [['collabio', false], ['collabio', true], ['collabio', 'own'], ['socket.io', false], ['socket.io', true]];
  for (const [impl, pmd] of configs) {
    results.push(await run(impl, pmd, clients, messages));
  }
  if (args.includes('--json')) {
    console.log(JSON.stringify({ clients, messages, payloadBytes, results }, null, 2));
    return;
  }
  console.log(`${clients} clients in one room, ${messages} broadcasts of JSON chat packets (${payloadBytes} bytes on average)`);
  console.log('| server | perMessageDeflate | server CPU per delivery | bytes on the wire per delivery |');
  console.log('|---|---|---|---|');
  for (const r of results) {
    const mode = r.perMessageDeflate === 'own' ? 'on, serverNoContextTakeover: false' : r.perMessageDeflate ? 'on' : 'off';
    console.log(`| ${r.server} | ${mode} | ${r.cpuUsPerDelivery.toFixed(2)} µs | ${Math.round(r.wireBytesPerDelivery)} |`);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
