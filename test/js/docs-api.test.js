'use strict';
// The JavaScript side of documents: authorization, read-only connections, document handles,
// lifecycle events, hostile input, and Socket.IO sharing the port.
const test = require('node:test');
const assert = require('node:assert/strict');
const { io: ioc } = require('socket.io-client');
const { docServer, waitFor, synced, sleep, rawDocSocket, Y } = require('./helpers/docs');

test('authorize can refuse a document connection with a reason', async (t) => {
  const seen = [];
  const { connect } = await docServer(t, {
    documents: {
      authorize: ({ name, query }) => {
        seen.push([name, query.token]);
        if (query.token !== 'good') throw new Error('bad token');
        return true;
      },
    },
  });
  const denied = [];
  const bad = connect('secret', undefined, { params: { token: 'nope' } });
  bad.on('connection-close', (ev) => denied.push(ev && ev.code));
  const good = connect('secret', undefined, { params: { token: 'good' } });
  await synced(good);
  await waitFor(() => denied.length > 0, 'refused connection to close');
  assert.equal(denied[0], 4403);
  assert.equal(bad.synced, false);
  assert.deepEqual(seen.find((s) => s[1] === 'nope'), ['secret', 'nope']);
});

test('a read-only connection receives updates but its writes are dropped', async (t) => {
  const { connect, io } = await docServer(t, {
    documents: { authorize: ({ query }) => (query.mode === 'ro' ? 'read-only' : true) },
  });
  const writer = connect('ro-doc', undefined, { params: { mode: 'rw' } });
  const reader = connect('ro-doc', undefined, { params: { mode: 'ro' } });
  await Promise.all([synced(writer), synced(reader)]);
  writer.doc.getText('t').insert(0, 'from writer');
  await waitFor(() => reader.doc.getText('t').toString() === 'from writer', 'reader to receive');
  reader.doc.getText('t').insert(0, 'SNEAKY ');
  await sleep(300);
  assert.equal(writer.doc.getText('t').toString(), 'from writer');
  const h = io.documents.open('ro-doc');
  assert.equal(await h.getText('t'), 'from writer');
  const conns = await h.connections();
  assert.equal(conns.length, 2);
  assert.equal(conns.filter((c) => c.readOnly).length, 1);
  h.close();
});

test('a document handle reads, applies (relayed to clients) and watches updates', async (t) => {
  const { connect, io } = await docServer(t);
  const created = [];
  io.documents.on('create', (name) => created.push(name));
  const a = connect('handle');
  await synced(a);
  a.doc.getText('t').insert(0, 'abc');
  a.doc.getMap('m').set('k', 1);
  const h = io.documents.open('handle');
  await waitFor(async () => true, 'noop');
  await sleep(100);
  const state = await h.encodeState();
  const copy = new Y.Doc();
  Y.applyUpdate(copy, state);
  assert.equal(copy.getText('t').toString(), 'abc');
  assert.deepEqual(await h.getMap('m'), { k: 1 });
  assert.deepEqual(Y.decodeStateVector(await h.encodeStateVector()), Y.decodeStateVector(Y.encodeStateVector(a.doc)));

  const received = [];
  h.on('update', (updates) => received.push(...updates));
  a.doc.getText('t').insert(3, 'd');
  await waitFor(() => received.length > 0, 'update event');
  const check = new Y.Doc();
  Y.applyUpdate(check, state);
  for (const u of received) Y.applyUpdate(check, u);
  assert.equal(check.getText('t').toString(), 'abcd');

  // Server-side edit, relayed to the client.
  const server = new Y.Doc();
  Y.applyUpdate(server, await h.encodeState());
  const before = Y.encodeStateVector(server);
  server.getText('t').insert(0, '>');
  await h.applyUpdate(Y.encodeStateAsUpdate(server, before));
  await waitFor(() => a.doc.getText('t').toString() === '>abcd', 'client to receive the server edit');
  await assert.rejects(h.applyUpdate(new Uint8Array([1, 2, 3, 200, 200])), /invalid update/);
  assert.equal(await h.getText('t'), '>abcd');
  assert.deepEqual(created, ['handle']);
  h.close();
});

test('idle documents are unloaded after their last connection leaves', async (t) => {
  const { connect, io } = await docServer(t, { documents: { unloadDelay: 100 } });
  const unloaded = [];
  io.documents.on('unload', (name) => unloaded.push(name));
  const a = connect('temp');
  await synced(a);
  assert.equal(io.documents.loaded, 1);
  a.destroy();
  await waitFor(() => unloaded.includes('temp'), 'unload event');
  assert.equal(io.documents.loaded, 0);
});

test('a corrupt update closes only that connection and never corrupts the document', async (t) => {
  const { connect, url } = await docServer(t);
  const a = connect('hostile');
  const b = connect('hostile');
  await Promise.all([synced(a), synced(b)]);
  a.doc.getText('t').insert(0, 'safe');
  await waitFor(() => b.doc.getText('t').toString() === 'safe', 'b synced');

  const bad = [
    Buffer.from([0, 2, 5, 1, 1, 1, 0, 4]), // Update whose payload is truncated
    Buffer.from([0, 2, 6, 1, 200, 200, 200, 200, 200]), // varUint length running off the end
    Buffer.from([0, 9, 0]), // unknown sync type
    Buffer.from([0]), // truncated message
    Buffer.from([1, 5, 1, 2, 3]), // corrupt awareness update
  ];
  for (const frame of bad) {
    const ws = await rawDocSocket(url, 'hostile');
    const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(frame);
    const code = await closed;
    assert.ok(code === 1007 || code === 1002, `close code ${code} for ${frame.toString('hex')}`);
  }
  // Unknown message types are ignored (forward compatibility): the connection stays open.
  const ws = await rawDocSocket(url, 'hostile');
  ws.send(Buffer.from([7, 1, 2]));
  await sleep(100);
  assert.equal(ws.readyState, ws.OPEN);
  ws.close();

  a.doc.getText('t').insert(4, ' and sound');
  await waitFor(() => b.doc.getText('t').toString() === 'safe and sound', 'peers still editing');
  const late = connect('hostile');
  await synced(late);
  assert.equal(late.doc.getText('t').toString(), 'safe and sound');
});

test('an oversize document message closes that connection with 1009', async (t) => {
  const { url, connect } = await docServer(t, { documents: { maxMessageSize: 1024 } });
  const ws = await rawDocSocket(url, 'big-msg');
  const closed = new Promise((resolve) => ws.once('close', (code) => resolve(code)));
  ws.send(Buffer.alloc(4096, 1));
  assert.equal(await closed, 1009);
  const a = connect('big-msg');
  await synced(a);
});

test('Socket.IO and documents share one port', async (t) => {
  const { io, port, connect } = await docServer(t);
  io.on('connection', (socket) => socket.on('ping?', (ack) => ack('pong!')));
  const client = ioc(`http://127.0.0.1:${port}`, { transports: ['websocket'] });
  t.after(() => client.close());
  const doc = connect('shared-port');
  await synced(doc);
  const answer = await client.emitWithAck('ping?');
  assert.equal(answer, 'pong!');
  doc.doc.getText('t').insert(0, 'x');
  const h = io.documents.open('shared-port');
  await waitFor(async () => (await h.getText('t')) === 'x', 'document edit');
  await sleep(50);
  assert.equal(await h.getText('t'), 'x');
  h.close();
});

test('events tell when a document is created, when its last connection leaves, and when it unloads', async (t) => {
  const { connect, io } = await docServer(t, { documents: { unloadDelay: 100 } });
  const events = [];
  for (const ev of ['create', 'idle', 'unload']) io.documents.on(ev, (name) => events.push(`${ev}:${name}`));
  const a = connect('life');
  const b = connect('life');
  await Promise.all([synced(a), synced(b)]);
  a.destroy();
  await sleep(150);
  assert.deepEqual(events, ['create:life']);
  b.destroy();
  await waitFor(() => events.length === 3, 'idle and unload');
  assert.deepEqual(events, ['create:life', 'idle:life', 'unload:life']);
});

test('QueryAwareness is answered with the current states', async (t) => {
  const { connect, url } = await docServer(t);
  const a = connect('qa');
  await synced(a);
  a.awareness.setLocalStateField('user', { name: 'Lin' });
  await sleep(100);
  const ws = await rawDocSocket(url, 'qa');
  await waitFor(() => ws.messages.length >= 2, 'SyncStep1 and awareness on connect');
  const before = ws.messages.length;
  ws.send(Buffer.from([3])); // QueryAwareness
  await waitFor(() => ws.messages.length > before, 'awareness answer');
  const answer = ws.messages[ws.messages.length - 1];
  assert.equal(answer[0], 1); // Awareness message
  assert.ok(answer.includes(Buffer.from('Lin')));
  ws.close();
});

test('a document client that stops answering pings is dropped while healthy clients keep working', async (t) => {
  const { connect, url, io } = await docServer(t, { documents: { keepAlive: 200 } });
  const a = connect('dead');
  await synced(a);
  const ws = await rawDocSocket(url, 'dead');
  const h = io.documents.open('dead');
  t.after(() => h.close());
  await waitFor(async () => (await h.connections()).length === 2, 'two connections');
  // Freeze the peer: the ws library answers pings by itself, so stop its socket from reading.
  ws._socket.pause();
  let count = 2;
  await waitFor(() => {
    h.connections().then((c) => (count = c.length));
    return count === 1;
  }, 'the frozen peer to be dropped');
  // The healthy client is still served.
  a.doc.getText('t').insert(0, 'alive');
  const late = connect('dead');
  await synced(late);
  await waitFor(() => late.doc.getText('t').toString() === 'alive', 'healthy clients unaffected');
});
