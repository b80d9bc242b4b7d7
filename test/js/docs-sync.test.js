'use strict';
// Collaborative documents over the y-websocket protocol, with real yjs + y-websocket providers.
const test = require('node:test');
const assert = require('node:assert/strict');
const { docServer, waitFor, synced, sleep, Y } = require('./helpers/docs');

test('two peers see each other\'s text', async (t) => {
  const { connect } = await docServer(t);
  const a = connect('pair');
  const b = connect('pair');
  await Promise.all([synced(a), synced(b)]);
  a.doc.getText('t').insert(0, 'hello');
  await waitFor(() => b.doc.getText('t').toString() === 'hello', 'b to see a');
  b.doc.getText('t').insert(5, ' world');
  await waitFor(() => a.doc.getText('t').toString() === 'hello world', 'a to see b');
});

test('8 peers making random concurrent edits converge, and a late joiner gets it all', async (t) => {
  const { connect } = await docServer(t);
  const peers = Array.from({ length: 8 }, () => connect('random'));
  await Promise.all(peers.map(synced));
  let seed = 42;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const words = ['a', 'bc', 'déf', '😀', 'ghij', '\n', '𝄞x'];
  for (let round = 0; round < 40; round++) {
    for (const p of peers) {
      const d = p.doc;
      const text = d.getText('text');
      const op = rnd(6);
      if (op < 3 || text.length === 0) text.insert(rnd(text.length + 1), words[rnd(words.length)]);
      else if (op === 3) text.delete(rnd(text.length), Math.min(3, text.length));
      else if (op === 4) d.getMap('map').set('k' + rnd(10), { v: rnd(1000), by: d.clientID });
      else {
        const arr = d.getArray('arr');
        if (arr.length && rnd(2)) arr.delete(rnd(arr.length));
        else arr.insert(rnd(arr.length + 1), [rnd(100)]);
      }
    }
    if (round % 10 === 0) await sleep(5);
  }
  // Map keys compared in sorted order: Y.Map's iteration order follows local insertion, not content.
  const canon = (o) => JSON.stringify(Object.keys(o).sort().map((k) => [k, o[k]]));
  const snapshot = (d) => JSON.stringify([d.getText('text').toString(), canon(d.getMap('map').toJSON()), d.getArray('arr').toJSON()]);
  const sv = (d) => Buffer.from(Y.encodeStateVector(d)).toString('hex');
  await waitFor(() => peers.every((p) => snapshot(p.doc) === snapshot(peers[0].doc) && sv(p.doc) === sv(peers[0].doc)), 'convergence');
  const late = connect('random');
  await synced(late);
  await waitFor(() => snapshot(late.doc) === snapshot(peers[0].doc), 'late joiner to catch up');
  assert.equal(sv(late.doc), sv(peers[0].doc));
  assert.ok(peers[0].doc.getText('text').length > 0);
});

test('providers racing onto many new documents at once all sync', async (t) => {
  // The first connection creates and loads a document while the second already queues on it; a
  // connection queued ahead of the load used to wait forever (a few of 300 fresh documents).
  const { connect } = await docServer(t);
  const pairs = [];
  for (let i = 0; i < 300; i++) pairs.push([connect(`race-${i}`), connect(`race-${i}`)]);
  await Promise.all(pairs.flat().map(synced));
  pairs[299][0].doc.getText('t').insert(0, 'last');
  await waitFor(() => pairs[299][1].doc.getText('t').toString() === 'last', 'the last pair to share an edit');
});

test('awareness appears and disappears when a peer leaves', async (t) => {
  const { connect } = await docServer(t);
  const a = connect('aw');
  const b = connect('aw');
  await Promise.all([synced(a), synced(b)]);
  a.awareness.setLocalStateField('user', { name: 'Ada' });
  await waitFor(() => b.awareness.getStates().get(a.doc.clientID)?.user?.name === 'Ada', 'b to see Ada');
  const aId = a.doc.clientID;
  a.destroy();
  await waitFor(() => !b.awareness.getStates().has(aId), 'Ada to disappear from b');
});

test('a newcomer receives the awareness states already present', async (t) => {
  const { connect } = await docServer(t);
  const a = connect('aw2');
  await synced(a);
  a.awareness.setLocalStateField('user', { name: 'Grace' });
  await sleep(50);
  const b = connect('aw2');
  await synced(b);
  await waitFor(() => b.awareness.getStates().get(a.doc.clientID)?.user?.name === 'Grace', 'newcomer to see Grace');
});

test('documents are isolated from each other', async (t) => {
  const { connect } = await docServer(t);
  const a = connect('iso-1');
  const b = connect('iso-2');
  const c = connect('iso-1');
  await Promise.all([synced(a), synced(b), synced(c)]);
  a.doc.getText('t').insert(0, 'only in one');
  await waitFor(() => c.doc.getText('t').toString() === 'only in one', 'same-document peer');
  await sleep(100);
  assert.equal(b.doc.getText('t').toString(), '');
});

test('offline edits merge on reconnect', async (t) => {
  const { connect } = await docServer(t);
  const a = connect('offline');
  const b = connect('offline');
  await Promise.all([synced(a), synced(b)]);
  a.doc.getText('t').insert(0, 'base');
  await waitFor(() => b.doc.getText('t').toString() === 'base', 'base text');
  b.disconnect();
  a.doc.getText('t').insert(4, ' from a');
  b.doc.getText('t').insert(0, 'b says: ');
  await sleep(50);
  b.connect();
  await waitFor(
    () => a.doc.getText('t').toString() === b.doc.getText('t').toString() && a.doc.getText('t').toString().includes('b says') && b.doc.getText('t').toString().includes('from a'),
    'offline edits to merge',
  );
});

test('a 20k-edit document syncs to a newcomer', async (t) => {
  const { connect } = await docServer(t);
  const a = connect('big');
  await synced(a);
  const text = a.doc.getText('t');
  for (let i = 0; i < 20000; i++) {
    if (i % 5 === 4 && text.length > 0) text.delete(Math.floor(text.length / 2), 1);
    else text.insert(i % 7 === 0 ? 0 : text.length, String.fromCharCode(97 + (i % 26)));
  }
  const expected = text.toString();
  await sleep(100);
  const b = connect('big');
  await synced(b);
  await waitFor(() => b.doc.getText('t').toString() === expected, 'newcomer to receive 20k edits');
});

test('a newcomer\'s sync of a heavily deleted document is about as compact as yjs\'s own state', async (t) => {
  const { connect, io } = await docServer(t);
  const a = connect('gc');
  await synced(a);
  const text = a.doc.getText('t');
  for (let i = 0; i < 3000; i++) text.insert(text.length, 'x'.repeat(20));
  for (let i = 0; i < 2990; i++) text.delete(0, 20);
  await sleep(200);
  const handle = io.documents.open('gc');
  const server = await handle.encodeState();
  const reference = Y.encodeStateAsUpdate(a.doc);
  handle.close();
  assert.ok(server.length <= reference.length * 1.1 + 16, `server state ${server.length} B vs yjs ${reference.length} B`);
  const check = new Y.Doc();
  Y.applyUpdate(check, server);
  assert.equal(check.getText('t').toString(), text.toString());
});

test('an idle client stays connected past 30 s of silence', { timeout: 60000 }, async (t) => {
  const { connect } = await docServer(t);
  const a = connect('idle');
  await synced(a);
  let closes = 0;
  a.on('connection-close', () => closes++);
  // y-websocket reconnects when nothing arrives for 30 s (not configurable); the server's echo of
  // the client's 15 s awareness renewal keeps it alive.
  await sleep(35000);
  assert.equal(closes, 0);
  assert.equal(a.wsconnected, true);
});

test('a burst of updates within relayInterval reaches each client as one merged update', async (t) => {
  // A long interval, so that the burst below surely falls inside it.
  const { connect } = await docServer(t, { documents: { relayInterval: 1000 } });
  const a = connect('burst');
  const b = connect('burst');
  const c = connect('burst');
  await Promise.all([synced(a), synced(b), synced(c)]);
  // Sync updates (y-websocket: [0 sync, 2 update, ...]) c receives from here on.
  const updates = [];
  c.ws.addEventListener('message', (e) => {
    const u8 = new Uint8Array(e.data);
    if (u8[0] === 0 && u8[1] === 2) updates.push(u8);
  });
  // After a quiet interval the first update is relayed at once, alone.
  a.doc.getText('t').insert(0, 'first ');
  await waitFor(() => c.doc.getText('t').toString() === 'first ', 'c to see the first update');
  assert.equal(updates.length, 1);
  // Ten updates from two clients inside the interval: one merged relay.
  for (let i = 0; i < 5; i++) {
    a.doc.getText('t').insert(0, 'a');
    b.doc.getText('t').insert(b.doc.getText('t').length, 'b');
  }
  const want = (d) => d.getText('t').toString().length === 16;
  await waitFor(() => want(c.doc) && want(a.doc) && want(b.doc), 'everyone to have the burst');
  assert.ok(updates.length <= 2, `the burst's 10 updates came in ${updates.length - 1} messages`);
  assert.equal(a.doc.getText('t').toString(), c.doc.getText('t').toString());
  assert.equal(b.doc.getText('t').toString(), c.doc.getText('t').toString());
  assert.equal(c.doc.getText('t').toString(), 'aaaaafirst bbbbb');
});

test('documents.relayInterval is validated', () => {
  const { Server } = require('../..');
  assert.throws(() => new Server({ documents: { relayInterval: -1 } }), /relayInterval/);
  assert.throws(() => new Server({ documents: { relayInterval: 'soon' } }), /relayInterval/);
});
