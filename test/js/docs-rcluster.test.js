'use strict';
// Documents across processes on a Redis Cluster (issue 21): three collabio nodes in cluster mode
// (documents.redis { cluster: true } or { nodes }) on a three-master Redis Cluster of the test's
// own (helpers/redis-cluster.js), real y-websocket providers spread over the nodes, documents
// whose slots are spread over every master, and a yjs reference per document: every editor and
// every newcomer must encode byte-identically to it.
const test = require('node:test');
const assert = require('node:assert');
const { startRedisCluster } = require('./helpers/redis-cluster');
const { startNode, Session, seeded, editRandomly } = require('./helpers/docs-cluster');
const { sleep } = require('./helpers/docs');

const streamKey = (name) => `collabio:{${name}}:updates`;

/** Three nodes, configured the three ways a user may write it. */
async function startNodes(t, cluster, options = {}) {
  return [
    await startNode(t, cluster.urls[0], { options: { ...options, redis: { nodes: cluster.urls } } }),
    await startNode(t, cluster.urls[1], { options: { ...options, redis: { cluster: true } } }),
    await startNode(t, cluster.urls[2], { options: { ...options, redis: { cluster: true, nodes: [cluster.urls[2], cluster.urls[0]] } } }),
  ];
}

/** `perMaster` document names for each master, as Redis maps their keys' slots. */
async function namesOnEveryMaster(cluster, perMaster, stem) {
  const byMaster = cluster.servers.map(() => []);
  for (let i = 0; byMaster.some((list) => list.length < perMaster); i++) {
    const name = `${stem}-${i}`;
    const owner = await cluster.ownerOf(await cluster.slotOf(streamKey(name)));
    if (byMaster[owner].length < perMaster) byMaster[owner].push(name);
  }
  return byMaster.flat();
}

async function assertCleanStats(nodes) {
  for (const s of await Promise.all(nodes.map((n) => n.stats()))) {
    assert.ok(s.streamAppends > 0, 'every node appended');
    assert.ok(s.streamEntriesRead > 0, 'every node read other nodes\' entries');
    assert.strictEqual(s.streamAppendsRefused, 0, 'no append refused (every redirection followed)');
    assert.strictEqual(s.badStreamEntries, 0);
  }
}

test('documents on every master of a Redis Cluster converge byte-identically on three nodes; newcomers get the state', async (t) => {
  const cluster = await startRedisCluster(t, { appendonly: true });
  const nodes = await startNodes(t, cluster);
  const names = await namesOnEveryMaster(cluster, 3, 'spread');
  const sessions = names.map((name) => new Session(t, name));
  for (const s of sessions) for (const n of nodes) s.editor(n);
  await Promise.all(sessions.map((s) => s.synced()));
  const rand = seeded(2101);
  await Promise.all(sessions.map((s) => editRandomly(s, 60, rand)));
  await Promise.all(sessions.map((s) => s.converged()));
  for (const n of nodes) await Promise.all(sessions.map((s) => s.newcomer(n)));
  // Each document's stream is on the master serving its slot (a node talking to one Redis, or
  // sending everything to a seed, would have been refused with MOVED).
  for (const name of names) {
    const owner = await cluster.ownerOf(await cluster.slotOf(streamKey(name)));
    assert.ok((await (await cluster.client(owner)).xLen(streamKey(name))) > 0, `${name}'s stream on master ${owner}`);
  }
  await assertCleanStats(nodes);
});

test('on a Redis Cluster, a node SIGKILLed mid-edit and restarted loses nothing its clients typed', async (t) => {
  const cluster = await startRedisCluster(t, { appendonly: true });
  const nodes = await startNodes(t, cluster);
  const names = await namesOnEveryMaster(cluster, 1, 'kill');
  const sessions = names.map((name) => new Session(t, name));
  for (const s of sessions) for (const n of nodes) s.editor(n);
  await Promise.all(sessions.map((s) => s.synced()));
  const rand = seeded(77);
  let editing = true;
  const typing = (async () => {
    while (editing) {
      for (const s of sessions) await editRandomly(s, 3, rand);
      await sleep(5);
    }
  })();
  await sleep(300);
  const victim = nodes[1];
  await victim.kill();
  await sleep(300); // the dead node's editors keep typing offline
  nodes[1] = await startNode(t, cluster.urls[1], { port: victim.port, options: { redis: { cluster: true } } });
  await sleep(300);
  editing = false;
  await typing;
  await Promise.all(sessions.map((s) => s.converged()));
  for (const n of nodes) await Promise.all(sessions.map((s) => s.newcomer(n)));
});

test('a slot in use resharded to another master while editing (ASK, then MOVED) keeps every node converging', async (t) => {
  const cluster = await startRedisCluster(t, { appendonly: true });
  // Compaction often, so the snapshot and lease keys exist and move too.
  const nodes = await startNodes(t, cluster, { compactAfterEntries: 20 });
  const [moving, ...others] = await namesOnEveryMaster(cluster, 1, 'reshard');
  const sessions = [moving, ...others].map((name) => new Session(t, name));
  for (const s of sessions) for (const n of nodes) s.editor(n);
  await Promise.all(sessions.map((s) => s.synced()));
  const rand = seeded(4242);
  await Promise.all(sessions.map((s) => editRandomly(s, 40, rand)));
  await Promise.all(sessions.map((s) => s.converged()));

  const slot = await cluster.slotOf(streamKey(moving));
  const from = await cluster.ownerOf(slot);
  const to = (from + 1) % cluster.servers.length;
  let editing = true;
  const typing = (async () => {
    while (editing) {
      for (const s of sessions) await editRandomly(s, 2, rand);
      await sleep(5);
    }
  })();
  let keysInSlot = 0;
  // One key per batch with pauses: for a while some of the slot's keys are on each master, and
  // the nodes' commands meet ASK (and TRYAGAIN); SETSLOT NODE then answers MOVED.
  await cluster.migrateSlot(slot, to, {
    batch: 1,
    pauseMs: 250,
    onMigrating: async () => {
      keysInSlot = Number(await (await cluster.client(from)).sendCommand(['CLUSTER', 'COUNTKEYSINSLOT', String(slot)])) + 1;
    },
  });
  await sleep(500);
  editing = false;
  await typing;
  assert.ok(keysInSlot >= 2, `the slot held several keys to migrate (${keysInSlot})`);
  assert.strictEqual(await cluster.ownerOf(slot), to, 'the slot moved');
  assert.ok((await (await cluster.client(to)).xLen(streamKey(moving))) > 0, 'the stream is on its new master');
  await Promise.all(sessions.map((s) => s.converged()));
  for (const n of nodes) await Promise.all(sessions.map((s) => s.newcomer(n)));
  await assertCleanStats(nodes);
});

test('documents.redis cluster options are checked', () => {
  const { Server } = require('../..');
  const make = (redis) => new Server({ documents: { redis } });
  assert.throws(() => make({ nodes: [] }), /documents\.redis\.nodes needs a non-empty list/);
  assert.throws(() => make({ nodes: ['http://x:1'] }), /documents\.redis\.nodes needs/);
  assert.throws(() => make({ url: 'redis://x:1', cluster: 'yes' }), /documents\.redis\.cluster must be a boolean/);
  assert.throws(() => make({ nodes: ['redis://x:1'], cluster: false }), /cluster cannot be false/);
  assert.strictEqual(make({ nodes: ['redis://x:1', 'redis://y:2'] }).documents.cluster.url, 'redis://x:1');
});

test('the CLI with --redis-cluster serves documents from a Redis Cluster', async (t) => {
  const { spawn } = require('node:child_process');
  const path = require('node:path');
  const { freePort } = require('./helpers/redis-server');
  const { waitFor } = require('./helpers/docs');
  const cluster = await startRedisCluster(t);
  const port = await freePort();
  const cli = path.join(__dirname, '..', '..', 'lib', 'cli.js');
  const child = spawn(process.execPath, [cli, '--port', String(port), '--host', '127.0.0.1', '--threads', '1', '--redis', cluster.urls[1], '--redis-cluster'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('documents kept in step through'), 'collabio --redis-cluster to start', 20000);
  const other = await startNode(t, cluster.urls[0], { options: { redis: { cluster: true } } });
  const names = await namesOnEveryMaster(cluster, 1, 'cli');
  const sessions = names.map((name) => new Session(t, name));
  for (const s of sessions) {
    s.editor({ wsUrl: `ws://127.0.0.1:${port}` });
    s.editor(other);
  }
  await Promise.all(sessions.map((s) => s.synced()));
  await Promise.all(sessions.map((s) => editRandomly(s, 30, seeded(9))));
  await Promise.all(sessions.map((s) => s.converged()));
  for (const name of names) {
    const owner = await cluster.ownerOf(await cluster.slotOf(streamKey(name)));
    assert.ok((await (await cluster.client(owner)).xLen(streamKey(name))) > 0, `${name}'s stream on master ${owner}`);
  }
});
