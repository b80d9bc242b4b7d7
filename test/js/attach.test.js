'use strict';
// Attached mode: collabio inside the application's own http.Server / https.Server, with real
// Express, Fastify and Koa apps, the real socket.io-client, y-websocket providers and `ws`.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const { execFileSync } = require('node:child_process');
const express = require('express');
const { io: ioClient } = require('socket.io-client');
const WebSocket = require('ws');
const { Server } = require('../..');
const { once, withTimeout, delay } = require('./helpers/clients');
const { waitFor, synced, syncedPair, Y } = require('./helpers/docs');
const { WebsocketProvider } = require('y-websocket');

/** An Express app with one route, served by `server`, collabio attached, echo handler installed. */
async function expressApp(t, { secure = false, ioOpts = {} } = {}) {
  const app = express();
  app.get('/hello', (req, res) => res.json({ hello: 'world', path: req.path }));
  app.post('/echo-body', express.text(), (req, res) => res.type('text').send(req.body));
  const server = secure ? https.createServer(tlsMaterial(), app) : http.createServer(app);
  const io = new Server(server, ioOpts);
  io.on('connection', (socket) => {
    socket.on('echo', (m, ack) => ack(m));
    socket.on('whoami', (ack) =>
      ack({
        headers: socket.request.headers,
        url: socket.request.url,
        method: socket.request.method,
        remoteAddress: socket.request.socket.remoteAddress,
        secure: socket.handshake.secure,
        address: socket.handshake.address,
        xdomain: socket.handshake.xdomain,
      }),
    );
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const base = `${secure ? 'https' : 'http'}://127.0.0.1:${port}`;
  const clients = [];
  const client = (opts = {}) => {
    const c = ioClient(base, { forceNew: true, reconnection: false, timeout: 10000, ...(secure ? { rejectUnauthorized: false } : {}), ...opts });
    clients.push(c);
    return c;
  };
  t.after(async () => {
    for (const c of clients) c.disconnect();
    await withTimeout(io.close(), 15000, 'io.close()');
  });
  return { app, server, io, port, base, client };
}

let tls;
/** A self-signed certificate for 127.0.0.1, made with the openssl CLI once per run. */
function tlsMaterial() {
  if (tls) return tls;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ], { stdio: 'pipe' });
  } catch (err) {
    throw new Error(`the openssl CLI is needed to make a test certificate: ${err.message}`);
  }
  tls = { key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) };
  fs.rmSync(dir, { recursive: true, force: true });
  return tls;
}

function get(url, opts = {}) {
  const mod = url.startsWith('https') ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.get(url, { rejectUnauthorized: false, ...opts }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body, socket: req.socket }));
    });
    req.on('error', reject);
  });
}

async function roundTrip(socket) {
  const [ok] = await Promise.all([once(socket, 'connect').then(() => true)]);
  assert.equal(ok, true);
  const reply = await withTimeout(socket.emitWithAck('echo', { n: 42, s: 'héllo' }), 10000, 'echo ack');
  assert.deepEqual(reply, { n: 42, s: 'héllo' });
}

for (const secure of [false, true]) {
  const scheme = secure ? 'https' : 'http';

  test(`Express on ${scheme}: the app's routes answer beside collabio`, async (t) => {
    const { base } = await expressApp(t, { secure });
    const r = await get(`${base}/hello`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { hello: 'world', path: '/hello' });
    const missing = await get(`${base}/nope`);
    assert.equal(missing.status, 404);
    assert.match(missing.body, /Cannot GET \/nope/); // Express's own 404, not collabio's
  });

  test(`Express on ${scheme}: socket.io-client with default transports connects by polling and upgrades`, async (t) => {
    const { client, io } = await expressApp(t, { secure });
    const upgraded = new Promise((resolve) =>
      io.on('connection', (s) => {
        assert.equal(s.conn.transport.name, 'polling');
        s.conn.on('upgrade', (tr) => resolve(tr.name));
      }),
    );
    const c = client();
    await roundTrip(c);
    assert.equal(await withTimeout(upgraded, 10000, 'upgrade'), 'websocket');
    await waitFor(() => c.io.engine.transport.name === 'websocket', 'client upgrade');
    assert.deepEqual(await c.emitWithAck('echo', 'after upgrade'), 'after upgrade');
  });

  test(`Express on ${scheme}: polling-only and websocket-only clients; socket.request is the client's`, async (t) => {
    const { client } = await expressApp(t, { secure });
    for (const transports of [['polling'], ['websocket']]) {
      const c = client({ transports, extraHeaders: { 'x-app-token': `tok-${transports[0]}` } });
      await roundTrip(c);
      const who = await c.emitWithAck('whoami');
      assert.equal(who.headers['x-app-token'], `tok-${transports[0]}`);
      assert.equal(who.method, 'GET');
      assert.match(who.url, /^\/socket\.io\/\?EIO=4&transport=/);
      assert.match(who.remoteAddress, /127\.0\.0\.1/);
      assert.match(who.address, /127\.0\.0\.1/);
      assert.equal(who.secure, secure);
      assert.equal(who.xdomain, false);
      assert.equal(c.io.engine.transport.name, transports[0]);
    }
  });

  test(`Express on ${scheme}: y-websocket providers edit one document through the app's server`, async (t) => {
    const { port } = await expressApp(t, { secure });
    const url = `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}`;
    const [a, b] = await syncedPair(t, url, 'attached-doc', { rejectUnauthorized: false });
    a.doc.getText('t').insert(0, 'hello');
    await waitFor(() => b.doc.getText('t').toString() === 'hello', 'b to see a');
    b.doc.getText('t').insert(5, ' world');
    await waitFor(() => a.doc.getText('t').toString() === 'hello world', 'a to see b');
  });
}

test('an adopted WebSocket leaves Node: the http server no longer counts it, and it still works', async (t) => {
  const { server, client } = await expressApp(t);
  const connections = () => new Promise((resolve, reject) => server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  const c = client({ transports: ['websocket'] });
  await roundTrip(c);
  // Node's copy of the socket is destroyed at the hand-off; the core serves the connection alone.
  let n = await connections();
  for (let i = 0; i < 100 && n !== 0; i++) {
    await delay(20);
    n = await connections();
  }
  assert.equal(n, 0, 'the http server still counts the handed-off socket');
  assert.equal(await c.emitWithAck('echo', 'still here'), 'still here');
});

test('a polling request keeps the keep-alive connection for the app\'s next request', async (t) => {
  const { base } = await expressApp(t);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const open = await get(`${base}/socket.io/?EIO=4&transport=polling`, { agent });
  assert.equal(open.status, 200);
  assert.match(open.body, /^0\{"sid":/);
  const port1 = open.socket.localPort;
  const hello = await get(`${base}/hello`, { agent });
  assert.equal(hello.status, 200);
  assert.equal(JSON.parse(hello.body).hello, 'world');
  assert.equal(hello.socket.localPort, port1, 'the same TCP connection carried both requests');
  // Before io.close(): closing the attached server waits for open connections, as Node's does.
  agent.destroy();
});

test('Fastify: routes and socket.io-client on fastify.server', async (t) => {
  const fastify = require('fastify')();
  fastify.get('/ping', async () => ({ pong: true }));
  const io = new Server(fastify.server);
  io.on('connection', (s) => s.on('echo', (m, ack) => ack(m)));
  await fastify.listen({ port: 0, host: '127.0.0.1' });
  const { port } = fastify.server.address();
  const c = ioClient(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false });
  t.after(async () => {
    c.disconnect();
    await io.close();
    await fastify.close();
  });
  assert.deepEqual(JSON.parse((await get(`http://127.0.0.1:${port}/ping`)).body), { pong: true });
  await roundTrip(c);
});

test('Koa: app.listen() server with collabio attached', async (t) => {
  const Koa = require('koa');
  const app = new Koa();
  app.use((ctx) => {
    ctx.body = 'koa here';
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const io = new Server(server);
  io.on('connection', (s) => s.on('echo', (m, ack) => ack(m)));
  const { port } = server.address();
  const c = ioClient(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false });
  t.after(async () => {
    c.disconnect();
    await io.close();
  });
  assert.equal((await get(`http://127.0.0.1:${port}/`)).body, 'koa here');
  await roundTrip(c);
});

test("the app's own ws server on /chat-raw keeps its path beside collabio", async (t) => {
  const app = express();
  const server = http.createServer(app);
  const wss = new WebSocket.Server({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (req.url === '/chat-raw') wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`raw:${m}`)));
  const io = new Server(server);
  io.on('connection', (s) => s.on('echo', (m, ack) => ack(m)));
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const raw = new WebSocket(`ws://127.0.0.1:${port}/chat-raw`);
  const c = ioClient(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false });
  const provider = new WebsocketProvider(`ws://127.0.0.1:${port}`, 'beside-raw', new Y.Doc(), { WebSocketPolyfill: WebSocket, disableBc: true });
  t.after(async () => {
    c.disconnect();
    raw.close();
    provider.destroy();
    provider.doc.destroy(); // stops its awareness timer
    wss.close();
    await io.close();
  });
  await once(raw, 'open');
  raw.send('hi');
  const [msg] = await once(raw, 'message');
  assert.equal(String(msg), 'raw:hi');
  await roundTrip(c);
  await synced(provider);
});

test('documents.path limits which upgrades are documents', async (t) => {
  const server = http.createServer((req, res) => res.end('app'));
  const io = new Server(server, { documents: { path: '/docs' } });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const p = new WebsocketProvider(`ws://127.0.0.1:${port}/docs`, 'one', new Y.Doc(), { WebSocketPolyfill: WebSocket, disableBc: true });
  t.after(async () => {
    p.destroy();
    p.doc.destroy(); // stops its awareness timer
    await io.close();
  });
  await synced(p);
  // Another path is not collabio's: nobody answers it, and engine.io's rule ends it after
  // destroyUpgradeTimeout (1 s).
  const other = new WebSocket(`ws://127.0.0.1:${port}/elsewhere`);
  other.on('error', () => {});
  const [code] = await withTimeout(once(other, 'close', 5000), 5000, 'other path to be ended');
  assert.notEqual(code, 1000);
  assert.ok(io.documents, 'documents stay available');
});

test('documents.path as a function: asked with the real request; its answer decides, a throw refuses with 500', async (t) => {
  const asked = [];
  const server = http.createServer((req, res) => res.end('app'));
  const io = new Server(server, {
    documents: {
      path: (req) => {
        asked.push({ url: req.url, real: req instanceof http.IncomingMessage });
        if (req.headers['x-boom']) throw new Error('app bug');
        return req.url.startsWith('/collab/') && req.headers['x-room'] !== 'closed';
      },
    },
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  const p = new WebsocketProvider(`ws://127.0.0.1:${port}/collab`, 'fn-doc', new Y.Doc(), { WebSocketPolyfill: WebSocket, disableBc: true });
  t.after(async () => {
    p.destroy();
    p.doc.destroy();
    await io.close();
  });
  await synced(p);
  p.doc.getText('t').insert(0, 'chosen by a function');
  // The document's name is the whole path, as without documents.path.
  const handle = io.documents.get('collab/fn-doc');
  t.after(() => handle.close());
  let text = await handle.getText('t');
  for (let i = 0; i < 500 && text !== 'chosen by a function'; i++) {
    await delay(20);
    text = await handle.getText('t');
  }
  assert.equal(text, 'chosen by a function');
  assert.ok(asked.some((a) => a.url.startsWith('/collab/fn-doc') && a.real));
  // false: not collabio's; ended after destroyUpgradeTimeout as any path nobody serves.
  for (const [url, headers] of [['/collab/x', { 'x-room': 'closed' }], ['/elsewhere', {}]]) {
    const other = new WebSocket(`ws://127.0.0.1:${port}${url}`, { headers });
    other.on('error', () => {});
    const [code] = await withTimeout(once(other, 'close', 5000), 5000, `${url} to be ended`);
    assert.notEqual(code, 1000);
  }
  // A function that throws: a 500 for that upgrade; the server goes on.
  const warned = [];
  const onWarning = (w) => w.code === 'COLLABIO_DOCUMENTS_PATH_FAILED' && warned.push(w.message);
  process.on('warning', onWarning);
  t.after(() => process.off('warning', onWarning));
  const boom = new WebSocket(`ws://127.0.0.1:${port}/collab/y`, { headers: { 'x-boom': '1' } });
  boom.on('error', () => {});
  const [, res] = await withTimeout(once(boom, 'unexpected-response'), 5000, 'the 500');
  assert.equal(res.statusCode, 500);
  await waitFor(() => warned.length === 1, 'the warning');
  assert.match(warned[0], /documents\.path threw: app bug/);
  assert.equal(p.wsconnected, true);
});

test('io.close() closes the attached http server, and new Server(app-function) throws', async (t) => {
  const server = http.createServer();
  const io = new Server(server);
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  assert.equal(server.listening, true);
  await withTimeout(io.close(), 10000, 'io.close()');
  assert.equal(server.listening, false);
  assert.throws(() => new Server(express()), /express request handler/);
});

test('new Server(opts) + io.listen(httpServer) and io.attach(httpServer) both attach', async (t) => {
  for (const how of ['listen', 'attach']) {
    const server = http.createServer((req, res) => res.end('app'));
    const io = new Server({ pingInterval: 10000 });
    io[how](server);
    io.on('connection', (s) => s.on('echo', (m, ack) => ack(m)));
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const c = ioClient(`http://127.0.0.1:${server.address().port}`, { forceNew: true, reconnection: false });
    await roundTrip(c);
    c.disconnect();
    await io.close();
  }
});

test('cors.origin as a function decides per request, as the cors package does (attached)', async (t) => {
  const asked = [];
  const { base } = await expressApp(t, {
    ioOpts: {
      cors: {
        origin: (origin, cb) => {
          asked.push(origin);
          cb(null, origin === 'http://good.example');
        },
        credentials: true,
      },
    },
  });
  const good = await get(`${base}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://good.example' } });
  assert.equal(good.status, 200);
  assert.equal(good.headers['access-control-allow-origin'], 'http://good.example');
  assert.equal(good.headers['access-control-allow-credentials'], 'true');
  const bad = await get(`${base}/socket.io/?EIO=4&transport=polling`, { headers: { origin: 'http://evil.example' } });
  assert.equal(bad.headers['access-control-allow-origin'], undefined);
  assert.equal(bad.headers['access-control-allow-credentials'], undefined);
  assert.deepEqual(asked, ['http://good.example', 'http://evil.example']);
  // Standalone, the core could not ask JavaScript per request: refused with a clear error.
  const io = new Server({ cors: { origin: () => true } });
  assert.throws(() => io.listen(0, '127.0.0.1'), /cors\.origin as a function needs attached mode/);
  await io.close();
});

test('allowRequest gets the real IncomingMessage when attached; a refusal is engine.io\'s 403', async (t) => {
  const seen = [];
  const { client, io, base } = await expressApp(t, {
    ioOpts: {
      allowRequest: (req, cb) => {
        seen.push({ real: req instanceof http.IncomingMessage, transport: new URL(req.url, 'http://x').searchParams.get('transport') });
        cb(req.headers['x-pass'] === 'yes' ? null : 'no pass', req.headers['x-pass'] === 'yes');
      },
    },
  });
  const errors = [];
  io.engine.on('connection_error', (e) => errors.push({ code: e.code, message: e.message, context: e.context, real: e.req instanceof http.IncomingMessage }));
  for (const transports of [['polling'], ['websocket']]) {
    const ok = client({ transports, extraHeaders: { 'x-pass': 'yes' } });
    await roundTrip(ok);
    const refused = client({ transports, extraHeaders: { 'x-pass': 'no' } });
    const [err] = await once(refused, 'connect_error');
    assert.ok(err instanceof Error);
  }
  assert.deepEqual(seen.map((s) => s.real), [true, true, true, true]);
  assert.deepEqual(seen.map((s) => s.transport), ['polling', 'polling', 'websocket', 'websocket']);
  assert.deepEqual(errors, [
    { code: 4, message: 'Forbidden', context: { message: 'no pass' }, real: true },
    { code: 4, message: 'Forbidden', context: { message: 'no pass' }, real: true },
  ]);
  const raw = await get(`${base}/socket.io/?EIO=4&transport=polling`);
  assert.equal(raw.status, 403);
  assert.deepEqual(JSON.parse(raw.body), { code: 4, message: 'no pass' });
});

function openFds() {
  return fs.readdirSync('/proc/self/fd').length;
}

test('abrupt clients during the hand-off leak no descriptor', async (t) => {
  const { port, io } = await expressApp(t);
  // Warm up: the core's threads, the first relay.
  const warm = ioClient(`http://127.0.0.1:${port}`, { forceNew: true, reconnection: false, transports: ['websocket'] });
  await roundTrip(warm);
  warm.disconnect();
  await waitFor(() => io.stats().connections === 0, 'warm-up client to go');
  const before = openFds();
  const upgrade =
    'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
  const doc = upgrade.replace('/socket.io/?EIO=4&transport=websocket', '/abrupt-doc');
  for (let i = 0; i < 200; i++) {
    const s = net.connect(port, '127.0.0.1');
    s.on('error', () => {});
    const kind = i % 4;
    await once(s, 'connect');
    if (kind === 0) s.write(upgrade.slice(0, 40)); // cut inside the head
    else if (kind === 1) s.write(upgrade); // gone right after the head
    else if (kind === 2) s.write(doc + '\x82\x85'); // a document, cut inside a frame
    else s.write(`GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n`); // polling
    if (i % 2) s.resetAndDestroy();
    else s.destroy();
  }
  // Polling handshakes leave Engine.IO sessions that wait for their client until pingTimeout, as
  // engine.io's do; they hold no descriptor. WebSocket ones close with their socket.
  await waitFor(() => io.stats().connections === io.stats().engineClients, 'abrupt WebSockets to be closed');
  await waitFor(() => openFds() <= before, `descriptors back to ${before} (now ${openFds()})`, 20000, 50);
});

test('data sent right behind the upgrade request is not lost in the hand-off', async (t) => {
  const { port } = await expressApp(t);
  // A raw WebSocket client that sends its first frames in the same TCP write as the upgrade head:
  // they arrive as Node's `head` and must reach the core.
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const frame = (text) => {
    const payload = Buffer.from(text);
    const mask = Buffer.from([1, 2, 3, 4]);
    const out = Buffer.alloc(6 + payload.length);
    out[0] = 0x81;
    out[1] = 0x80 | payload.length;
    mask.copy(out, 2);
    for (let i = 0; i < payload.length; i++) out[6 + i] = payload[i] ^ mask[i & 3];
    return out;
  };
  const s = net.connect(port, '127.0.0.1');
  t.after(() => s.destroy());
  await once(s, 'connect');
  s.write(
    Buffer.concat([
      Buffer.from(`GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`),
      frame('40'),
    ]),
  );
  let got = '';
  s.on('data', (d) => (got += d.toString('latin1')));
  // The CONNECT ('40') travelled in Node's `head`: its reply proves it reached the core.
  await waitFor(() => got.includes('101 Switching Protocols') && got.includes('40{"sid"'), 'CONNECT reply');
  s.write(frame('420["echo","later"]'));
  await waitFor(() => got.includes('430["later"]'), 'the ack over the adopted connection');
});
