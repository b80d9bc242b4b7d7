'use strict';
// Awareness across collabio nodes (issue 21 §4): three collabio processes on one redis-server of
// the test's own (documents.redis), real y-websocket providers on different nodes. A state set on
// one node appears on the others; a provider that leaves disappears everywhere; a SIGKILLed node's
// clients disappear from the other nodes by awareness's outdated timeout (30 s, checked every
// 10 s: within 40 s, plus the client's own 30 s check). A newcomer on a node that did not hold the
// document gets the states of the others (the join query). Hostile pub/sub messages are counted
// and change nothing. Hocuspocus providers and y-websocket providers on different nodes see each other.
// A node that closes (io.close(), or SIGTERM to the CLI) removes its clients' cursors on the other
// nodes at once; after a Redis restart the nodes query each other again; a Query flood is
// answered at most once per second per document.
const test = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const Y = require('yjs');
const { WebsocketProvider } = require('y-websocket');
const WebSocket = require('ws');
const { createClient } = require('redis');
const { HocuspocusProvider } = require('@hocuspocus/provider');
const { startRedis } = require('./helpers/redis-server');
const { startIpcServer } = require('./helpers/ipc-server');
const { spawn } = require('node:child_process');
const { waitFor } = require('./helpers/docs');
const { freePort } = require('./helpers/redis-server');

const CHILD = path.join(__dirname, 'helpers', 'child-server.js');
const CLI = path.join(__dirname, '..', '..', 'lib', 'cli.js');
const PREFIX = 'awt';

async function startNode(t, redisUrl, label) {
  const opts = { documents: { unloadDelay: 200, redis: { url: redisUrl, prefix: PREFIX }, hocuspocus: { path: '/collab' } } };
  const node = await startIpcServer(t, process.execPath, [CHILD, JSON.stringify(opts)], { label, timeout: 20000 });
  node.ws = `ws://127.0.0.1:${node.port}`;
  return node;
}

function provider(t, node, name, user) {
  const doc = new Y.Doc();
  const p = new WebsocketProvider(node.ws, name, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
  if (user) p.awareness.setLocalStateField('user', user);
  t.after(() => {
    p.destroy();
    doc.destroy();
  });
  return p;
}

/** The `user` fields another provider sees, sorted. */
function seen(p) {
  const names = [];
  for (const [id, s] of p.awareness.getStates()) if (id !== p.awareness.clientID && s.user) names.push(s.user);
  return names.sort();
}

test('awareness crosses nodes, leaves with its client, and goes by timeout with a SIGKILLed node', { timeout: 120000 }, async (t) => {
  const redis = await startRedis(t);
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, redis.url, `node${i}`));
  const name = 'room-aw';

  const a = provider(t, nodes[0], name, 'ada');
  const b = provider(t, nodes[1], name, 'bob');
  const c = provider(t, nodes[2], name, 'cyd');
  await waitFor(() => seen(a).join() === 'bob,cyd', 'ada to see bob and cyd', 15000);
  await waitFor(() => seen(b).join() === 'ada,cyd', 'bob to see ada and cyd', 15000);
  await waitFor(() => seen(c).join() === 'ada,bob', 'cyd to see ada and bob', 15000);

  // A change crosses too.
  a.awareness.setLocalStateField('cursor', 42);
  await waitFor(() => c.awareness.getStates().get(a.awareness.clientID)?.cursor === 42, 'cyd to see ada move', 15000);

  // A newcomer on a node that already holds the document, and on one joining late (the query).
  const d = provider(t, nodes[1], name, 'dan');
  await waitFor(() => seen(d).join() === 'ada,bob,cyd', 'dan to see everyone', 15000);

  // A provider that leaves disappears from every node, well before any timeout.
  const leftAt = Date.now();
  b.destroy();
  await waitFor(() => !seen(a).includes('bob') && !seen(c).includes('bob') && !seen(d).includes('bob'), 'bob to disappear', 10000);
  assert.ok(Date.now() - leftAt < 10000);

  // A node dies: its client (cyd) goes from the other nodes by timeout (documented: within 40 s).
  const killedAt = Date.now();
  process.kill(nodes[2].pid, 'SIGKILL');
  c.disconnectBc?.();
  c.shouldConnect = false; // the provider would otherwise keep trying node 2 (gone): fine either way
  await waitFor(() => !seen(a).includes('cyd') && !seen(d).includes('cyd'), 'cyd to disappear after its node died', 45000, 100);
  const gone = Date.now() - killedAt;
  t.diagnostic(`states of the killed node's client gone after ${gone} ms`);
  // Still present for the others.
  assert.deepEqual(seen(a), ['dan']);
  assert.deepEqual(seen(d), ['ada']);

  for (const n of nodes.slice(0, 2)) assert.equal((await n.ask({ cmd: 'stats' }, 'stats')).stats.clusterAwarenessDropped, 0);
});

test('a newcomer after a node died gets that node\'s client states, which then go by timeout', { timeout: 120000 }, async (t) => {
  // A client joining after the kill but before the timeout gets the dead node's states (as the
  // server still holds them); they must then go by the server's expiry, which the client relays.
  const redis = await startRedis(t);
  const n0 = await startNode(t, redis.url, 'node0');
  const n1 = await startNode(t, redis.url, 'node1');
  const name = 'room-expire';
  const a = provider(t, n0, name, 'ada');
  const z = provider(t, n1, name, 'zed');
  await waitFor(() => seen(a).join() === 'zed', 'ada to see zed', 15000);
  process.kill(n1.pid, 'SIGKILL');
  z.shouldConnect = false;
  const late = provider(t, n0, name, 'lee');
  await waitFor(() => seen(late).includes('zed') && seen(late).includes('ada'), 'lee to get the states the server holds', 15000);
  await waitFor(() => !seen(late).includes('zed') && !seen(a).includes('zed'), 'zed to go by timeout', 45000, 100);
  assert.deepEqual(seen(late), ['ada']);
});

test('a node that loads the document queries the others, which answer with their clients\' states', { timeout: 60000 }, async (t) => {
  const redis = await startRedis(t);
  const n0 = await startNode(t, redis.url, 'node0');
  const n1 = await startNode(t, redis.url, 'node1');
  const name = 'room-query';
  const a = provider(t, n0, name, 'ada');
  await waitFor(() => a.synced, 'ada to sync', 15000);

  // Watch the document's channel: node 1 has not loaded the document yet.
  const sub = createClient({ url: redis.url });
  sub.on('error', () => {});
  await sub.connect();
  const seenOnChannel = [];
  await sub.subscribe(`${PREFIX}:{${name}}:awareness`, (m) => seenOnChannel.push(Buffer.from(m)), true);

  const b = provider(t, n1, name, 'bob');
  await waitFor(() => seen(b).join() === 'ada', 'bob to see ada', 15000);
  // message = 01 kind varString(node) ...: a Query (kind 1) from node 1, then an Update (kind 0)
  // from another node carrying ada's state.
  const nodeOf = (m) => m.subarray(3, 3 + m[2]).toString();
  const qi = seenOnChannel.findIndex((m) => m[0] === 1 && m[1] === 1);
  assert.ok(qi >= 0, 'node 1 published a Query');
  const answer = seenOnChannel.slice(qi + 1).find((m) => m[1] === 0 && nodeOf(m) !== nodeOf(seenOnChannel[qi]) && m.includes('"ada"'));
  assert.ok(answer, 'node 0 answered with ada\'s state');
  await sub.quit();
});

test('Hocuspocus and y-websocket peers on different nodes see each other', { timeout: 60000 }, async (t) => {
  const redis = await startRedis(t);
  const n0 = await startNode(t, redis.url, 'node0');
  const n1 = await startNode(t, redis.url, 'node1');
  const name = 'room-mixed';
  const y = provider(t, n0, name, 'yan');
  const h = new HocuspocusProvider({ url: `${n1.ws}/collab`, name, WebSocketPolyfill: WebSocket });
  t.after(() => h.destroy());
  h.setAwarenessField('user', 'hal');
  await waitFor(() => seen(y).join() === 'hal', 'the y-websocket peer to see the Hocuspocus peer', 15000);
  await waitFor(() => seen(h).join() === 'yan', 'the Hocuspocus peer to see the y-websocket peer', 15000);
  h.destroy();
  await waitFor(() => seen(y).length === 0, 'the Hocuspocus peer to leave', 10000);
});

test('hostile awareness messages on the pub/sub channel are dropped and counted', { timeout: 60000 }, async (t) => {
  const redis = await startRedis(t);
  const n0 = await startNode(t, redis.url, 'node0');
  const n1 = await startNode(t, redis.url, 'node1');
  const name = 'room-hostile';
  const a = provider(t, n0, name, 'ada');
  const b = provider(t, n1, name, 'bob');
  await waitFor(() => seen(a).join() === 'bob' && seen(b).join() === 'ada', 'ada and bob to see each other', 15000);

  const pub = createClient({ url: redis.url });
  pub.on('error', () => {}); // the test's redis-server stops at the end
  await pub.connect();
  const channel = Buffer.from(`${PREFIX}:{${name}}:awareness`);
  const node = Buffer.from('evil');
  const bad = [
    Buffer.from([]), // empty
    Buffer.from([9, 0]), // unknown version
    Buffer.from([1, 7, 4, ...node]), // unknown kind
    Buffer.from([1, 0, 4, ...node, 5, 3, 1, 7]), // truncated awareness update
    // client 99 at clock 1 with the state `{` (not JSON)
    Buffer.from([1, 0, 4, ...node, 5, 6, 1, 99, 1, 1, 0x7b, 0]),
    Buffer.from([1, 1, 4, ...node, 0]), // trailing byte after a query
  ];
  for (const m of bad) await pub.publish(channel, m);
  // A valid remote state after the hostile ones still applies: client 99 appears everywhere.
  const state = Buffer.from('{"user":"eve"}');
  const update = Buffer.from([1, 99, 1, state.length, ...state]);
  await pub.publish(channel, Buffer.from([1, 0, 4, ...node, 5, update.length, ...update]));
  await waitFor(() => seen(a).includes('eve') && seen(b).includes('eve'), 'eve (a valid remote state) to appear', 10000);
  for (const n of [n0, n1]) {
    const { stats } = await n.ask({ cmd: 'stats' }, 'stats');
    assert.equal(stats.clusterAwarenessDropped, bad.length, 'every hostile message is counted');
  }
  assert.deepEqual(seen(a), ['bob', 'eve']);
  await pub.quit();
});

/** Resolves with the ms it took once `p` saw client `clientID` removed (an awareness 'change' event). */
function removalOf(p, clientID) {
  const start = Date.now();
  return new Promise((resolve) => {
    const onChange = ({ removed }) => {
      if (removed.includes(clientID)) {
        p.awareness.off('change', onChange);
        resolve(Date.now() - start);
      }
    };
    p.awareness.on('change', onChange);
  });
}

test('a node that closes (io.close(), SIGTERM to the CLI) removes its clients\' cursors on the other nodes at once', { timeout: 90000 }, async (t) => {
  const redis = await startRedis(t);
  const n0 = await startNode(t, redis.url, 'node0');
  const n1 = await startNode(t, redis.url, 'node1');
  // A node as users start it (the CLI), on the same prefix.
  const port = await freePort();
  const cli = spawn(process.execPath, [CLI, '--port', String(port), '--host', '127.0.0.1', '--threads', '1', '--redis', redis.url, '--redis-prefix', PREFIX], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const cliExited = new Promise((resolve) => cli.once('exit', resolve));
  t.after(() => {
    if (cli.exitCode === null && cli.signalCode === null) cli.kill('SIGKILL');
  });
  let out = '';
  cli.stdout.on('data', (d) => (out += d));
  await waitFor(() => out.includes('documents kept in step through redis://127.0.0.1'), 'collabio --redis to start', 20000);

  const name = 'room-close';
  const a = provider(t, n0, name, 'ada');
  const b = provider(t, n1, name, 'bob');
  const c = provider(t, { ws: `ws://127.0.0.1:${port}` }, name, 'cyd');
  await waitFor(() => seen(b).join() === 'ada,cyd', 'bob to see ada and cyd', 15000);
  // The providers of the closing nodes must not come back elsewhere meanwhile.
  a.shouldConnect = false;
  c.shouldConnect = false;

  // io.close() on node 0: bob's awareness reports ada removed. The outdated timeout would take
  // 30 s at least; the removal comes in well under that.
  const adaGone = removalOf(b, a.awareness.clientID);
  await n0.ask({ cmd: 'close' }, 'closed');
  const adaMs = await adaGone;
  t.diagnostic(`ada removed on node 1 ${adaMs} ms after io.close() was asked`);
  assert.ok(adaMs < 15000, `ada removed after ${adaMs} ms: that is the timeout, not the close`);

  // SIGTERM to the CLI node: the same for cyd.
  const cydGone = removalOf(b, c.awareness.clientID);
  cli.kill('SIGTERM');
  assert.equal(await cliExited, 0, 'the CLI node closed cleanly on SIGTERM');
  const cydMs = await cydGone;
  t.diagnostic(`cyd removed on node 1 ${cydMs} ms after SIGTERM`);
  assert.ok(cydMs < 15000, `cyd removed after ${cydMs} ms: that is the timeout, not the close`);
  assert.deepEqual(seen(b), []);
  assert.equal((await n1.ask({ cmd: 'stats' }, 'stats')).stats.clusterAwarenessDropped, 0);
});

test('after Redis restarts, the nodes query each other again: a newcomer sees a cursor moved while Redis was down', { timeout: 90000 }, async (t) => {
  const redis = await startRedis(t);
  const n0 = await startNode(t, redis.url, 'node0');
  const n1 = await startNode(t, redis.url, 'node1');
  const name = 'room-restart';
  const a = provider(t, n0, name, 'ada');
  const b = provider(t, n1, name, 'bob'); // keeps the document loaded on node 1
  await waitFor(() => seen(b).join() === 'ada' && seen(a).join() === 'bob', 'ada and bob to see each other', 15000);
  const before = await Promise.all([n0, n1].map(async (n) => (await n.ask({ cmd: 'stats' }, 'stats')).stats));

  // Redis goes away; ada moves meanwhile (her node's PUBLISH waits in its connection's queue and
  // may reach Redis before node 1 has subscribed again) and Redis comes back empty (pub/sub keeps
  // nothing).
  await redis.stop();
  a.awareness.setLocalStateField('cursor', 7);
  await new Promise((r) => setTimeout(r, 500));
  await redis.restart();

  // A client joining node 1 now gets ada's cursor from node 1's registry: node 1 must have
  // learnt it after the restart. ada's provider renews only 15 s after her last change, so
  // within 10 s only the re-query (or her node's republishing) can have carried it.
  const movedAt = Date.now();
  const late = provider(t, n1, name, 'lee');
  const adaOf = (p) => p.awareness.getStates().get(a.awareness.clientID);
  await waitFor(() => adaOf(late)?.cursor === 7 && adaOf(b)?.cursor === 7, 'lee and bob to see ada\'s cursor', 10000);
  t.diagnostic(`ada's cursor seen on node 1 ${Date.now() - movedAt} ms after Redis was back`);
  // Both nodes queried again, and answered (each other's Query, or their own republishing).
  const stats = () => Promise.all([n0, n1].map(async (n) => (await n.ask({ cmd: 'stats' }, 'stats')).stats));
  let after = await stats();
  for (let i = 0; i < 50 && !after.every((s, k) => s.clusterAwarenessAnswers > before[k].clusterAwarenessAnswers); i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await stats();
  }
  for (let k = 0; k < 2; k++) {
    assert.ok(after[k].clusterAwarenessResyncs > before[k].clusterAwarenessResyncs, `node ${k} queried again after the reconnect`);
    assert.ok(after[k].clusterAwarenessAnswers > before[k].clusterAwarenessAnswers, `node ${k} answered`);
  }
});

test('a Query flood is answered at most once per second per document, and every Query is covered', { timeout: 90000 }, async (t) => {
  const redis = await startRedis(t);
  const n0 = await startNode(t, redis.url, 'node0');
  const n1 = await startNode(t, redis.url, 'node1');
  const name = 'room-flood';
  const a = provider(t, n0, name, 'ada');
  const b = provider(t, n1, name, 'bob');
  await waitFor(() => seen(a).join() === 'bob' && seen(b).join() === 'ada', 'ada and bob to see each other', 15000);

  // Everything on the channel from now on.
  const channel = `${PREFIX}:{${name}}:awareness`;
  const sub = createClient({ url: redis.url });
  sub.on('error', () => {});
  await sub.connect();
  const onChannel = [];
  await sub.subscribe(channel, (m) => onChannel.push({ at: Date.now(), m: Buffer.from(m) }), true);
  const pub = createClient({ url: redis.url });
  pub.on('error', () => {});
  await pub.connect();
  const before = await Promise.all([n0, n1].map(async (n) => (await n.ask({ cmd: 'stats' }, 'stats')).stats));

  // 3000 Queries from a node "evil" (01 01 varString(node)) over about 3 s, pipelined in bursts.
  const QUERIES = 3000;
  const query = Buffer.from([1, 1, 4, ...Buffer.from('evil')]);
  const start = Date.now();
  for (let i = 0; i < 30; i++) {
    await Promise.all(Array.from({ length: QUERIES / 30 }, () => pub.publish(channel, query)));
    await new Promise((r) => setTimeout(r, 100));
  }
  // Each node accounts for every Query: answered, or sharing an answer.
  let after;
  for (let i = 0; i < 100; i++) {
    after = await Promise.all([n0, n1].map(async (n) => (await n.ask({ cmd: 'stats' }, 'stats')).stats));
    const done = after.every((s, k) => s.clusterAwarenessAnswers - before[k].clusterAwarenessAnswers + s.clusterAwarenessQueriesCoalesced - before[k].clusterAwarenessQueriesCoalesced >= QUERIES);
    if (done) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (Date.now() - start) / 1000;
  for (let k = 0; k < 2; k++) {
    const answers = after[k].clusterAwarenessAnswers - before[k].clusterAwarenessAnswers;
    const coalesced = after[k].clusterAwarenessQueriesCoalesced - before[k].clusterAwarenessQueriesCoalesced;
    t.diagnostic(`node ${k}: ${answers} answers, ${coalesced} Queries coalesced over ${seconds.toFixed(1)} s`);
    assert.equal(answers + coalesced, QUERIES, `node ${k} accounts for every Query`);
    assert.ok(answers >= 1, `node ${k} answered`);
    assert.ok(answers <= Math.floor(seconds) + 2, `node ${k}: ${answers} answers in ${seconds} s`);
  }
  // On the wire: the Updates carrying ada's state (her node's answers) number the same.
  await new Promise((r) => setTimeout(r, 200));
  const adaUpdates = onChannel.filter(({ m }) => m[1] === 0 && m.includes('"ada"')).length;
  assert.ok(adaUpdates <= Math.floor(seconds) + 2, `${adaUpdates} Updates with ada's state on the channel in ${seconds} s`);
  assert.ok(adaUpdates >= 1);
  // Presence still works for everyone.
  a.awareness.setLocalStateField('cursor', 1);
  await waitFor(() => b.awareness.getStates().get(a.awareness.clientID)?.cursor === 1, 'bob to see ada move', 10000);
  await sub.quit();
  await pub.quit();
});
