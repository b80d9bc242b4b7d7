'use strict';
// Nodes of a fleet sharing one Redis: stock socket.io nodes (socket.io + @socket.io/redis-adapter +
// redis 4, as users run them) and collabio nodes (createRedisAdapter). Each node listens on its own
// loopback port; clients connect to the node they are given. Every node built here treats a new
// socket the same way (joinFromAuth), in this process or in a child (fleet-child.js).
const http = require('node:http');
const { spawn } = require('node:child_process');
const path = require('node:path');
const { io: connectClient } = require('socket.io-client');
const { withTimeout, delay, until } = require('./clients');

const KEY = 'socket.io';

/**
 * What the fleet's nodes do with a new socket: keep auth.data as socket.data and join the room
 * auth.room names. A recovered socket (connection state recovery) has its data and rooms already.
 */
function joinFromAuth(io) {
  io.on('connection', (socket) => {
    if (socket.recovered) return;
    const { room, data } = socket.handshake.auth;
    if (data !== undefined) socket.data = data;
    if (room) socket.join(room);
  });
}

/**
 * A stock socket.io node on Redis.
 * @param {string} url redis://…
 * @param {{ mode?: 'classic' | 'sharded', requestsTimeout?: number }} [opts]
 */
async function stockNode(url, { mode = 'classic', requestsTimeout = 5000 } = {}) {
  const { Server } = require('socket.io');
  const { createClient } = require('redis');
  const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url });
  const sub = pub.duplicate();
  // node-redis reports every failed reconnect attempt as an 'error' event; without a listener it
  // would throw. The tests check behaviour, not these lines.
  pub.on('error', () => {});
  sub.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  const adapter =
    mode === 'sharded'
      ? createShardedAdapter(pub, sub, { channelPrefix: KEY })
      : createAdapter(pub, sub, { key: KEY, requestsTimeout });
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const port = httpServer.address().port;
  return {
    kind: 'socket.io',
    io,
    url: `http://127.0.0.1:${port}`,
    async close() {
      await new Promise((resolve) => io.close(() => resolve()));
      // After a Redis restart, node-redis 4 may never answer a QUIT: give it a moment, then drop
      // the sockets (the QUIT then never settles; nothing waits for it).
      const quits = Promise.allSettled([pub.quit(), sub.quit()]);
      await Promise.race([quits, delay(1000)]);
      for (const c of [pub, sub]) if (c.isOpen) await c.disconnect().catch(() => {});
    },
  };
}

/**
 * A collabio node on Redis (createRedisAdapter). With `maxDisconnectionDuration` it has connection
 * state recovery across the fleet (lib/redis-recovery.js), and resolves once it reads the packet log.
 * @param {string} url redis://…
 * @param {{ mode?: 'classic' | 'sharded', requestsTimeout?: number, maxDisconnectionDuration?: number }} [opts]
 */
async function collabioNode(url, { mode = 'classic', requestsTimeout = 5000, maxDisconnectionDuration } = {}) {
  const { Server, createRedisAdapter } = require('../../..');
  const io = new Server({
    documents: false,
    adapter: createRedisAdapter({ url, key: KEY, mode, requestsTimeout }),
    ...(maxDisconnectionDuration === undefined ? {} : { connectionStateRecovery: { maxDisconnectionDuration } }),
  });
  io.listen(0, '127.0.0.1');
  if (maxDisconnectionDuration !== undefined) {
    await withTimeout(io.of('/').adapter._recovery.ready, undefined, 'the packet log reader');
  }
  const port = io.address().port;
  return { kind: 'collabio', io, port, url: `http://127.0.0.1:${port}`, close: () => io.close() };
}

/**
 * A node in a child process (for the tests that SIGKILL a node, or read its log): `kind`
 * 'socket.io' or 'collabio'; `maxDisconnectionDuration` as for collabioNode. With `t`, the child is
 * SIGKILLed after that test if it still runs. Resolves with { url, port, emit(room, event, ...args),
 * kill(), stderr() }; emit broadcasts from the child node.
 */
async function childNode(url, { mode = 'classic', kind = 'socket.io', captureStderr = false, maxDisconnectionDuration, t } = {}) {
  const args = [url, mode, kind];
  if (maxDisconnectionDuration !== undefined) args.push(String(maxDisconnectionDuration));
  const child = spawn(process.execPath, [path.join(__dirname, 'fleet-child.js'), ...args], {
    stdio: ['ignore', 'pipe', captureStderr ? 'pipe' : 'inherit', 'ipc'],
  });
  let stderr = '';
  if (captureStderr) child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (t) t.after(() => child.kill('SIGKILL'));
  const port = await withTimeout(
    new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /^port (\d+)$/m.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`fleet child exited (${code}) before listening`)));
    }),
    undefined,
    'fleet child start',
  );
  return {
    kind: `${kind} (child)`,
    port,
    url: `http://127.0.0.1:${port}`,
    emit: (room, event, ...args) => child.send({ cmd: 'emit', room, event, args }),
    /** What the child wrote to stderr so far (with captureStderr). */
    stderr: () => stderr,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Waits until every node's adapter counts `n` servers (their subscriptions are in place). */
function untilServerCount(nodes, n, what = `${n} servers`) {
  return until(async () => (await Promise.all(nodes.map((node) => node.io.of('/').adapter.serverCount()))).every((c) => c === n), what);
}

/** A socket.io-client connected over WebSocket to `node`; resolves once connected. */
async function connectTo(node, opts = {}) {
  const socket = connectClient(node.url, { transports: ['websocket'], reconnection: false, forceNew: true, ...opts });
  await withTimeout(
    new Promise((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    }),
    undefined,
    'client connect',
  );
  return socket;
}

module.exports = { stockNode, collabioNode, childNode, joinFromAuth, untilServerCount, connectTo, KEY };
