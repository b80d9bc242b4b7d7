'use strict';
// A Yjs document server for the bench workloads, in its own process (CPU and RSS read from /proc).
// Usage: node yjs-server.js <collabio|collabio-hocuspocus|ywebsocket|hocuspocus> [persistence] [dir]
//   persistence: none (default) | full | normal   (collabio only: documents.persistence durability)
// Prints {"port":N} when listening; exits on SIGTERM or when stdin closes (./lifecycle.js).
// Clients: y-websocket providers at ws://127.0.0.1:N/<doc> (collabio, ywebsocket) or Hocuspocus
// providers at ws://127.0.0.1:N (hocuspocus; the document name travels in its messages).

const { ready, stopOnRequest } = require('./lifecycle');

const impl = process.argv[2];
const persistence = process.argv[3] || 'none';
const dir = process.argv[4];

async function main() {
  let stop;
  if (impl === 'collabio') {
    const { Server } = require('../..');
    let documents = { persistence: false };
    if (persistence === 'full') documents = { persistence: { dir } };
    else if (persistence === 'normal') documents = { persistence: { dir, durability: 'normal' } };
    const io = new Server({ documents });
    io.listen(0, '127.0.0.1');
    ready(io.address().port);
    stop = () => io.close();
  } else if (impl === 'collabio-hocuspocus') {
    // collabio serving Hocuspocus providers at ws://127.0.0.1:N/ (bench/hocuspocus.js), in memory;
    // BENCH_THREADS sets its I/O threads (default: one per CPU).
    const { Server } = require('../..');
    const relayInterval = process.env.BENCH_RELAY_INTERVAL === undefined ? undefined : Number(process.env.BENCH_RELAY_INTERVAL);
    const io = new Server({
      threads: Number(process.env.BENCH_THREADS) || undefined,
      documents: { persistence: false, relayInterval, hocuspocus: { path: '/' } },
    });
    io.listen(0, '127.0.0.1');
    ready(io.address().port);
    stop = () => io.close();
  } else if (impl === 'ywebsocket') {
    // The classic y-websocket server (y-websocket@1.5 bin/utils), as its bin/server.js sets it up.
    const { WebSocketServer } = require('ws');
    const http = require('node:http');
    const { setupWSConnection } = require('y-websocket-server-classic/bin/utils');
    const srv = http.createServer((req, res) => res.writeHead(200).end('ok'));
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (conn, req) => setupWSConnection(conn, req, { gc: true }));
    srv.on('upgrade', (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req)));
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    ready(srv.address().port);
    stop = () =>
      new Promise((r) => {
        for (const c of wss.clients) c.terminate();
        srv.close(() => r());
      });
  } else if (impl === 'hocuspocus') {
    const { Server } = require('@hocuspocus/server');
    const server = new Server({ port: 0, address: '127.0.0.1', quiet: true, stopOnSignals: false });
    await server.listen();
    ready(server.address.port);
    stop = () => server.destroy();
  } else {
    throw new Error(`unknown implementation ${impl}`);
  }
  stopOnRequest(stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
