'use strict';
// Documents across processes, bootstrapped from persistence (issue 21): a document that Redis
// holds neither a snapshot nor a stream for is read from the node's persistence (the SQLite store
// or persistence.load) and seeded into Redis by one script that writes only if Redis still has
// nothing, so nodes opening it at once agree on one state. Real redis-server, collabio nodes in
// child processes, y-websocket providers, and a yjs reference.
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Y = require('yjs');
const { startRedis, freePort } = require('./helpers/redis-server');
const { waitFor } = require('./helpers/docs');
const { startNode, launchCli, redisClient, Session, seeded, editRandomly } = require('./helpers/docs-cluster');

function tempDir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-bootstrap-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const sum = (stats, key) => stats.reduce((n, s) => n + s[key], 0);

/** Resolves once no node holds a document (their unloadDelay passed with no client). */
async function unloaded(nodes) {
  for (const n of nodes) {
    let docs = -1;
    await waitFor(() => docs === 0 || (n.stats().then((s) => (docs = s.documents)), false), 'the nodes to unload their documents', 20000, 100);
  }
}

test('a document written single-node to SQLite is served by a cluster; nodes opening it at once seed Redis once and converge on the reference', async (t) => {
  const dir = tempDir(t);
  // Single-node mode, as users ran it before: the CLI storing into --data.
  const single = await launchCli(t, await freePort(), ['--data', dir], 'documents stored in');
  const s = new Session(t, 'migrated');
  s.editor(single);
  s.editor(single);
  await s.synced();
  await editRandomly(s, 150, seeded(31));
  await s.converged();
  s.destroy();
  assert.strictEqual(await single.stop(), 0);

  const redis = await startRedis(t, { appendonly: true });
  const options = { persistence: { dir } };
  // Two nodes on the same SQLite file (one started with the CLI's --redis --data), a third without persistence.
  const cli = await launchCli(t, await freePort(), ['--redis', redis.url, '--data', dir], ['documents kept in step', `documents Redis lacks are read from ${path.join(dir, 'collabio.sqlite')}`]);
  const nodes = [await startNode(t, redis.url, { options }), await startNode(t, redis.url)];
  // Editors on both persistent nodes connect at once: each node finds Redis empty and reads SQLite.
  s.editor(cli);
  s.editor(nodes[0]);
  s.editor(cli);
  s.editor(nodes[0]);
  await s.synced();
  await s.converged(); // byte-identical to what single-node mode stored: nothing lost, nothing doubled
  const rc = await redisClient(t, redis.url);
  const snapshot = await rc.hGetAll('collabio:{migrated}:snapshot');
  assert.strictEqual(`${snapshot.ms}-${snapshot.seq}`, '0-0', 'the seed is the snapshot at 0-0');
  const st = await nodes[0].stats();
  t.diagnostic(`node bootstraps ${st.streamBootstraps}, seeds ${st.streamSeeds}`);
  assert.ok(st.streamBootstraps <= 1, 'SQLite read at most once for the document');

  await editRandomly(s, 100, seeded(32));
  await s.converged();
  // The node without persistence finds the document in Redis.
  await s.newcomer(nodes[1]);
  assert.strictEqual((await nodes[1].stats()).streamBootstraps, 0);
});

test('two nodes opening a document at once from divergent persistence.load answers seed it once: content not doubled, load not called again once Redis has it', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const text = 'hello from the application';
  const options = { loadHook: { text } };
  const nodes = [await startNode(t, redis.url, { options }), await startNode(t, redis.url, { options })];
  const loads = [0, 0, 0];
  nodes.forEach((n, i) => n.child.on('message', (m) => m && m.loaded && loads[i]++));
  const s = new Session(t, 'hooked');
  // Several documents at once, each opened on both nodes in the same instant: each load answer is
  // a fresh Y.Doc (its own client id), so seeding twice would show the text twice.
  const names = ['hooked', 'hooked-2', 'hooked-3', 'hooked-4'];
  const others = names.slice(1).map((name) => new Session(t, name));
  for (const x of [s, ...others]) {
    x.editor(nodes[0], { track: false });
    x.editor(nodes[1], { track: false });
  }
  for (const x of [s, ...others]) await x.synced();
  for (const x of [s, ...others]) {
    // The reference starts from what the cluster agreed on; every editor must hold exactly it.
    await waitFor(() => x.editors.every((e) => e.doc.getText('t').toString() === text), `${x.name}: the loaded text on both nodes`, 20000);
    Y.applyUpdate(x.reference, Y.encodeStateAsUpdate(x.editors[0].doc));
    await x.converged();
    assert.strictEqual(x.editors[1].doc.getText('t').toString(), text, 'not doubled');
  }
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  assert.strictEqual(sum(stats, 'streamSeeds'), names.length, 'one seed per document across both nodes');
  assert.strictEqual(sum(stats, 'streamBootstraps'), loads[0] + loads[1]);
  assert.ok(loads[0] + loads[1] >= names.length && loads[0] + loads[1] <= 2 * names.length);
  t.diagnostic(`load calls ${loads[0]} + ${loads[1]} for ${names.length} documents; seeds ${stats.map((x) => x.streamSeeds)}`);

  // Edits from now on are tracked; then everyone leaves and the documents unload.
  for (const x of [s, ...others]) {
    const kept = x.editors;
    x.editors = [];
    for (const e of kept) x.add(e);
  }
  await editRandomly(s, 80, seeded(41));
  await s.converged();
  const before = loads[0] + loads[1];
  s.destroy();
  for (const x of others) x.destroy();
  await unloaded(nodes);
  // Reopened on both nodes and on a third: Redis has the document, persistence is not consulted.
  nodes.push(await startNode(t, redis.url, { options }));
  nodes[2].child.on('message', (m) => m && m.loaded && loads[2]++);
  for (const n of nodes) await s.newcomer(n);
  assert.strictEqual(loads[0] + loads[1] + loads[2], before, 'persistence.load not called once Redis holds the document');
  assert.strictEqual((await nodes[2].stats()).streamBootstraps, 0);
});

test('Redis lost its data: the documents come back from the SQLite store, where the compactor wrote its snapshots', async (t) => {
  const dir = tempDir(t);
  const redis = await startRedis(t);
  const options = { persistence: { dir } };
  let nodes = [await startNode(t, redis.url, { options }), await startNode(t, redis.url, { options })];
  const s = new Session(t, 'lost');
  s.editor(nodes[0]);
  s.editor(nodes[1]);
  await s.synced();
  await editRandomly(s, 120, seeded(51));
  await s.converged();
  s.destroy();
  // Unloading compacts (the last node's snapshot), and the compactor writes it to SQLite too.
  await unloaded(nodes);
  let compactions = 0;
  await waitFor(() => compactions >= 1 || (Promise.all(nodes.map((n) => n.stats())).then((st) => (compactions = sum(st, 'streamCompactions'))), false), 'a compaction on unload', 20000, 100);
  // Closing a node flushes its store.
  for (const n of nodes) await n.close();
  const rc = await redisClient(t, redis.url);
  await rc.flushAll();
  nodes = [await startNode(t, redis.url, { options }), await startNode(t, redis.url, { options })];
  await s.newcomer(nodes[0]);
  await s.newcomer(nodes[1]);
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  assert.strictEqual(sum(stats, 'streamSeeds'), 1, 'one node seeded Redis from the store');
  // Edits flow again across the nodes.
  s.destroy();
  s.editor(nodes[0]);
  s.editor(nodes[1]);
  await s.synced();
  await editRandomly(s, 40, seeded(52));
  await s.converged();
});

test('a persistence.load answer that is not a Yjs update fails the load (1011) and writes nothing to Redis; other documents go on', async (t) => {
  const redis = await startRedis(t);
  const node = await startNode(t, redis.url, { options: { loadHook: { garbage: true } } });
  const bad = new Session(t, 'garbage');
  const e = bad.editor(node, { track: false });
  const closes = [];
  e.provider.on('connection-close', (ev) => ev && closes.push(ev.code));
  await waitFor(() => closes.includes(1011), 'the client to be closed with 1011', 20000);
  const rc = await redisClient(t, redis.url);
  assert.strictEqual(await rc.exists(['collabio:{garbage}:snapshot', 'collabio:{garbage}:updates']), 0, 'nothing seeded');
  bad.destroy();
  // io.documents.open() bootstraps too, and its applyUpdate rejects with the reason.
  const src = new Y.Doc();
  src.getText('t').insert(0, 'from the application');
  const r = await node.ask({ cmd: 'apply', name: 'fine', update: Buffer.from(Y.encodeStateAsUpdate(src)).toString('base64') }, 'applied');
  assert.match(String(r.applied), /stored document is corrupt/);
  // A document Redis holds does not consult persistence: it is served.
  await rc.hSet('collabio:{fine}:snapshot', { ms: '0', seq: '0', state: '' });
  const good = new Session(t, 'fine');
  good.editor(node);
  await good.synced();
  await editRandomly(good, 20, seeded(71));
  await good.converged();
  assert.strictEqual((await node.stats()).streamSeeds, 0);
});

test('Redis restarted without its data while nodes hold the document: the replicas put back what Redis lacks', async (t) => {
  const redis = await startRedis(t); // no append-only file: a restart comes back empty
  const nodes = [await startNode(t, redis.url), await startNode(t, redis.url)];
  const s = new Session(t, 'amnesia');
  s.editor(nodes[0]);
  s.editor(nodes[1]);
  await s.synced();
  await editRandomly(s, 100, seeded(81));
  await s.converged();
  await redis.kill();
  await redis.restart();
  const rc = await redisClient(t, redis.url);
  // Edits go on at once: a fresh stream may start before the readers reconnect.
  await editRandomly(s, 30, seeded(82));
  await s.converged();
  // A node that did not hold the document reads all of it from Redis.
  const fresh = await startNode(t, redis.url);
  await s.newcomer(fresh);
  assert.ok((await rc.xLen('collabio:{amnesia}:updates')) > 0);
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  assert.ok(sum(stats, 'streamRestores') >= 1, 'a node put the document back');
});
