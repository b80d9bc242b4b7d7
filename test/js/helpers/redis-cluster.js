'use strict';
// A Redis Cluster of the test's own: `masters` redis-servers in cluster mode (each through
// startRedis: a free loopback port, files in a temporary directory, killed with the test process
// by pdeathsig, stopped when the test ends), joined by `redis-cli --cluster create` with no
// replicas. Never the system service. A machine without redis-cli fails the test with a message.
const { spawn, spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');
const { createClient } = require('redis');
const { startRedis, freePort } = require('./redis-server');

const READY_MS = 20000;

function findRedisCli() {
  if (process.env.REDIS_CLI) return process.env.REDIS_CLI;
  if (process.env.REDIS_SERVER) {
    const beside = path.join(path.dirname(process.env.REDIS_SERVER), 'redis-cli');
    if (fs.existsSync(beside)) return beside;
  }
  const r = spawnSync('sh', ['-c', 'command -v redis-cli'], { encoding: 'utf8' });
  const found = r.status === 0 ? r.stdout.trim() : '';
  if (!found) throw new Error('redis-cli not found: the Redis Cluster tests create their cluster with it (sudo apt-get install -y redis-tools, or set REDIS_CLI)');
  return found;
}

function run(bin, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`${path.basename(bin)} ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

/**
 * Starts a cluster of `masters` (default 3) masters. Resolves with
 * { servers, urls, client(i), slotOf(key), ownerOf(slot), migrateSlot(slot, to, { pauseMs, onMigrating }) }:
 * `servers[i]` is startRedis's handle (kill, restart, port), `urls[i]` its redis:// URL.
 * @param {import('node:test').TestContext} t
 * @param {{ masters?: number, appendonly?: boolean }} [opts]
 */
async function startRedisCluster(t, opts = {}) {
  const cli = findRedisCli();
  const masters = opts.masters || 3;
  const servers = [];
  for (let i = 0; i < masters; i++) {
    // nodes.conf lands in the server's temporary directory (--dir), so a restart finds its slots.
    // The bus port is given: the default (port + 10000) may be taken, or past 65535.
    const busPort = await freePort();
    servers.push(
      await startRedis(t, {
        appendonly: opts.appendonly,
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000', '--cluster-port', String(busPort)],
      }),
    );
  }
  await run(cli, ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes']);

  const clients = new Map();
  const client = async (i) => {
    if (!clients.has(i)) {
      const c = createClient({ url: servers[i].url });
      c.on('error', () => {});
      await c.connect();
      clients.set(i, c);
    }
    return clients.get(i);
  };
  t.after(async () => {
    for (const c of clients.values()) await c.disconnect().catch(() => {});
  });

  // Ready once every node says cluster_state:ok and they agree on who serves slot 0.
  const start = Date.now();
  for (;;) {
    const infos = await Promise.all(servers.map(async (_, i) => (await client(i)).sendCommand(['CLUSTER', 'INFO'])));
    if (infos.every((info) => info.includes('cluster_state:ok'))) break;
    if (Date.now() - start > READY_MS) throw new Error(`the Redis Cluster was not ready within ${READY_MS} ms:\n${infos.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }

  const ids = await Promise.all(servers.map(async (_, i) => (await client(i)).sendCommand(['CLUSTER', 'MYID'])));
  /** The key's slot, as Redis computes it. */
  const slotOf = async (key) => Number(await (await client(0)).sendCommand(['CLUSTER', 'KEYSLOT', key]));
  /** The index in `servers` of the master serving `slot`, as node 0 sees the map. */
  const ownerOf = async (slot) => {
    const slots = await (await client(0)).sendCommand(['CLUSTER', 'SLOTS']);
    for (const [first, last, master] of slots) {
      if (slot >= first && slot <= last) return servers.findIndex((s) => s.port === Number(master[1]));
    }
    return -1;
  };
  /**
   * Moves `slot` and its keys to master `to`, as `redis-cli --cluster reshard` does: IMPORTING /
   * MIGRATING, MIGRATE the keys in batches of `batch` (pausing `pauseMs` after each, so clients meet
   * ASK meanwhile; `onMigrating` runs after the first batch), then SETSLOT NODE on every master.
   */
  const migrateSlot = async (slot, to, { pauseMs = 0, batch = 1, onMigrating } = {}) => {
    const from = await ownerOf(slot);
    if (from === to) throw new Error(`slot ${slot} is already on master ${to}`);
    const src = await client(from);
    const dst = await client(to);
    await dst.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', ids[from]]);
    await src.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', ids[to]]);
    let first = true;
    for (;;) {
      const keys = await src.sendCommand(['CLUSTER', 'GETKEYSINSLOT', String(slot), String(batch)]);
      if (keys.length === 0) break;
      await src.sendCommand(['MIGRATE', '127.0.0.1', String(servers[to].port), '', '0', '5000', 'KEYS', ...keys]);
      if (first && onMigrating) await onMigrating();
      first = false;
      if (pauseMs) await new Promise((r) => setTimeout(r, pauseMs));
    }
    await dst.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[to]]);
    await src.sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[to]]);
    for (let i = 0; i < servers.length; i++) {
      if (i !== from && i !== to) await (await client(i)).sendCommand(['CLUSTER', 'SETSLOT', String(slot), 'NODE', ids[to]]);
    }
  };

  return { servers, urls: servers.map((s) => s.url), ids, client, slotOf, ownerOf, migrateSlot };
}

module.exports = { startRedisCluster };
