'use strict';
// One node of a document cluster for bench/docs-cluster.js, in its own process (CPU from /proc).
// Usage: node cluster-node.js <collabio|hocuspocus> <redis url>
//   collabio:   documents in memory, replicated and with awareness through Redis
//               (documents.redis), served to y-websocket providers at ws://127.0.0.1:N/<doc>;
//               BENCH_THREADS sets its I/O threads (default: one per CPU).
//   hocuspocus: @hocuspocus/server with @hocuspocus/extension-redis (its documented setup: host
//               and port of the shared Redis), served to Hocuspocus providers at ws://127.0.0.1:N.
// Prints {"port":N} when listening; exits on SIGTERM or when stdin closes (./lifecycle.js).

const { ready, stopOnRequest } = require('./lifecycle');

const impl = process.argv[2];
const redisUrl = process.argv[3];

async function main() {
  let stop;
  let port;
  if (impl === 'collabio') {
    const { Server } = require('../..');
    const io = new Server({
      threads: Number(process.env.BENCH_THREADS) || undefined,
      documents: { persistence: false, redis: { url: redisUrl, prefix: 'bench' } },
    });
    io.listen(0, '127.0.0.1');
    port = io.address().port;
    stop = () => io.close();
  } else if (impl === 'hocuspocus') {
    const { Server } = require('@hocuspocus/server');
    const { Redis } = require('@hocuspocus/extension-redis');
    const u = new URL(redisUrl);
    const server = new Server({
      port: 0,
      address: '127.0.0.1',
      quiet: true,
      stopOnSignals: false,
      extensions: [new Redis({ host: u.hostname, port: Number(u.port), prefix: 'bench' })],
    });
    await server.listen();
    port = server.address.port;
    stop = () => server.destroy();
  } else {
    throw new Error(`unknown implementation ${impl}`);
  }
  ready(port);
  stopOnRequest(stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
