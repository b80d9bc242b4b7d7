'use strict';
// Hocuspocus providers across cluster nodes (issue 21): @hocuspocus/provider 4.x, 3.x (the npm
// alias hocuspocus-provider-v3) and y-websocket providers edit one document spread over three
// collabio nodes on one redis-server. Each client reaches its node through a TCP front (a load
// balancer: the first live node in the front's order), so a client whose node is SIGKILLed
// reconnects to another node. Convergence is byte for byte against a yjs reference.
const test = require('node:test');
const assert = require('node:assert');
const { startRedis } = require('./helpers/redis-server');
const { waitFor, sleep } = require('./helpers/docs');
const { startNode, Session, seeded, editRandomly } = require('./helpers/docs-cluster');
const { PATH, v3, v4, hocuspocusProvider } = require('./helpers/hocuspocus');
const { startFront } = require('./helpers/tcp-front');

/** A Hocuspocus provider of `lib` on `front` (to `node` first), as a Session editor. */
function hocuspocusEditor(s, lib, front, node, name) {
  const provider = hocuspocusProvider(lib, `${front.url}${PATH}`, s.name);
  provider.setAwarenessField('user', { name });
  return s.add({ doc: provider.document, provider, node, synced: () => provider.synced, awareness: provider.awareness, label: name });
}

/** A y-websocket editor on `front`, with its awareness user `name`. */
function websocketEditor(s, front, node, name) {
  const e = s.editor({ wsUrl: front.url });
  e.node = node;
  e.label = name;
  e.awareness = e.provider.awareness;
  e.awareness.setLocalStateField('user', { name });
  return e;
}

const users = (e) => [...e.awareness.getStates().values()].map((st) => st.user && st.user.name).filter(Boolean).sort().join();

test('Hocuspocus 4.x, 3.x and y-websocket providers on three nodes converge, share awareness, and a SIGKILLed node\'s Hocuspocus clients reconnect elsewhere losing nothing', async (t) => {
  const redis = await startRedis(t, { appendonly: true });
  const nodes = [];
  for (let i = 0; i < 3; i++) nodes.push(await startNode(t, redis.url, { options: { hocuspocusPath: PATH } }));
  // Front i sends to node i, else to the next live one.
  const fronts = [];
  for (let i = 0; i < 3; i++) fronts.push(await startFront(t, () => [0, 1, 2].map((k) => nodes[(i + k) % 3].port)));
  const s = new Session(t, 'tiptap/shared');
  const editors = [
    hocuspocusEditor(s, v4, fronts[0], 0, 'h4@0'),
    websocketEditor(s, fronts[0], 0, 'yws@0'),
    hocuspocusEditor(s, v3, fronts[1], 1, 'h3@1'),
    websocketEditor(s, fronts[1], 1, 'yws@1'),
    hocuspocusEditor(s, v4, fronts[2], 2, 'h4@2'),
    hocuspocusEditor(s, v3, fronts[2], 2, 'h3@2'),
  ];
  t.after(() => {
    for (const e of editors) e.provider.destroy();
  });
  await s.synced();
  for (const [i, f] of fronts.entries()) assert.ok(f.landed.every((p) => p === nodes[i].port), `front ${i}'s clients are on node ${i}`);

  // Awareness crosses nodes: every client sees every user, whatever its protocol and node.
  const everyone = editors.map((e) => e.label).sort().join();
  for (const e of editors) await waitFor(() => users(e) === everyone, `${e.label} to see every user`, 20000);

  await editRandomly(s, 300, seeded(61));
  await s.converged();
  const stats = await Promise.all(nodes.map((n) => n.stats()));
  for (const st of stats) assert.ok(st.streamAppends > 0 && st.streamEntriesRead > 0, 'every node appended and read');

  // Node 2 dies while everyone types; its clients (Hocuspocus 4.x and 3.x) keep typing offline,
  // reconnect through their front to node 0, and send what the cluster lacks.
  const victims = editors.filter((e) => e.node === 2);
  const rand = seeded(62);
  let typing = true;
  const typed = (async () => {
    while (typing) await editRandomly(s, 5, rand);
  })();
  await sleep(200);
  const before = fronts[2].landed.length;
  await nodes[2].kill();
  await sleep(300);
  typing = false;
  await typed;
  // Typed while disconnected, on the victims only.
  for (let i = 0; i < 20; i++) victims[i % victims.length].doc.getText('t').insert(0, `offline ${i} `);
  await waitFor(() => fronts[2].landed.length >= before + victims.length, 'the victims to reconnect through their front', 30000);
  assert.ok(fronts[2].landed.slice(before).every((p) => p === nodes[0].port), 'they reconnected to node 0');
  await s.synced(victims);
  await s.converged();
  for (let i = 0; i < 20; i++) assert.ok(editors[1].doc.getText('t').toString().includes(`offline ${i} `), `offline edit ${i} arrived`);
  // Their awareness now goes out through node 0: a change they make reaches every node.
  for (const e of victims) {
    e.label = `${e.label} now on 0`;
    e.provider.setAwarenessField('user', { name: e.label });
  }
  const renamed = editors.map((e) => e.label).sort().join();
  for (const e of editors) await waitFor(() => users(e) === renamed, `${e.label} to see the failed-over users' new state`, 20000);

  // A newcomer on each live node has the same state.
  await s.newcomer(nodes[0]);
  await s.newcomer(nodes[1]);
});
