#!/usr/bin/env node
'use strict';
// `npm run soak:cluster [-- --fleet collabio,collabio,collabio --clients 20 --phase 3]`: what the
// users of a 3-node fleet on one Redis see when a node is SIGKILLed and when Redis restarts
// (issue 20 §5), told as a timeline. Opt-in, like `npm run soak`; the cluster tests
// (test/js/cluster-fleet.test.js) check the same faults with assertions.
//
// It starts its own redis-server (the Debian binary, a free port, a temporary directory) and three
// nodes, each a child process: collabio with createRedisAdapter, or (`--fleet` lists the kinds) a
// stock socket.io node with @socket.io/redis-adapter. On every node `--clients` socket.io-client
// sockets (default transports, reconnection on, as in a browser) sit in room "lobby", and one more
// client per node says something every 100 ms with socket.to('lobby').emit. Each phase counts, for
// the clients of each node, the messages that came from each node.
//   1. steady         every group hears every node;
//   2. node 2 killed  (SIGKILL) its clients lose the connection and retry; the others hear nodes
//                     1 and 3; fetchSockets from node 1 answers within requestsTimeout;
//   3. node 2 back    on the same port: its clients reconnect by themselves; everyone hears all;
//   4. Redis killed   (SIGKILL) every node still serves its own clients (local messages only);
//   5. Redis back     on the same port: the nodes reconnect and resubscribe; cross-node messages
//                     resume (the time until each group hears another node again is shown).
// Exits 1 when something a user would notice goes wrong (a check line says which).

const { spawn, spawnSync, fork } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const argv = process.argv.slice(2);
const flag = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i >= 0 ? argv[i + 1] : def;
};
const REQUESTS_TIMEOUT = 2000;

// ---------------------------------------------------------------------------------------------
// Node child: node cluster-faults.js --node-child <collabio|socket.io> <redis url> <port> <name>

if (argv[0] === '--node-child') {
  const [, kind, url, port, name] = argv;
  const handlers = (io) => {
    io.on('connection', (socket) => {
      socket.join('lobby');
      socket.on('chat', (m, ack) => {
        socket.to('lobby').emit('chat', { from: name, seq: m.seq });
        if (typeof ack === 'function') ack();
      });
      socket.on('who', async (ack) => {
        const t0 = Date.now();
        try {
          const n = (await io.in('lobby').fetchSockets()).length;
          ack({ n, ms: Date.now() - t0 });
        } catch (err) {
          ack({ error: String(err.message), ms: Date.now() - t0 });
        }
      });
    });
  };
  (async () => {
    if (kind === 'collabio') {
      const { Server, createRedisAdapter } = require('..');
      const io = new Server({ documents: false });
      io.adapter(createRedisAdapter({ url, key: 'socket.io', mode: 'classic', requestsTimeout: REQUESTS_TIMEOUT }));
      handlers(io);
      await io.listen(Number(port), '127.0.0.1');
      process.send({ port: io.address().port });
    } else {
      const http = require('node:http');
      const { Server } = require('socket.io');
      const { createClient } = require('redis');
      const { createAdapter } = require('@socket.io/redis-adapter');
      const pub = createClient({ url });
      const sub = pub.duplicate();
      // node-redis reports each failed reconnect as an 'error' event: one line per outage here.
      let down = false;
      for (const c of [pub, sub]) {
        c.on('error', (err) => {
          if (!down) console.error(`redis: ${err.message}`);
          down = true;
        });
        c.on('ready', () => {
          down = false;
        });
      }
      await Promise.all([pub.connect(), sub.connect()]);
      const srv = http.createServer();
      const io = new Server(srv, { adapter: createAdapter(pub, sub, { key: 'socket.io', requestsTimeout: REQUESTS_TIMEOUT }) });
      handlers(io);
      await new Promise((r) => srv.listen(Number(port), '127.0.0.1', r));
      process.send({ port: srv.address().port });
    }
  })().catch((err) => {
    console.error(err);
    process.exit(1);
  });
  return;
}

// ---------------------------------------------------------------------------------------------
// Driver

const KINDS = flag('fleet', 'collabio,collabio,collabio').split(',');
const CLIENTS = Number(flag('clients', 20));
const PHASE_MS = Number(flag('phase', 3)) * 1000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const failures = [];
const check = (ok, what) => {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function redisServer(port, dir) {
  const bin = process.env.REDIS_SERVER || spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).stdout.trim();
  if (!bin) throw new Error('redis-server not found (sudo apt-get install redis-server, or set REDIS_SERVER)');
  const child = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const ready = new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  return { child, exited, ready };
}

/** Node `i` (0-based) as a child process; resolves with { child, port, log, exited }. */
function startNode(i, url, port) {
  const child = fork(__filename, ['--node-child', KINDS[i], url, String(port), `node ${i + 1}`], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  const node = { child, port, log: [], exited: new Promise((r) => child.once('exit', r)) };
  child.stderr.on('data', (d) => {
    for (const line of String(d).split('\n').filter(Boolean)) node.log.push(line);
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ ...node, port: m.port }));
    child.once('exit', (code) => reject(new Error(`node ${i + 1} (${KINDS[i]}) exited (${code}): ${node.log.join('\n')}`)));
  });
}

/** A group of clients on one node, counting what each hears from each node. */
function group(i, url) {
  const { io } = require('socket.io-client');
  const opts = { forceNew: true, reconnectionDelay: 200, reconnectionDelayMax: 1000 };
  const g = { name: `node ${i + 1}`, heard: new Map(), disconnects: 0, sockets: [], firstCrossAt: null };
  for (let k = 0; k < CLIENTS; k++) {
    const s = io(url, opts);
    s.on('chat', (m) => {
      g.heard.set(m.from, (g.heard.get(m.from) || 0) + 1);
      if (m.from !== g.name && g.firstCrossAt === null) g.firstCrossAt = Date.now();
    });
    s.on('disconnect', () => g.disconnects++);
    g.sockets.push(s);
  }
  g.sender = io(url, opts);
  g.seq = 0;
  g.timer = setInterval(() => {
    if (g.sender.connected) g.sender.emit('chat', { seq: g.seq++ });
  }, 100);
  g.connected = () => g.sockets.filter((s) => s.connected).length + (g.sender.connected ? 1 : 0);
  g.reset = () => {
    g.heard.clear();
    g.firstCrossAt = null;
  };
  g.close = () => {
    clearInterval(g.timer);
    for (const s of [...g.sockets, g.sender]) s.close();
  };
  return g;
}

async function until(pred, ms) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) return null;
    await sleep(50);
  }
  return Date.now() - t0;
}

function table(groups) {
  const names = groups.map((g) => g.name);
  console.log(`  heard per ${CLIENTS} clients   ${names.map((n) => `from ${n}`.padStart(12)).join('')}`);
  for (const g of groups) console.log(`  clients of ${g.name}         ${names.map((n) => String(g.heard.get(n) || 0).padStart(12)).join('')}`);
}

async function who(g) {
  return g.sender.timeout(REQUESTS_TIMEOUT + 3000).emitWithAck('who').catch((err) => ({ error: `no answer: ${err.message}` }));
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-cluster-faults-'));
  const redisPort = await freePort();
  const url = `redis://127.0.0.1:${redisPort}`;
  let redis = redisServer(redisPort, dir);
  await redis.ready;
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(i, url, 0));
  console.log(`fleet: ${KINDS.join(', ')} on ${url}; ${CLIENTS} clients + 1 sender per node, each sender 10 messages/s`);
  const groups = nodes.map((n, i) => group(i, `http://127.0.0.1:${n.port}`));
  const all = 3 * (CLIENTS + 1);
  const cleanup = async () => {
    for (const g of groups) g.close();
    for (const n of nodes) n.child.kill('SIGKILL');
    redis.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    check((await until(() => groups.every((g) => g.connected() === CLIENTS + 1), 20000)) !== null, `all ${all} clients connected`);
    await sleep(500);
    const per = (PHASE_MS / 100) * CLIENTS; // messages one group hears from one live node in a phase
    const heardAll = (g, froms, share) => froms.every((f) => (g.heard.get(f) || 0) >= per * share);

    console.log(`\n1. steady (${PHASE_MS / 1000} s)`);
    groups.forEach((g) => g.reset());
    await sleep(PHASE_MS);
    table(groups);
    check(groups.every((g) => heardAll(g, ['node 1', 'node 2', 'node 3'], 0.8)), 'every group hears every node');
    const w0 = await who(groups[0]);
    check(w0.n === all, `fetchSockets from node 1: ${JSON.stringify(w0)} (want ${all})`);

    console.log(`\n2. node 2 SIGKILLed (${PHASE_MS / 1000} s)`);
    groups.forEach((g) => g.reset());
    const d0 = groups[1].disconnects;
    nodes[1].child.kill('SIGKILL');
    await nodes[1].exited;
    const wKill = await who(groups[0]);
    await sleep(PHASE_MS);
    table(groups);
    check(groups[1].disconnects - d0 === CLIENTS, `node 2's clients saw a disconnect (${groups[1].disconnects - d0}) and retry`);
    check([groups[0], groups[2]].every((g) => heardAll(g, ['node 1', 'node 3'], 0.8)), 'the clients of nodes 1 and 3 hear nodes 1 and 3 throughout');
    check(wKill.ms !== undefined && wKill.ms <= REQUESTS_TIMEOUT + 500,
      `fetchSockets from node 1 right after the kill settles within requestsTimeout (${REQUESTS_TIMEOUT} ms): ${JSON.stringify(wKill)}`);

    console.log(`\n3. node 2 restarted on port ${nodes[1].port} (${PHASE_MS / 1000} s)`);
    const before = nodes[1].log;
    nodes[1] = await startNode(1, url, nodes[1].port);
    nodes[1].log.unshift(...before, '(restarted)');
    const back = await until(() => groups[1].connected() === CLIENTS + 1, 20000);
    console.log(`  node 2's clients all reconnected by themselves after ${back ?? 'more than 20000'} ms`);
    groups.forEach((g) => g.reset());
    await sleep(PHASE_MS);
    table(groups);
    check(back !== null && groups.every((g) => heardAll(g, ['node 1', 'node 2', 'node 3'], 0.8)), 'everyone hears every node again');

    console.log(`\n4. Redis SIGKILLed (${PHASE_MS / 1000} s)`);
    redis.child.kill('SIGKILL');
    await redis.exited;
    await sleep(300);
    groups.forEach((g) => g.reset());
    await sleep(PHASE_MS);
    table(groups);
    check(groups.every((g) => heardAll(g, [g.name], 0.8)), 'every node still serves its own clients (local messages arrive)');
    check(groups.every((g) => g.connected() === CLIENTS + 1), 'no client lost its connection');

    console.log(`\n5. Redis restarted on port ${redisPort} (${PHASE_MS / 1000} s after the first cross-node message)`);
    groups.forEach((g) => g.reset());
    const t5 = Date.now();
    redis = redisServer(redisPort, dir);
    await redis.ready;
    const resumed = await until(() => groups.every((g) => g.firstCrossAt !== null), 30000);
    console.log(`  cross-node messages again after: ${groups.map((g) => `${g.name} ${g.firstCrossAt ? g.firstCrossAt - t5 : 'never'} ms`).join(', ')}`);
    groups.forEach((g) => g.reset());
    await sleep(PHASE_MS);
    table(groups);
    check(resumed !== null && groups.every((g) => heardAll(g, ['node 1', 'node 2', 'node 3'], 0.8)), 'every group hears every node again');
    const w5 = await who(groups[2]);
    check(w5.n === all, `fetchSockets from node 3: ${JSON.stringify(w5)} (want ${all})`);

    console.log('\nwhat the nodes logged (stderr):');
    nodes.forEach((n, i) => {
      console.log(`  node ${i + 1} (${KINDS[i]}): ${n.log.length ? '' : '(nothing)'}`);
      for (const line of n.log.slice(0, 12)) console.log(`    ${line}`);
      if (n.log.length > 12) console.log(`    … ${n.log.length - 12} more lines`);
    });
  } finally {
    await cleanup();
  }
  console.log(failures.length ? `\n${failures.length} check(s) failed` : '\nall checks passed');
  process.exit(failures.length ? 1 : 0);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
