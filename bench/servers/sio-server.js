'use strict';
// A Socket.IO server for the bench workloads, in its own process so that its CPU and memory can be
// read from /proc. Usage: node sio-server.js <collabio|socketio|ws> [threads]
// Prints {"port":N} when listening; exits on SIGTERM or when stdin closes (./lifecycle.js).
// With BENCH_REDIS_URL set (bench/cluster.js), the node joins a fleet on that Redis: socket.io with
// @socket.io/redis-adapter (redis 4 clients, as users run it), collabio with createRedisAdapter;
// BENCH_REDIS_MODE is classic (default) or sharded. Key / channel prefix: "socket.io".
//
// Every implementation does the same job:
//   on connection: join room "r"
//   "fan" (m)      -> io.to("r").emit("fan", m)        (workload 1, sender included)
//   "req" (m, cb)  -> cb(m)                            (workload 2, a JavaScript handler answers)

const { ready, stopOnRequest } = require('./lifecycle');

const impl = process.argv[2];
const threads = process.argv[3] ? Number(process.argv[3]) : undefined;
const redisUrl = process.env.BENCH_REDIS_URL || '';
const redisMode = process.env.BENCH_REDIS_MODE || 'classic';

function handlers(io) {
  io.on('connection', (socket) => {
    socket.join('r');
    socket.on('fan', (m) => io.to('r').emit('fan', m));
    socket.on('req', (m, cb) => cb(m));
  });
}

async function main() {
  let stop;
  if (impl === 'collabio') {
    const { Server, createRedisAdapter } = require('../..');
    const io = new Server({ threads });
    if (redisUrl) io.adapter(createRedisAdapter({ url: redisUrl, key: 'socket.io', mode: redisMode }));
    handlers(io);
    io.listen(0, '127.0.0.1');
    ready(io.address().port);
    stop = () => io.close();
  } else if (impl === 'socketio') {
    const { Server } = require('socket.io');
    const http = require('node:http');
    const srv = http.createServer();
    const io = new Server(srv, { transports: ['websocket', 'polling'] });
    if (redisUrl) io.adapter(await stockRedisAdapter());
    handlers(io);
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    ready(srv.address().port);
    stop = () => new Promise((r) => io.close(() => r()));
  } else if (impl === 'ws') {
    stop = await wsFloor();
  } else {
    throw new Error(`unknown implementation ${impl}`);
  }
  stopOnRequest(stop);
}

/** @socket.io/redis-adapter on two redis 4 clients (publisher, subscriber), as its README sets it up. */
async function stockRedisAdapter() {
  const { createClient } = require('redis');
  const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);
  return redisMode === 'sharded' ? createShardedAdapter(pub, sub, { channelPrefix: 'socket.io' }) : createAdapter(pub, sub, { key: 'socket.io' });
}

// The JavaScript floor: a plain `ws` server that speaks just enough Engine.IO/Socket.IO for the
// load generator (what ceiling_server does in C++), with the same events and no socket.io library.
async function wsFloor() {
  const { WebSocketServer } = require('ws');
  const http = require('node:http');
  const srv = http.createServer();
  const wss = new WebSocketServer({ server: srv, path: '/socket.io/', perMessageDeflate: false });
  const room = new Set();
  let next = 1;
  wss.on('connection', (ws) => {
    const id = next++;
    ws.send(`0{"sid":"c${id}","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}`);
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const p = data.toString();
      if (p === '40') {
        room.add(ws);
        ws.send(`40{"sid":"s${id}"}`);
        return;
      }
      if (p[0] === '2') return ws.send('3');
      if (!p.startsWith('42')) return;
      const m = /^42(\d*)(\[.*\])$/s.exec(p);
      if (!m) return;
      const args = JSON.parse(m[2]);
      if (args[0] === 'fan' && m[1] === '') {
        const out = Buffer.from('42' + JSON.stringify(['fan', args[1]]));
        for (const c of room) c.send(out, { binary: false });
      } else if (args[0] === 'req' && m[1] !== '') {
        ws.send('43' + m[1] + JSON.stringify([args[1]]));
      }
    });
    ws.on('close', () => room.delete(ws));
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  ready(srv.address().port);
  return () =>
    new Promise((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => srv.close(() => r()));
    });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
