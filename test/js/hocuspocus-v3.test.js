'use strict';
// @hocuspocus/provider 3.x (installed as `hocuspocus-provider-v3`, an npm alias) on collabio's
// Hocuspocus path, beside a 4.x provider and a y-websocket client on the same documents: sync,
// edits both ways, awareness, token authorization (accepted, denied, read-only), stateless
// messages, several documents over one 3.x socket, and SyncStatus acknowledgements.
//
// The 3.x wire is 4.x's for everything collabio serves (same message types 0-8, the document name
// in front of every message, Close when a provider detaches); the differences are in the
// provider's API (docs/API.md "Hocuspocus providers").
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const assert = require('node:assert/strict');
const { waitFor, synced, sleep } = require('./helpers/docs');
const { v3, hpServer, hpSynced, saved } = require('./helpers/hocuspocus');

test('the aliased package is @hocuspocus/provider 3.x', () => {
  // package.json is not in the package's exports: read it beside the resolved entry (dist/).
  const entry = require.resolve('hocuspocus-provider-v3');
  const pkg = JSON.parse(fs.readFileSync(path.join(path.dirname(entry), '..', 'package.json'), 'utf8'));
  assert.equal(pkg.name, '@hocuspocus/provider');
  assert.match(pkg.version, /^3\./);
});

test('a 3.x provider, a 4.x provider and a y-websocket client edit one document and converge', async (t) => {
  const { h3, h4, connect, io } = await hpServer(t);
  const a = h3('mixed');
  const b = h4('mixed');
  const y = connect('mixed');
  await Promise.all([hpSynced(a), hpSynced(b), synced(y)]);
  const text = (p) => (p.document || p.doc).getText('t').toString();
  a.document.getText('t').insert(0, '3x ');
  await waitFor(() => text(b) === '3x ' && text(y) === '3x ', 'the 3.x edit to reach 4.x and y-websocket');
  b.document.getText('t').insert(3, '4x ');
  y.doc.getText('t').insert(0, 'yws ');
  await waitFor(() => text(a) === text(b) && text(b) === text(y) && text(a).length === 10, 'every client to converge');
  assert.deepEqual(text(a).split(' ').filter(Boolean).sort(), ['3x', '4x', 'yws']);
  // Concurrent edits from all three in one burst (merged by the server's relay) converge too.
  for (let i = 0; i < 20; i++) {
    a.document.getText('t').insert(0, 'a');
    b.document.getText('t').insert(b.document.getText('t').length, 'b');
    y.doc.getText('t').insert(1, 'y');
  }
  await waitFor(() => text(a) === text(b) && text(b) === text(y) && text(a).length === 70, 'the burst to converge');
  await Promise.all([saved(a), saved(b)]);
  assert.equal(a.unsyncedChanges, 0, 'the 3.x provider got a SyncStatus for each of its updates');
  const handle = io.documents.open('mixed');
  t.after(() => handle.close());
  assert.equal(await handle.getText('t'), text(a));
  assert.deepEqual((await handle.connections()).map((c) => c.protocol).sort(), ['hocuspocus', 'hocuspocus', 'y-websocket']);
});

test('a 3.x provider joining later receives the whole document', async (t) => {
  const { h3, h4 } = await hpServer(t);
  const b = h4('late');
  await hpSynced(b);
  b.document.getText('t').insert(0, 'written before the 3.x provider came');
  await saved(b);
  const a = h3('late');
  await hpSynced(a);
  assert.equal(a.document.getText('t').toString(), 'written before the 3.x provider came');
});

test('awareness is shared between 3.x, 4.x and y-websocket clients', async (t) => {
  const { h3, h4, connect } = await hpServer(t);
  const a = h3('aw');
  const b = h4('aw');
  const y = connect('aw');
  await Promise.all([hpSynced(a), hpSynced(b), synced(y)]);
  a.setAwarenessField('user', { name: 'v3' });
  b.setAwarenessField('user', { name: 'v4' });
  y.awareness.setLocalStateField('user', { name: 'yws' });
  const names = (aw) => [...aw.getStates().values()].map((s) => s.user && s.user.name).filter(Boolean).sort().join();
  for (const [who, aw] of [['3.x', a.awareness], ['4.x', b.awareness], ['y-websocket', y.awareness]]) {
    await waitFor(() => names(aw) === 'v3,v4,yws', `${who} to see all three users`);
  }
  a.destroy();
  await waitFor(() => names(b.awareness) === 'v4,yws' && names(y.awareness) === 'v4,yws', 'the 3.x user to disappear');
});

test('a 3.x provider authenticates with its token: accepted, denied, read-only', async (t) => {
  const seen = [];
  const { h3, io } = await hpServer(t, {
    authorize: ({ name, token, protocol }) => {
      seen.push({ name, token, protocol });
      if (token === 'writer') return true;
      if (token === 'reader') return 'read-only';
      throw new Error('bad token');
    },
  });
  const authenticated = [];
  const writer = h3('guarded', { token: 'writer', onAuthenticated: ({ scope }) => authenticated.push(scope) });
  const reader = h3('guarded', { token: async () => 'reader' });
  const denied = [];
  const intruder = h3('guarded', { token: 'nope', onAuthenticationFailed: ({ reason }) => denied.push(reason) });
  await Promise.all([hpSynced(writer), hpSynced(reader)]);
  assert.deepEqual(authenticated, ['read-write']);
  assert.equal(writer.authorizedScope, 'read-write');
  assert.equal(reader.authorizedScope, 'readonly');
  await waitFor(() => denied.length === 1, 'the intruder to be denied');
  assert.equal(denied[0], 'bad token');
  assert.equal(intruder.isAuthenticated, false);
  assert.deepEqual(seen.map((s) => s.token).sort(), ['nope', 'reader', 'writer']);
  assert.ok(seen.every((s) => s.protocol === 'hocuspocus'));

  writer.document.getText('t').insert(0, 'written');
  await waitFor(() => reader.document.getText('t').toString() === 'written', 'the reader to receive');
  // The read-only provider's write is refused and not acknowledged as saved.
  reader.document.getText('t').insert(0, 'SNEAKY ');
  await sleep(200);
  assert.ok(reader.hasUnsyncedChanges, 'a read-only write is not acknowledged as saved');
  assert.equal(writer.document.getText('t').toString(), 'written');
  const handle = io.documents.open('guarded');
  t.after(() => handle.close());
  assert.equal(await handle.getText('t'), 'written');
  assert.equal(intruder.document.getText('t').toString(), '');
});

test('stateless messages both ways with a 3.x provider', async (t) => {
  const { h3, h4, io } = await hpServer(t);
  const a = h3('chat');
  const b = h4('chat');
  await Promise.all([hpSynced(a), hpSynced(b)]);
  const got = { a: [], b: [] };
  a.on('stateless', ({ payload }) => got.a.push(payload));
  b.on('stateless', ({ payload }) => got.b.push(payload));
  const events = [];
  io.documents.on('stateless', (ev) => {
    events.push(ev);
    ev.reply(`echo:${ev.payload}`);
  });
  a.sendStateless('from 3.x');
  await waitFor(() => got.a.includes('echo:from 3.x'), 'the reply to reach the 3.x provider');
  assert.equal(events[0].name, 'chat');
  assert.equal(events[0].payload, 'from 3.x');
  assert.ok(!got.b.includes('echo:from 3.x'), 'a reply goes to its connection only');
  io.documents.broadcastStateless('chat', 'to everyone');
  await waitFor(() => got.a.includes('to everyone') && got.b.includes('to everyone'), 'the broadcast to reach 3.x and 4.x');
});

test('several documents over one 3.x socket; detaching one leaves the others', async (t) => {
  const { socket: makeSocket, connect, io, made } = await hpServer(t);
  const socket = makeSocket({}, v3); // destroyed after the providers (made is destroyed last first)
  const providers = [];
  for (let i = 0; i < 5; i++) {
    const p = new v3.HocuspocusProvider({ websocketProvider: socket, name: `multi-${i}` });
    p.attach();
    providers.push(p);
    made.push(p);
  }
  await Promise.all(providers.map(hpSynced));
  providers.forEach((p, i) => p.document.getText('t').insert(0, `doc ${i}`));
  for (const i of [0, 4]) {
    const y = connect(`multi-${i}`);
    await waitFor(() => y.doc.getText('t').toString() === `doc ${i}`, `multi-${i} over y-websocket`);
  }
  // detach() sends Close for that document: the server forgets its peer, the socket stays.
  providers[0].detach();
  const handle = io.documents.open('multi-0');
  t.after(() => handle.close());
  let conns = await handle.connections();
  for (let i = 0; i < 200 && conns.length !== 1; i++) {
    await sleep(20);
    conns = await handle.connections();
  }
  assert.deepEqual(conns.map((c) => c.protocol), ['y-websocket'], 'the detached document dropped its 3.x peer');
  providers[1].document.getText('t').insert(0, 'still ');
  const y1 = connect('multi-1');
  await waitFor(() => y1.doc.getText('t').toString() === 'still doc 1', 'the other documents to keep working');
});
