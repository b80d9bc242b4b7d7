'use strict';
// Awareness across collabio nodes (issue 21 §4): three collabio processes on one redis-server of
// the test's own (documents.redis), real y-websocket providers on different nodes. A state set on
// one node appears on the others; a provider that leaves disappears everywhere; a SIGKILLed node's
// clients disappear from the other nodes by awareness's outdated timeout (30 s, checked every
// 10 s: within 40 s, plus the client's own 30 s check). A newcomer on a node that did not hold the
// document gets the states of the others (the join query). Hostile pub/sub messages are counted
// and change nothing. Hocuspocus providers and y-websocket providers on different nodes see each other.
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
const { waitFor } = require('./helpers/docs');

const CHILD = path.join(__dirname, 'helpers', 'child-server.js');
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
