'use strict';
// Connection state recovery soak (issue 17): clients whose transports drop again and again while
// the server keeps broadcasting. Reports, per round, the server's heap, RSS, sessions kept and the
// packet log, so that a leak shows as growth across rounds.
//
//   node --expose-gc bench/recovery-soak.js [--clients 100] [--rounds 60] [--max-disconnection 2000]
//
// Each round: every client drops its WebSocket (socket.io-client reconnects and recovers), the
// server broadcasts 20 chat messages while they are away, and the round ends when every client is
// back (recovered) and has them all. Server and clients share this process: the heap figures
// include the clients, which are the same objects every round.
const { Server } = require('..');
const { io: ioc } = require('socket.io-client');

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};

(async () => {
  const nClients = arg('clients', 100);
  const rounds = arg('rounds', 60);
  // Short, so that the packet log reaches its steady state within the run.
  const maxDisconnectionDuration = arg('max-disconnection', 2000);
  const io = new Server({ connectionStateRecovery: { maxDisconnectionDuration }, documents: false });
  io.listen(0, '127.0.0.1');
  const url = `http://127.0.0.1:${io.address().port}`;
  io.on('connection', (socket) => {
    if (!socket.recovered) socket.join('chat');
  });
  const clients = [];
  let received = 0;
  for (let i = 0; i < nClients; i++) {
    const c = ioc(url, { transports: ['websocket'], forceNew: true, reconnectionDelay: 20, reconnectionDelayMax: 50 });
    c.on('chat', () => received++);
    await new Promise((r) => c.once('connect', r));
    clients.push(c);
  }
  io.to('chat').emit('chat', { text: 'first' }); // every client gets an offset
  while (received < nClients) await new Promise((r) => setTimeout(r, 10));
  const adapter = io.of('/').adapter;
  const rows = [];
  for (let round = 1; round <= rounds; round++) {
    const back = clients.map((c) => new Promise((r) => c.once('connect', r)));
    const target = received + 20 * nClients;
    for (const c of clients) c.io.engine.close();
    for (let k = 0; k < 20; k++) io.to('chat').emit('chat', { round, k, text: 'hello from the soak test '.repeat(4) });
    await Promise.all(back);
    while (received < target) await new Promise((r) => setTimeout(r, 10));
    const notRecovered = clients.filter((c) => !c.recovered).length;
    if (global.gc) global.gc();
    const mem = process.memoryUsage();
    const log = adapter.logStats();
    rows.push({ round, heapMB: mem.heapUsed / 2 ** 20, rssMB: mem.rss / 2 ** 20, ...log, notRecovered });
  }
  console.log(`${nClients} clients, ${rounds} rounds of drop + 20 broadcasts + recovery, maxDisconnectionDuration ${maxDisconnectionDuration} ms`);
  console.log('| round | heap MB | RSS MB | sessions | log packets | log KB | not recovered |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) {
    if (r.round === 1 || r.round % 10 === 0) {
      console.log(`| ${r.round} | ${r.heapMB.toFixed(1)} | ${r.rssMB.toFixed(1)} | ${r.sessions} | ${r.packets} | ${(r.bytes / 1024).toFixed(0)} | ${r.notRecovered} |`);
    }
  }
  for (const c of clients) c.close();
  await io.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
