'use strict';
// Hocuspocus providers (@hocuspocus/provider 4.x, what Tiptap uses) on the same C++ documents as
// y-websocket clients: sync, convergence against a yjs reference, awareness both ways, token
// authorization and read-only scope, stateless messages, many documents over one socket,
// reconnects, and hostile input on a raw socket.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const encoding = require('lib0/encoding');
const { waitFor, synced, sleep, Y } = require('./helpers/docs');
const { PATH, v4, hpServer, hpSynced, saved } = require('./helpers/hocuspocus');

const { HocuspocusProvider } = v4;

/** A raw WebSocket on the Hocuspocus path, collecting messages and the close. */
function rawSocket(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'nodebuffer';
    ws.messages = [];
    ws.closed = null;
    ws.on('message', (m) => ws.messages.push(m));
    ws.on('close', (code, reason) => {
      ws.closed = { code, reason: reason.toString() };
    });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function message(name, type, write = () => {}) {
  const e = encoding.createEncoder();
  encoding.writeVarString(e, name);
  encoding.writeVarUint(e, type);
  write(e);
  return encoding.toUint8Array(e);
}

test('a Hocuspocus provider and a y-websocket provider edit the same document both ways', async (t) => {
  const { hocus, connect, io } = await hpServer(t);
  const h = hocus('shared');
  const y = connect('shared');
  await Promise.all([hpSynced(h), synced(y)]);
  h.document.getText('t').insert(0, 'from hocuspocus ');
  await waitFor(() => y.doc.getText('t').toString() === 'from hocuspocus ', 'y-websocket to see the edit');
  y.doc.getText('t').insert(y.doc.getText('t').length, 'and from y-websocket');
  const want = 'from hocuspocus and from y-websocket';
  await waitFor(() => h.document.getText('t').toString() === want, 'hocuspocus to see the edit');
  await saved(h);
  // The server's copy is what both clients hold.
  const handle = io.documents.open('shared');
  t.after(() => handle.close());
  assert.equal(await handle.getText('t'), want);
  const conns = await handle.connections();
  assert.deepEqual(conns.map((c) => c.protocol).sort(), ['hocuspocus', 'y-websocket']);
});

test('concurrent edits from Hocuspocus and y-websocket clients converge to the yjs reference', async (t) => {
  const { hocus, connect, io } = await hpServer(t);
  const hs = [hocus('race'), hocus('race'), hocus('race')];
  const ys = [connect('race'), connect('race'), connect('race')];
  await Promise.all([...hs.map(hpSynced), ...ys.map(synced)]);
  const docs = [...hs.map((p) => p.document), ...ys.map((p) => p.doc)];
  // The yjs reference: every update any client produced, applied to a plain Y.Doc.
  const reference = new Y.Doc();
  for (const d of docs) d.on('update', (u, origin) => {
    if (origin === null || origin === undefined) Y.applyUpdate(reference, u);
  });
  let seed = 7;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let round = 0; round < 30; round++) {
    for (const d of docs) {
      const text = d.getText('t');
      if (text.length > 5 && rnd(4) === 0) text.delete(rnd(text.length - 2), 2);
      else text.insert(rnd(text.length + 1), String.fromCharCode(97 + rnd(26)));
      d.getMap('m').set(`k${rnd(5)}`, round);
    }
    if (round % 10 === 0) await sleep(5);
  }
  const want = () => reference.getText('t').toString();
  await waitFor(() => docs.every((d) => d.getText('t').toString() === want()), 'every client to converge');
  for (const d of docs) assert.deepEqual(d.getMap('m').toJSON(), reference.getMap('m').toJSON());
  await Promise.all(hs.map(saved));
  const handle = io.documents.open('race');
  t.after(() => handle.close());
  assert.equal(await handle.getText('t'), want());
  // Byte-level: the server's state is the reference's.
  const server = new Y.Doc();
  Y.applyUpdate(server, await handle.encodeState());
  assert.deepEqual(Y.encodeStateVector(server), Y.encodeStateVector(reference));
  assert.equal(server.getText('t').toString(), want());
});

test('awareness is shared both ways between Hocuspocus and y-websocket clients', async (t) => {
  const { hocus, connect } = await hpServer(t);
  const h = hocus('aw');
  const y = connect('aw');
  await Promise.all([hpSynced(h), synced(y)]);
  h.setAwarenessField('user', { name: 'tiptap' });
  y.awareness.setLocalStateField('user', { name: 'codemirror' });
  const names = (aw) => [...aw.getStates().values()].map((s) => s.user && s.user.name).filter(Boolean).sort();
  await waitFor(() => names(y.awareness).join() === 'codemirror,tiptap', 'y-websocket to see both users');
  await waitFor(() => names(h.awareness).join() === 'codemirror,tiptap', 'hocuspocus to see both users');
  // A Hocuspocus client leaving removes its state for the others.
  h.destroy();
  await waitFor(() => names(y.awareness).join() === 'codemirror', 'the departed user to disappear');
});

test('authorize receives the token: accepted, denied, and read-only scope', async (t) => {
  const seen = [];
  const { hocus, connect, io } = await hpServer(t, {
    authorize: ({ name, token, protocol }) => {
      seen.push({ name, token, protocol });
      if (token === 'writer') return true;
      if (token === 'reader') return 'read-only';
      throw new Error('bad token');
    },
  });
  const writer = hocus('guarded', { token: 'writer' });
  const reader = hocus('guarded', { token: async () => 'reader' });
  const denied = [];
  const intruder = hocus('guarded', { token: 'nope', onAuthenticationFailed: ({ reason }) => denied.push(reason) });
  await Promise.all([hpSynced(writer), hpSynced(reader)]);
  assert.equal(writer.authorizedScope, 'read-write');
  assert.equal(reader.authorizedScope, 'readonly');
  await waitFor(() => denied.length === 1, 'the intruder to be denied');
  assert.equal(denied[0], 'bad token');
  assert.equal(intruder.isAuthenticated, false);
  assert.deepEqual(seen.map((s) => s.token).sort(), ['nope', 'reader', 'writer']);
  assert.ok(seen.every((s) => s.name === 'guarded' && s.protocol === 'hocuspocus'));

  // The reader's empty answer to our SyncStep1 is acknowledged: it has nothing unsaved yet.
  await waitFor(() => !reader.hasUnsyncedChanges, 'the reader to have nothing unsaved');
  writer.document.getText('t').insert(0, 'written');
  await waitFor(() => reader.document.getText('t').toString() === 'written', 'the reader to receive');
  // The reader's write is refused: the server's copy and the writer never see it.
  reader.document.getText('t').insert(0, 'SNEAKY ');
  await waitFor(() => reader.unsyncedChanges > 0, 'the reader to have an unsaved change');
  await sleep(200);
  assert.ok(reader.hasUnsyncedChanges, 'a read-only write is not acknowledged as saved');
  assert.equal(writer.document.getText('t').toString(), 'written');
  const handle = io.documents.open('guarded');
  t.after(() => handle.close());
  assert.equal(await handle.getText('t'), 'written');
  // The intruder never received the document.
  assert.equal(intruder.document.getText('t').toString(), '');
  // y-websocket clients still go through authorize, without a token.
  const y = connect('guarded');
  await waitFor(() => seen.some((s) => s.protocol === 'y-websocket'), 'authorize for y-websocket');
  y.destroy();
});

test('stateless messages reach JavaScript and JavaScript answers one connection or all', async (t) => {
  const { hocus, io } = await hpServer(t);
  const a = hocus('chat');
  const b = hocus('chat');
  await Promise.all([hpSynced(a), hpSynced(b)]);
  const got = { a: [], b: [] };
  a.on('stateless', ({ payload }) => got.a.push(payload));
  b.on('stateless', ({ payload }) => got.b.push(payload));
  const events = [];
  io.documents.on('stateless', (ev) => {
    events.push(ev);
    ev.reply(`echo:${ev.payload}`);
  });
  a.sendStateless('ping from a');
  await waitFor(() => got.a.includes('echo:ping from a'), 'the reply to reach a');
  assert.equal(events[0].name, 'chat');
  assert.equal(events[0].payload, 'ping from a');
  assert.ok(!got.b.includes('echo:ping from a'), 'a reply goes to its connection only');
  io.documents.broadcastStateless('chat', 'to everyone');
  await waitFor(() => got.a.includes('to everyone') && got.b.includes('to everyone'), 'the broadcast to reach both');
  // Through a handle, to one connection by id.
  const handle = io.documents.open('chat');
  t.after(() => handle.close());
  const conns = await handle.connections();
  const bId = conns.find((c) => c.id !== events[0].connection).id;
  handle.sendStateless(bId, 'only b');
  await waitFor(() => got.b.includes('only b'), 'b to receive its message');
  await sleep(50);
  assert.ok(!got.a.includes('only b'));
});

test('many documents over one socket, each with its own authorization', async (t) => {
  const { socket, connect, io } = await hpServer(t, {
    authorize: ({ name, token }) => (name.startsWith('locked') ? token === 'key' : true),
  });
  const shared = socket();
  const providers = [];
  for (let i = 0; i < 20; i++) {
    const p = new HocuspocusProvider({ websocketProvider: shared, name: `multi-${i}`, token: 'x' });
    p.attach();
    providers.push(p);
  }
  const denied = [];
  const locked = new HocuspocusProvider({
    websocketProvider: shared,
    name: 'locked-doc',
    token: 'wrong',
    onAuthenticationFailed: () => denied.push('locked-doc'),
  });
  locked.attach();
  const unlocked = new HocuspocusProvider({ websocketProvider: shared, name: 'locked-too', token: 'key' });
  unlocked.attach();
  t.after(() => {
    for (const p of [...providers, locked, unlocked]) p.destroy();
  });
  await Promise.all([...providers, unlocked].map(hpSynced));
  await waitFor(() => denied.length === 1, 'the locked document to be denied');
  providers.forEach((p, i) => p.document.getText('t').insert(0, `doc ${i}`));
  // Each document's y-websocket peer sees only its own document's text.
  const peers = [0, 7, 19].map((i) => [i, connect(`multi-${i}`)]);
  for (const [i, y] of peers) {
    await waitFor(() => y.doc.getText('t').toString() === `doc ${i}`, `multi-${i} over y-websocket`);
  }
  // One socket: the server counts one Hocuspocus connection per document, all on the same socket.
  const handle = io.documents.open('multi-3');
  t.after(() => handle.close());
  assert.deepEqual((await handle.connections()).map((c) => c.protocol), ['hocuspocus']);
  assert.equal(shared.webSocket && shared.webSocket.readyState, WebSocket.OPEN);
  assert.equal(locked.document.getText('t').toString(), '');
});

test('a provider reconnects after the server drops it and syncs what changed meanwhile', async (t) => {
  const { hocus, connect, io } = await hpServer(t);
  const h = hocus('again');
  const y = connect('again');
  await Promise.all([hpSynced(h), synced(y)]);
  h.document.getText('t').insert(0, 'before ');
  await waitFor(() => y.doc.getText('t').toString() === 'before ', 'first edit');
  let closes = 0;
  h.on('close', () => closes++);
  const handle = io.documents.open('again');
  t.after(() => handle.close());
  await handle.disconnectAll();
  await waitFor(() => closes > 0, 'the provider to be closed');
  // Edits on both sides while apart; the provider comes back on its own.
  y.doc.getText('t').insert(y.doc.getText('t').length, 'server-side ');
  h.document.getText('t').insert(0, 'offline ');
  await waitFor(() => h.document.getText('t').toString() === y.doc.getText('t').toString() &&
      h.document.getText('t').length === 'before offline server-side '.length, 'both to converge after reconnect');
  assert.equal(await handle.getText('t'), h.document.getText('t').toString());
  // A dropped TCP connection (no close handshake): the provider reconnects by itself.
  await saved(h);
  h.configuration.websocketProvider.webSocket.terminate();
  h.document.getText('t').insert(0, 'dropped ');
  await waitFor(() => y.doc.getText('t').toString() === h.document.getText('t').toString() &&
      y.doc.getText('t').toString().startsWith('dropped '), 'the edit made while dropped to arrive');
});

test('bad input: unknown types, server-only types and malformed messages close with a clear code', async (t) => {
  const { hpUrl, connect, io } = await hpServer(t);
  const y = connect('victim');
  await synced(y);
  y.doc.getText('t').insert(0, 'intact');
  const cases = [
    ['unknown message type', message('victim', 42), 1003],
    ['BroadcastStateless from a client', message('victim', 6, (e) => encoding.writeVarString(e, 'x')), 1003],
    ['SyncStatus from a client', message('victim', 8, (e) => encoding.writeVarUint(e, 1)), 1003],
    ['truncated address', Uint8Array.from([10, 97]), 1007],
    ['unknown sync type', message('victim', 0, (e) => encoding.writeVarUint(e, 9)), 1007],
  ];
  for (const [what, bytes, code] of cases) {
    const ws = await rawSocket(hpUrl);
    ws.send(bytes);
    await waitFor(() => ws.closed, `close after ${what}`);
    assert.equal(ws.closed.code, code, what);
    assert.ok(ws.closed.reason.length > 0, `${what} has a reason`);
  }
  // A corrupt update after a valid authentication closes with 1007 and leaves the document intact.
  const ws = await rawSocket(hpUrl);
  ws.send(message('victim', 2, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, '');
  }));
  ws.send(message('victim', 0, (e) => {
    encoding.writeVarUint(e, 2);
    encoding.writeVarUint8Array(e, Uint8Array.from([1, 1, 1, 0, 4])); // a truncated update
  }));
  await waitFor(() => ws.closed, 'close after a corrupt update');
  assert.equal(ws.closed.code, 1007);
  const handle = io.documents.open('victim');
  t.after(() => handle.close());
  assert.equal(await handle.getText('t'), 'intact');
  // The y-websocket client of the same document never noticed.
  y.doc.getText('t').insert(6, '!');
  for (let i = 0; i < 500 && (await handle.getText('t')) !== 'intact!'; i++) await sleep(20);
  assert.equal(await handle.getText('t'), 'intact!');
});

test('limits: a name longer than maxNameLength and too many documents on one socket close with 1008', async (t) => {
  const { hpUrl } = await hpServer(t, { hocuspocus: { path: PATH, maxNameLength: 64, maxDocumentsPerConnection: 3 } });
  const token = (name) => message(name, 2, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, '');
  });
  const long = await rawSocket(hpUrl);
  long.send(token('x'.repeat(65)));
  await waitFor(() => long.closed, 'close after a long name');
  assert.equal(long.closed.code, 1008);
  assert.match(long.closed.reason, /longer than 64/);

  const many = await rawSocket(hpUrl);
  for (let i = 0; i < 3; i++) many.send(token(`d${i}`));
  await waitFor(() => many.messages.length >= 3, 'three documents authenticated');
  assert.equal(many.closed, null);
  many.send(token('d3'));
  await waitFor(() => many.closed, 'close after the fourth document');
  assert.equal(many.closed.code, 1008);
  assert.match(many.closed.reason, /more than 3 documents/);
});

test('documents.hocuspocus is validated', () => {
  const { Server } = require('../..');
  assert.throws(() => new Server({ documents: { hocuspocus: { path: 'collab' } } }).listen(0), /hocuspocus needs/);
});

test('application persistence hooks load and store documents for Hocuspocus providers too', async (t) => {
  // A stored document, written by yjs: the provider must receive it.
  const seed = new Y.Doc();
  seed.getText('t').insert(0, 'stored before');
  const stored = new Map([['kept', Y.encodeStateAsUpdate(seed)]]);
  const loads = [];
  const { hocus, connect } = await hpServer(t, {
    persistence: {
      load: async (name) => {
        loads.push(name);
        return stored.get(name) || null;
      },
      store: async (name, state) => {
        stored.set(name, state);
      },
      debounce: 50,
      maxDebounce: 200,
    },
  });
  const h = hocus('kept');
  await hpSynced(h);
  assert.equal(h.document.getText('t').toString(), 'stored before');
  assert.deepEqual(loads, ['kept']);
  h.document.getText('t').insert(0, 'and edited: ');
  await saved(h);
  // store() receives the whole state, which a y-websocket client of the same name also sees.
  await waitFor(() => {
    const d = new Y.Doc();
    Y.applyUpdate(d, stored.get('kept'));
    return d.getText('t').toString() === 'and edited: stored before';
  }, 'persistence.store to receive the edit');
  const y = connect('kept');
  await waitFor(() => y.doc.getText('t').toString() === 'and edited: stored before', 'the y-websocket client');
  assert.deepEqual(loads, ['kept'], 'one document, loaded once for both protocols');
});

test('the CLI serves Hocuspocus providers with --hocuspocus-path', async (t) => {
  const { spawn } = require('node:child_process');
  const path = require('node:path');
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'lib', 'cli.js'), '--port', '0', '--host', '127.0.0.1', '--memory', '--hocuspocus-path', '/tiptap'], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  await waitFor(() => /Hocuspocus providers at ws:\/\/\S+:(\d+)\/tiptap/.test(out), 'the CLI to print the Hocuspocus URL');
  const port = Number(out.match(/listening on ws:\/\/\S+:(\d+)/)[1]);
  const a = new HocuspocusProvider({ url: `ws://127.0.0.1:${port}/tiptap`, name: 'cli-doc', WebSocketPolyfill: WebSocket });
  const b = new HocuspocusProvider({ url: `ws://127.0.0.1:${port}/tiptap`, name: 'cli-doc', WebSocketPolyfill: WebSocket });
  t.after(() => {
    a.destroy();
    b.destroy();
  });
  await Promise.all([hpSynced(a), hpSynced(b)]);
  a.document.getXmlFragment('default').insert(0, [new Y.XmlText('tiptap text')]);
  await waitFor(() => b.document.getXmlFragment('default').toString() === 'tiptap text', 'the second provider to receive');
});
