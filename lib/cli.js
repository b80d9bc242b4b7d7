#!/usr/bin/env node
'use strict';
// `collabio`: a standalone collaborative-editing server, as `npx y-websocket` users expect.
//
//   collabio [--port 1234] [--host 0.0.0.0] [--data ./collabio-data] [--memory] [--threads N]
//            [--durability full|normal] [--static DIR] [--close-timeout MS] [--hocuspocus-path /collab]
//            [--tls-key key.pem --tls-cert cert.pem] [--redis redis://host:6379 [--redis-prefix P] [--redis-cluster]]
//
// PORT and HOST are honoured when the flags are absent. Documents persist into --data unless
// --memory; with --redis, Redis stores them and --data (only when given) bootstraps what Redis lacks. SIGINT/SIGTERM close every connection (each gets --close-timeout to take what is queued
// for it and to answer the close), flush the store and exit 0.

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Server } = require('./index');

const USAGE = `Usage: collabio [options]

  --port N             port to listen on (env PORT, default 1234)
  --host ADDR          address to bind (env HOST, default 0.0.0.0)
  --data DIR           where documents are stored (default ./collabio-data)
  --memory             keep documents in memory only (nothing is stored)
  --durability MODE    full (fsync every commit, default) or normal (survives a process crash,
                       not a power loss)
  --threads N          I/O threads (default: number of CPUs)
  --static DIR         serve files from DIR to plain HTTP GET requests
  --hocuspocus-path P  also serve Hocuspocus providers (Tiptap) at ws://host:port/P (e.g. /collab),
                       on the same documents as y-websocket clients
  --tls-key FILE       serve TLS (wss://, https://) with this PEM private key ...
  --tls-cert FILE      ... and this PEM certificate chain (both or neither)
  --redis URL          cluster mode: keep documents in step with every node on this Redis
                       (redis:// or rediss://); Redis stores them. With --data as well, a
                       document Redis lacks is read from --data (moving from one node to a
                       cluster), and each snapshot is written back there
  --redis-prefix P     key prefix in Redis (default collabio)
  --redis-cluster      the --redis URL is a seed node of a Redis Cluster
  --close-timeout MS   on SIGINT/SIGTERM, how long a client may take to receive what is queued for
                       it and to answer the close before it is dropped (default 5000)
  -h, --help           this text
`;

function main(argv) {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        memory: { type: 'boolean' },
        durability: { type: 'string' },
        threads: { type: 'string' },
        static: { type: 'string' },
        'hocuspocus-path': { type: 'string' },
        'close-timeout': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-cert': { type: 'string' },
        redis: { type: 'string' },
        'redis-prefix': { type: 'string' },
        'redis-cluster': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`collabio: ${err.message}\n\n${USAGE}`);
    return process.exit(2);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = Number(args.port ?? process.env.PORT ?? 1234);
  const host = args.host ?? process.env.HOST ?? '0.0.0.0';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`collabio: invalid port "${args.port ?? process.env.PORT}"\n`);
    return process.exit(2);
  }
  const closeTimeout = args['close-timeout'] === undefined ? undefined : Number(args['close-timeout']);
  if (closeTimeout !== undefined && !(Number.isInteger(closeTimeout) && closeTimeout >= 0)) {
    process.stderr.write(`collabio: invalid --close-timeout "${args['close-timeout']}"\n`);
    return process.exit(2);
  }
  if (!args['tls-key'] !== !args['tls-cert']) {
    process.stderr.write('collabio: --tls-key and --tls-cert go together\n');
    return process.exit(2);
  }
  let tls;
  if (args['tls-key']) {
    try {
      tls = { key: fs.readFileSync(args['tls-key']), cert: fs.readFileSync(args['tls-cert']) };
    } catch (err) {
      process.stderr.write(`collabio: ${err.message}\n`);
      return process.exit(2);
    }
  }
  const dataDir = path.resolve(args.data ?? 'collabio-data');
  const stored = { dir: dataDir, durability: args.durability ?? 'full' };
  // Cluster mode reads --data only when it is given: a bootstrap source beside Redis.
  const persistence = args.memory ? false : args.redis ? args.data !== undefined && stored : stored;
  const redis = args.redis
    ? { url: args.redis, ...(args['redis-prefix'] && { prefix: args['redis-prefix'] }), ...(args['redis-cluster'] && { cluster: true }) }
    : undefined;
  let io;
  try {
    io = new Server({
      threads: args.threads ? Number(args.threads) : undefined,
      serveStatic: args.static ? path.resolve(args.static) : undefined,
      ...(closeTimeout !== undefined && { closeTimeout }),
      ...(tls && { tls }),
      documents: { persistence, ...(redis && { redis }), ...(args['hocuspocus-path'] && { hocuspocus: { path: args['hocuspocus-path'] } }) },
    });
    io.listen(port, host);
  } catch (err) {
    process.stderr.write(`collabio: ${err.message}\n`);
    return process.exit(1);
  }
  const addr = io.address();
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  process.stdout.write(
    `collabio listening on ${tls ? 'wss' : 'ws'}://${shown}:${addr.port} (Socket.IO at /socket.io/, documents at /<name>)\n` +
      (args['hocuspocus-path'] ? `Hocuspocus providers at ${tls ? 'wss' : 'ws'}://${shown}:${addr.port}${args['hocuspocus-path']}\n` : '') +
      (redis
        ? `documents kept in step through ${redis.url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@')} (prefix ${io.documents.cluster.prefix})\n` +
          (persistence ? `documents Redis lacks are read from ${io.documents.file}, snapshots written back there\n` : '')
        : persistence
          ? `documents stored in ${io.documents.file}\n`
          : 'documents kept in memory only (--memory)\n'),
  );
  let stopping = false;
  const stop = (signal) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`collabio: ${signal}, closing\n`);
    io.close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`collabio: ${err.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv.slice(2));
