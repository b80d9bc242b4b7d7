'use strict';
// Attached mode where the descriptor hand-off is not the simple case (issue 16, "Bad input"): a
// server on a Unix domain socket (a handle that is not TCP: relayed through Node), bytes Node has
// already buffered or a socket the application paused before the hand-off, and hand-offs the core
// refuses (descriptors exhausted, the server closing). Real clients throughout: socket.io-client,
// y-websocket providers, ws, and a hand-written WebSocket client where the timing matters.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const net = require('node:net');
const { spawn } = require('node:child_process');
const express = require('express');
const { io: ioClient } = require('socket.io-client');
const { Server } = require('../..');
const { once, withTimeout } = require('./helpers/clients');
const { waitFor, syncedPair, Y } = require('./helpers/docs');
const { RawWs, text, frame, GOOD_KEY } = require('./helpers/raw-ws');

const upgradeHead = (url, host = 'x') =>
  `GET ${url} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${GOOD_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

/** An http.Agent whose every connection goes to the Unix domain socket `socketPath`. */
function unixAgent(socketPath) {
  class UnixAgent extends http.Agent {
    createConnection() {
      return net.connect(socketPath);
    }
  }
  return new UnixAgent();
}

/** Reads one HTTP response head (and what follows, until close) from a raw socket. */
function responseOf(sock, ms = 10000) {
  return withTimeout(
    new Promise((resolve) => {
      let got = '';
      sock.on('data', (d) => (got += d.toString('latin1')));
      sock.on('close', () => resolve(got));
    }),
    ms,
    'the server to answer and close',
  );
}

// ---- (a) a handle that is not TCP: the app's server listens on a Unix domain socket ----

async function unixApp(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-unix-'));
  const socketPath = path.join(dir, 'app.sock');
  const app = express();
  app.get('/hello', (req, res) => res.json({ hello: 'unix' }));
  const server = http.createServer(app);
  const io = new Server(server);
  io.on('connection', (s) => {
    s.on('echo', (m, ack) => ack(m));
    s.on('whoami', (ack) => ack({ headers: s.request.headers, transport: s.conn.transport.name }));
  });
  await new Promise((r) => server.listen(socketPath, r));
  const agent = unixAgent(socketPath);
  const clients = [];
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await withTimeout(io.close(), 15000, 'io.close()');
    agent.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const client = (opts) => {
    const c = ioClient('http://localhost', { forceNew: true, reconnection: false, agent, ...opts });
    clients.push(c);
    return c;
  };
  return { socketPath, agent, io, server, client };
}

test('Unix socket: socket.io-client connects through the relay, by polling, websocket and the upgrade', async (t) => {
  const { agent, client, io } = await unixApp(t);
  const hello = await new Promise((resolve, reject) =>
    http.get('http://localhost/hello', { agent }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject),
  );
  assert.deepEqual(hello, { hello: 'unix' }, "the app's route answers on the Unix socket");
  for (const transports of [['polling'], ['websocket']]) {
    const c = client({ transports, extraHeaders: { 'x-unix': transports[0] } });
    await withTimeout(once(c, 'connect'), 10000, `${transports[0]} connect`);
    assert.deepEqual(await withTimeout(c.emitWithAck('echo', { über: 'unix' }), 10000, 'echo'), { über: 'unix' });
    const who = await c.emitWithAck('whoami');
    assert.equal(who.headers['x-unix'], transports[0]);
    assert.equal(who.transport, transports[0]);
  }
  // Default transports: polling first, then the upgrade, whose WebSocket is relayed too.
  const upgraded = new Promise((resolve) => io.on('connection', (s) => s.conn.on('upgrade', (tr) => resolve(tr.name))));
  const c = client({});
  await withTimeout(once(c, 'connect'), 10000, 'default connect');
  assert.equal(await withTimeout(upgraded, 10000, 'the upgrade'), 'websocket');
  await waitFor(() => c.io.engine.transport.name === 'websocket', 'the client to upgrade');
  assert.equal(await c.emitWithAck('echo', 'after upgrade'), 'after upgrade');
});

test('Unix socket: y-websocket providers edit one document; a raw client\'s frames behind the head arrive', async (t) => {
  const { agent, socketPath } = await unixApp(t);
  const [a, b] = await syncedPair(t, 'ws://localhost', 'unix-doc', { agent });
  a.doc.getText('t').insert(0, 'over a pipe');
  await waitFor(() => b.doc.getText('t').toString() === 'over a pipe', 'b to see a');

  // A document client that sends its update in the same write as the upgrade request: the bytes
  // reach the core in the relay's prefix, not lost between Node's parser and the pipe.
  const edit = new Y.Doc();
  edit.getText('t').insert(0, 'raw: ');
  const update = Y.encodeStateAsUpdate(edit);
  const syncUpdate = Buffer.concat([Buffer.from([0, 2]), varUint(update.length), Buffer.from(update)]); // messageSync, Update
  const sock = net.connect(socketPath);
  t.after(() => sock.destroy());
  const raw = new RawWs(sock);
  await once(sock, 'connect');
  sock.write(Buffer.concat([Buffer.from(upgradeHead('/unix-doc', 'localhost')), frame(0x82, syncUpdate)]));
  await raw.headReady;
  assert.equal(raw.status, 101);
  // Two concurrent inserts at 0: Yjs orders them by client id, so either may come first.
  const merged = (d) => ['raw: over a pipe', 'over a piperaw: '].includes(d.getText('t').toString());
  await waitFor(() => merged(a.doc) && merged(b.doc), 'the raw update to reach both providers');
});

function varUint(n) {
  const out = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}

// ---- (b) bytes Node already holds when the hand-off happens ----

for (const paused of [false, true]) {
  test(`bytes Node buffered while allowRequest decided are handed over intact${paused ? ' (the app paused the socket)' : ''}`, async (t) => {
    const server = http.createServer((req, res) => res.end('app'));
    if (paused) server.on('upgrade', (req, socket) => socket.pause()); // an app listener that holds the socket
    let pending;
    const io = new Server(server, {
      allowRequest: (req, cb) => {
        pending = { req, cb };
      },
    });
    io.on('connection', (s) =>
      s.on('auth digest', (ack) => ack({ length: s.handshake.auth.token.length, sha: crypto.createHash('sha256').update(s.handshake.auth.token).digest('hex') })),
    );
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    t.after(() => withTimeout(io.close(), 15000, 'io.close()'));
    const sock = net.connect(server.address().port, '127.0.0.1');
    t.after(() => sock.destroy());
    const raw = new RawWs(sock);
    await once(sock, 'connect');
    sock.write(upgradeHead('/socket.io/?EIO=4&transport=websocket'));
    await waitFor(() => pending, 'allowRequest to be asked');
    // The CONNECT, with a 300 KB auth payload, arrives while allowRequest has not answered: Node
    // reads what its buffer takes (then stops: highWaterMark), the rest waits in the kernel. The
    // hand-off must pass on the first part and the core read the rest, in order.
    const token = crypto.randomBytes(150 * 1024).toString('hex');
    sock.write(text(`40${JSON.stringify({ token })}`));
    await waitFor(() => pending.req.socket.readableLength > 0, 'Node to buffer the CONNECT');
    assert.equal(pending.req.socket.readableFlowing, paused ? false : null);
    pending.cb(null, true);
    await raw.headReady;
    assert.equal(raw.status, 101);
    await withTimeout(raw.nextText('40{'), 10000, 'the CONNECT reply');
    raw.send(text('421["auth digest"]'));
    const ack = JSON.parse((await withTimeout(raw.nextText('431'), 10000, 'the ack')).slice(3));
    assert.deepEqual(ack, [{ length: token.length, sha: crypto.createHash('sha256').update(token).digest('hex') }]);
  });
}

// ---- (c) hand-offs the core refuses: a 503 and a close, never a hung connection ----

test('descriptors exhausted: the upgrade, a document and a polling request get a 503; the app goes on', async (t) => {
  // A child process under a lowered RLIMIT_NOFILE (Node raises the soft limit to the hard one, so
  // both are lowered), whose descriptor table the test fills on command.
  const env = { ...process.env };
  if (env.COLLABIO_ADDON !== undefined && /asan/.test(env.LD_PRELOAD || '')) {
    // Under the sanitizers (npm test -- --sanitize) this child runs the plain addon: the sanitizer
    // runtimes need free descriptors themselves (UBSan's vptr check probes memory through a pipe,
    // and reports every object it checks in a process whose table is full).
    for (const k of ['COLLABIO_ADDON', 'LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS']) delete env[k];
  }
  const child = spawn('sh', ['-c', `ulimit -n 256 && exec "${process.execPath}" "${path.join(__dirname, 'helpers', 'attach-fd-child.js')}"`], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    env,
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  t.after(() => child.kill('SIGKILL'));
  const messages = [];
  child.on('message', (m) => messages.push(m));
  // The child's nth message carrying `key`.
  const message = (key, nth = 1) => waitFor(() => messages.filter((m) => m[key] !== undefined)[nth - 1], `the child's ${key} (${nth})`);
  const { port } = await message('port');

  // Three connections accepted before the table fills up: nothing new can be accepted after.
  const socks = [];
  for (let i = 0; i < 3; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    t.after(() => s.destroy());
    await once(s, 'connect');
    socks.push(s);
  }
  await waitFor(() => messages.some((m) => m.connections === 3), 'the child to accept three connections');
  child.send('exhaust');
  assert.equal((await message('exhausted')).exhausted, 'EMFILE');

  const [sio, doc, polling] = socks;
  const answers = [responseOf(sio), responseOf(doc)];
  sio.write(upgradeHead('/socket.io/?EIO=4&transport=websocket'));
  doc.write(upgradeHead('/some-doc'));
  for (const answer of await Promise.all(answers)) {
    assert.match(answer, /^HTTP\/1\.1 503 Service Unavailable\r\n/, `the child's stderr: ${stderr}`);
    assert.match(answer, /collabio: cannot take the connection now$/);
  }
  // A polling request gets its 503 on the keep-alive connection, which then serves the app. (The
  // two connections closed above freed descriptors: fill the table again.)
  child.send('exhaust');
  assert.equal((await message('exhausted', 2)).exhausted, 'EMFILE');
  let got = '';
  polling.on('data', (d) => (got += d.toString('latin1')));
  polling.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => /collabio: cannot take the connection now/.test(got), 'the polling 503');
  assert.match(got, /^HTTP\/1\.1 503 Service Unavailable\r\n/);
  polling.write('GET /hello HTTP/1.1\r\nHost: x\r\n\r\n');
  await waitFor(() => /\r\n\r\napp$/.test(got), "the app's answer on the same connection");
  assert.match(stderr, /CollabioWarning: collabio: attached mode could not hand a connection to the core: .*(Too many open files|socketpair)/);

  // Descriptors back: the next client is handed over normally.
  child.send('release');
  await message('released');
  const c = ioClient(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, transports: ['websocket'] });
  t.after(() => c.disconnect());
  await withTimeout(once(c, 'connect'), 10000, 'a client after the release');
  assert.equal(await c.emitWithAck('echo', 'back'), 'back');
});

test('the server closing during the hand-off: the waiting upgrade gets a 503, and io.close() completes', async (t) => {
  const server = http.createServer((req, res) => res.end('app'));
  let pending;
  const io = new Server(server, {
    allowRequest: (req, cb) => {
      pending = cb;
    },
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const sock = net.connect(server.address().port, '127.0.0.1');
  t.after(() => sock.destroy());
  await once(sock, 'connect');
  const answer = responseOf(sock);
  sock.write(upgradeHead('/socket.io/?EIO=4&transport=websocket'));
  await waitFor(() => pending, 'allowRequest to be asked');
  const closed = io.close();
  pending(null, true);
  assert.match(await answer, /^HTTP\/1\.1 503 Service Unavailable\r\n[^]*collabio: server shutting down$/);
  await withTimeout(closed, 15000, 'io.close()');
  assert.equal(server.listening, false);
});
