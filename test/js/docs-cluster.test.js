'use strict';
// Documents across processes (issue 21): three collabio nodes on one redis-server of the test's
// own (append-only file on, fsync always), real y-websocket providers spread over the nodes, and
// a yjs reference that applies every update any editor made. "Converged" means every editor's
// state, and a newcomer's, encodes byte-identically to the reference.
const test = require('node:test');
const assert = require('node:assert');
const Y = require('yjs');
const { startRedis, freePort } = require('./helpers/redis-server');
const { waitFor, sleep } = require('./helpers/docs');
const { startNode, launchCli, redisClient, Session, seeded, editRandomly } = require('./helpers/docs-cluster');

test('concurrent random edits on three nodes converge byte-identically; a newcomer on each node gets the same state', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, redis.url));
  const a = new Session(t, 'shared');
  const b = new Session(t, 'other/doc');
  for (const n of nodes) {
    a.editor(n);
    a.editor(n);
    b.editor(n);
  }
  await a.synced();
  await b.synced();
  const rand = seeded(21);
  await Promise.all([editRandomly(a, 300, rand), editRandomly(b, 100, rand)]);
  await a.converged();
  await b.converged();
  for (const n of nodes) {
    await a.newcomer(n);
    await b.newcomer(n);
  }
  // The order is in Redis: one stream per document, keys grouped by the name's hash tag.
  const rc = await redisClient(t, redis.url);
  assert.ok((await rc.xLen('collabio:{shared}:updates')) > 0);
  assert.ok((await rc.xLen('collabio:{other/doc}:updates')) > 0);
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  for (const s of stats) {
    assert.ok(s.streamAppends > 0, 'every node appended');
    assert.ok(s.streamEntriesRead > 0, 'every node read');
    assert.strictEqual(s.streamAppendsRefused, 0);
    assert.strictEqual(s.badStreamEntries, 0);
  }
});

test('a hostile stream entry is dropped and counted; the document goes on on every node', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const nodes = [await startNode(t, redis.url), await startNode(t, redis.url)];
  const s = new Session(t, 'hostile');
  s.editor(nodes[0]);
  s.editor(nodes[1]);
  await s.synced();
  await editRandomly(s, 20, seeded(1));
  await s.converged();
  const rc = await redisClient(t, redis.url);
  await rc.xAdd('collabio:{hostile}:updates', '*', { u: '\x00\xff\xff\xff\xff\xff\x07garbage', n: 'intruder' });
  await rc.xAdd('collabio:{hostile}:updates', '*', { x: 'no update field' });
  await editRandomly(s, 20, seeded(2));
  await s.converged();
  for (const n of nodes) {
    const st = await n.stats();
    assert.strictEqual(st.badStreamEntries, 2, 'both bad entries counted on each node holding the document');
  }
  // A node that loads the document later skips them too.
  const third = await startNode(t, redis.url);
  await s.newcomer(third);
  assert.strictEqual((await third.stats()).badStreamEntries, 2);
});

test('a node SIGKILLed mid-edit and restarted loses nothing its clients typed', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, redis.url));
  const s = new Session(t, 'kill');
  for (const n of nodes) {
    s.editor(n);
    s.editor(n);
  }
  await s.synced();
  const rand = seeded(7);
  let editing = true;
  const typing = (async () => {
    while (editing) await editRandomly(s, 5, rand);
  })();
  await sleep(300);
  const victim = nodes[1];
  const port = victim.port;
  await victim.kill();
  await sleep(300); // editors of the dead node keep typing offline
  nodes[1] = await startNode(t, redis.url, { port });
  for (const e of s.editors) if (e.node === victim) e.node = nodes[1];
  await sleep(300);
  editing = false;
  await typing;
  await s.converged();
  for (const n of nodes) await s.newcomer(n);
});

test('all nodes restarted (the CLI with --redis): documents come back from Redis', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const ports = [await freePort(), await freePort(), await freePort()];
  // A node as users start it; ready once it prints where documents are kept.
  const launch = (port) => launchCli(t, port, ['--redis', redis.url], 'documents kept in step through redis://127.0.0.1');
  let nodes = await Promise.all(ports.map(launch));
  const s = new Session(t, 'restart-all');
  for (const n of nodes) s.editor(n);
  await s.synced();
  await editRandomly(s, 150, seeded(3));
  await s.converged();
  s.destroy();
  const codes = await Promise.all(nodes.map((n) => n.stop()));
  assert.deepStrictEqual(codes, [0, 0, 0], 'every node closed cleanly on SIGTERM');
  nodes = await Promise.all(ports.map(launch));
  for (const n of nodes) await s.newcomer(n);
  await Promise.all(nodes.map((n) => n.stop()));
});

test('Redis SIGKILLed and restarted from its append-only file: documents intact, edits flow again on every node', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, redis.url));
  const s = new Session(t, 'redis-crash');
  for (const n of nodes) s.editor(n);
  await s.synced();
  await editRandomly(s, 100, seeded(4));
  await s.converged();
  await redis.kill();
  // While Redis is down local clients are still served (their sync answered, their edits
  // queued within the bound); the edits reach the other nodes once Redis is back.
  await editRandomly(s, 10, seeded(5));
  await sleep(300);
  await redis.restart();
  await editRandomly(s, 100, seeded(6));
  await s.converged();
  const fresh = await startNode(t, redis.url);
  await s.newcomer(fresh);
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  for (const st of stats) assert.ok(st.streamReloads >= 1, 'the reader reloaded after its connection came back');
});

test('compaction during editing: a lease-holder snapshots and trims; the stream stays bounded; newcomers load snapshot + tail', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const options = { compactAfterEntries: 50, redis: { trimWindow: 200 } };
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, redis.url, { options }));
  const s = new Session(t, 'compact');
  for (const n of nodes) {
    s.editor(n);
    s.editor(n);
  }
  await s.synced();
  const rc = await redisClient(t, redis.url);
  const rand = seeded(9);
  // One atomic sample: the snapshot's id and size, the stream's length, its first id, and how many
  // entries lie past the snapshot.
  const sample = async () => {
    const [ms, seq, first, len, tail, size] = await rc.eval(
      `local s = redis.call('HMGET', KEYS[1], 'ms', 'seq')
       local f = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)
       local tail = 0
       if s[1] then tail = #redis.call('XRANGE', KEYS[2], '(' .. s[1] .. '-' .. s[2], '+') end
       return {s[1] or '', s[2] or '', f[1] and f[1][1] or '', redis.call('XLEN', KEYS[2]), tail, redis.call('HSTRLEN', KEYS[1], 'state')}`,
      { keys: ['collabio:{compact}:snapshot', 'collabio:{compact}:updates'] },
    );
    return { snapshotMs: ms === '' ? null : Number(ms), firstMs: first === '' ? null : Number(first.split('-')[0]), len, tail, size };
  };
  const trimWindow = options.redis.trimWindow;
  let maxLen = 0;
  let maxTail = 0;
  let maxSnapshot = 0;
  let samples = 0;
  for (let round = 0; round < 100; round++) {
    await editRandomly(s, 20, rand);
    const m = await sample();
    samples++;
    maxLen = Math.max(maxLen, m.len);
    maxTail = Math.max(maxTail, m.tail);
    maxSnapshot = Math.max(maxSnapshot, m.size);
    // The trim's promise, exactly: nothing older than the snapshot's id minus trimWindow is left.
    if (m.snapshotMs !== null && m.firstMs !== null) {
      assert.ok(m.firstMs >= m.snapshotMs - trimWindow, `no entry older than the snapshot minus trimWindow (${m.firstMs} < ${m.snapshotMs} - ${trimWindow})`);
    }
  }
  await s.converged();
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  const compactions = stats.reduce((sum, st) => sum + st.streamCompactions, 0);
  assert.ok(compactions >= 5, `snapshots written (${compactions})`);
  const snapshot = await rc.hGetAll(require('redis').commandOptions({ returnBuffers: true }), 'collabio:{compact}:snapshot');
  assert.ok(snapshot.state && snapshot.state.length > 0, 'a snapshot is stored');
  await sleep(300);
  await editRandomly(s, 60, rand); // past the window: the next compaction trims what is older
  await s.converged();
  const finalLen = await rc.xLen('collabio:{compact}:updates');
  const docBytes = Y.encodeStateAsUpdate(s.reference).length;
  t.diagnostic(
    `2060 edits, ${samples} samples: stream length max ${maxLen} (past the snapshot max ${maxTail}), at the end ${finalLen}; ` +
      `snapshot max ${maxSnapshot} B, at the end ${snapshot.state.length} B; document ${docBytes} B; ${compactions} compactions`,
  );
  // Length = the entries of the trim window before the snapshot (checked above) plus those past
  // it, which a compaction every compactAfterEntries entries keeps to a few times that many.
  assert.ok(maxTail <= 6 * options.compactAfterEntries, `entries past the snapshot stay bounded (${maxTail})`);
  assert.ok(maxLen < 2000, `the stream was trimmed while editing (max length ${maxLen} of 2000 edits)`);
  assert.ok(finalLen < 500, `the stream is bounded (${finalLen})`);
  // The snapshot is the document's state, not its history.
  assert.ok(maxSnapshot <= 1.5 * docBytes + 1024, `the snapshot stays the size of the document (${maxSnapshot} B, document ${docBytes} B)`);
  const fresh = await startNode(t, redis.url, { options });
  await s.newcomer(fresh);
});

test("a node whose reader lagged past a compaction's trim reloads the document and relays what it missed", async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  // No safety window: every compaction trims all entries older than the snapshot's millisecond.
  const options = { compactAfterEntries: 20, redis: { trimWindow: 0 } };
  const nodes = [await startNode(t, redis.url, { options }), await startNode(t, redis.url, { options })];
  const s = new Session(t, 'lag');
  const [a, b] = [s.editor(nodes[0]), s.editor(nodes[1])];
  await s.synced();
  await editRandomly(s, 30, seeded(13));
  await s.converged();
  const rc = await redisClient(t, redis.url);
  // The lagging node: stopped, so its reader stays where it was while the other node edits,
  // compacts and trims past that position. Its Redis connection stays open (no reconnect reload).
  const compactionsBefore = (await nodes[0].stats()).streamCompactions;
  nodes[1].child.kill('SIGSTOP');
  let resumed = false;
  t.after(() => resumed || nodes[1].child.kill('SIGCONT'));
  await editRandomly(s, 200, seeded(14), [a]);
  for (let i = 0; (await nodes[0].stats()).streamCompactions < compactionsBefore + 3; i++) {
    assert.ok(i < 200, 'the running node compacts');
    await editRandomly(s, 5, seeded(100 + i), [a]);
  }
  const len = await rc.xLen('collabio:{lag}:updates');
  nodes[1].child.kill('SIGCONT');
  resumed = true;
  t.diagnostic(`stream length after the trims: ${len} of ${30 + 200} updates`);
  assert.ok(len < 200, `the stream was trimmed past the stopped node's position (${len})`);
  await s.converged(); // b's node relays what the trim took from under its reader
  const st = await nodes[1].stats();
  assert.ok(st.streamTrimmedReloads >= 1, `the lagging node counted its reload (${st.streamTrimmedReloads})`);
  assert.ok(st.streamReloads >= st.streamTrimmedReloads);
  assert.strictEqual(st.badStreamEntries, 0, 'trim markers are not bad entries');
  assert.strictEqual((await nodes[0].stats()).streamTrimmedReloads, 0, 'the node that kept up did not reload');
  // Editing goes on both ways.
  await editRandomly(s, 40, seeded(15));
  await s.converged();
  await s.newcomer(nodes[1]);
  assert.ok(b.provider.wsconnected);
});

test('past the queue bound while Redis is down, only the client whose edit did not fit is closed (1013); readers stay; accepted edits arrive once Redis is back', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const options = { redis: { maxQueued: 3 } };
  const nodes = [await startNode(t, redis.url, { options }), await startNode(t, redis.url, { options })];
  const s = new Session(t, 'bound');
  const writer = s.editor(nodes[0]);
  const later = s.editor(nodes[0]);
  const reader = s.editor(nodes[0], { track: false }); // never edits
  const remote = s.editor(nodes[1]);
  await s.synced();
  await editRandomly(s, 10, seeded(10), [writer, remote]);
  await s.converged();
  const closes = new Map(s.editors.map((e) => [e, []]));
  for (const e of s.editors) e.provider.on('connection-close', (ev) => ev && closes.get(e).push({ code: ev.code, reason: String(ev.reason) }));
  await redis.kill();
  // The first 3 edits wait in the queue (accepted); the 4th does not fit.
  for (let i = 0; i < 10 && closes.get(writer).length === 0; i++) {
    writer.doc.getText('t').insert(0, `offline ${i} `);
    await sleep(50);
  }
  await waitFor(() => closes.get(writer).some((c) => c.code === 1013), 'the writer to be closed with 1013 (Try Again Later)', 20000);
  assert.match(closes.get(writer).find((c) => c.code === 1013).reason, /edit refused: 3 appends wait for Redis \(documents\.redis\.maxQueued\)/);
  // An editor that edits later, while the queue is still full, is refused in its turn.
  later.doc.getText('t').insert(0, 'later ');
  await waitFor(() => closes.get(later).some((c) => c.code === 1013), 'the later editor to be closed with 1013', 20000);
  await sleep(300);
  assert.deepStrictEqual(closes.get(reader), [], 'a client that sent nothing keeps its connection');
  assert.ok(reader.provider.wsconnected, 'the reader is still connected');
  assert.deepStrictEqual(closes.get(remote), [], 'clients on the other node keep theirs');
  assert.ok((await nodes[0].stats()).streamAppendsRefused >= 2, 'each refused edit is counted');
  await redis.restart();
  // Accepted edits reach every node; refused ones come back with the refused clients' next sync.
  await s.converged();
  assert.deepStrictEqual(closes.get(reader), [], 'the reader was never closed');
  const fresh = await startNode(t, redis.url);
  await s.newcomer(fresh);
});

test('io.documents.open(name).applyUpdate in cluster mode resolves once the update is in the stream', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const nodes = [await startNode(t, redis.url), await startNode(t, redis.url)];
  const rc = await redisClient(t, redis.url);
  const src = new Y.Doc();
  src.getText('t').insert(0, 'from the application');
  const update = Y.encodeStateAsUpdate(src);
  const before = await rc.xLen('collabio:{api}:updates');
  const r = await nodes[0].ask({ cmd: 'apply', name: 'api', update: Buffer.from(update).toString('base64') }, 'applied');
  assert.strictEqual(r.applied, true);
  assert.strictEqual((await rc.xLen('collabio:{api}:updates')) - before, 1, 'appended before the promise resolved');
  const s = new Session(t, 'api');
  Y.applyUpdate(s.reference, update);
  await s.newcomer(nodes[1]);
});

test('authorize and read-only apply in cluster mode: a read-only client on one node changes nothing anywhere', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const options = { readOnlyQuery: 'ro' };
  const nodes = [await startNode(t, redis.url, { options }), await startNode(t, redis.url, { options })];
  const s = new Session(t, 'read-only');
  s.editor(nodes[0]);
  const reader = s.editor(nodes[1], { track: false, params: { ro: '1' } });
  await s.synced();
  await editRandomly(s, 20, seeded(11), [s.editors[0]]);
  await s.converged(); // the read-only client receives edits made on the other node
  const before = Buffer.from(Y.encodeStateAsUpdate(s.reference));
  reader.doc.getText('t').insert(0, 'not allowed');
  await sleep(300);
  // The read-only client keeps its own edit; the others must not see it.
  reader.provider.destroy();
  reader.doc.destroy(); // its awareness timer would keep the process alive
  s.editors = s.editors.filter((e) => e !== reader);
  const newcomer = await s.newcomer(nodes[0]);
  assert.ok(Buffer.from(Y.encodeStateAsUpdate(newcomer.doc)).equals(before), 'the read-only edit reached no node');
  assert.ok(!newcomer.doc.getText('t').toString().includes('not allowed'));
});

test('persistence.store in cluster mode is called by the compactor with the replica state, not by every node on every change', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const options = { storeHook: true, compactAfterEntries: 40, redis: { trimWindow: 200 } };
  const nodes = [];
  const stored = [];
  for (let i = 0; i < 3; i++) {
    const n = await startNode(t, redis.url, { options });
    n.child.on('message', (m) => m && m.stored && stored.push({ node: i, ...m.stored }));
    nodes.push(n);
  }
  const s = new Session(t, 'stored');
  for (const n of nodes) s.editor(n);
  await s.synced();
  await editRandomly(s, 400, seeded(12));
  await s.converged();
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  const compactions = stats.reduce((sum, st) => sum + st.streamCompactions, 0);
  await waitFor(() => stored.length >= 1, 'a store after a compaction', 20000);
  assert.ok(compactions >= 1);
  assert.ok(stored.length <= compactions, `stores (${stored.length}) only after compactions (${compactions}), not per change (400 edits)`);
  for (const st of stored) {
    assert.strictEqual(st.name, 'stored');
    const d = new Y.Doc();
    Y.applyUpdate(d, Buffer.from(st.state, 'base64')); // a whole, valid state
    assert.ok(d.getText('t').length > 0);
  }
});
