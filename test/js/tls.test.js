'use strict';
// Standalone TLS: the native listener terminates TLS (OpenSSL through Boost.Asio). Real clients:
// socket.io-client over https/wss, y-websocket over wss, the CLI with --tls-key/--tls-cert.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const net = require('node:net');
const https = require('node:https');
const { spawn, execFileSync } = require('node:child_process');
const { io: ioClient } = require('socket.io-client');
const WebSocket = require('ws');
const { WebsocketProvider } = require('y-websocket');
const { Server } = require('../..');
const { once, withTimeout } = require('./helpers/clients');
const { waitFor, synced, Y } = require('./helpers/docs');

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-tls-test-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));
const KEY = path.join(dir, 'key.pem');
const CERT = path.join(dir, 'cert.pem');
try {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', KEY, '-out', CERT], { stdio: 'pipe' });
} catch (err) {
  throw new Error(`the openssl CLI is needed to make a test certificate: ${err.message}`);
}
const tls = { key: fs.readFileSync(KEY), cert: fs.readFileSync(CERT) };

function tlsServer(t, opts = {}) {
  const io = new Server({ tls, ...opts });
  io.listen(0, '127.0.0.1');
  io.on('connection', (s) => {
    s.on('echo', (m, ack) => ack(m));
    s.on('secure', (ack) => ack({ secure: s.handshake.secure, address: s.handshake.address, encrypted: s.request.socket.encrypted }));
  });
  t.after(() => io.close());
  return { io, port: io.address().port };
}

test('socket.io-client over https: polling, then the upgrade to wss; handshake.secure is true', async (t) => {
  const { port } = tlsServer(t);
  const c = ioClient(`https://127.0.0.1:${port}`, { forceNew: true, reconnection: false, ca: tls.cert });
  t.after(() => c.disconnect());
  await once(c, 'connect');
  assert.equal(await c.emitWithAck('echo', 'über TLS'), 'über TLS');
  const who = await c.emitWithAck('secure');
  assert.equal(who.secure, true);
  assert.equal(who.encrypted, true);
  assert.match(who.address, /127\.0\.0\.1/);
  await waitFor(() => c.io.engine.transport.name === 'websocket', 'the upgrade to wss');
  assert.equal(await c.emitWithAck('echo', 'after upgrade'), 'after upgrade');
});

test('y-websocket providers edit one document over wss', async (t) => {
  const { port } = tlsServer(t);
  class TlsWebSocket extends WebSocket {
    constructor(u, p) {
      super(u, p, { ca: tls.cert });
    }
  }
  const mk = () => new WebsocketProvider(`wss://127.0.0.1:${port}`, 'tls-doc', new Y.Doc(), { WebSocketPolyfill: TlsWebSocket, disableBc: true });
  const a = mk();
  const b = mk();
  t.after(() => {
    for (const p of [a, b]) {
      p.destroy();
      p.doc.destroy();
    }
  });
  await Promise.all([synced(a), synced(b)]);
  a.doc.getText('t').insert(0, 'secret');
  await waitFor(() => b.doc.getText('t').toString() === 'secret', 'b to see a');
});

test('a bad key or certificate is refused at listen() with ETLS', () => {
  const io = new Server({ tls: { key: 'not a key', cert: tls.cert } });
  assert.throws(() => io.listen(0, '127.0.0.1'), (err) => err.code === 'ETLS' && /tls\.key/.test(err.message));
  io.close();
  assert.throws(() => new Server({ tls: { cert: tls.cert } }), /tls needs both key and cert/);
});

test('plain HTTP to the TLS port is closed, and the server goes on', async (t) => {
  const { port } = tlsServer(t);
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  await once(s, 'connect');
  s.write('GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n');
  await withTimeout(once(s, 'close'), 10000, 'the plaintext connection to be closed');
  const res = await new Promise((resolve, reject) =>
    https.get(`https://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`, { ca: tls.cert }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => resolve({ status: r.statusCode, body }));
    }).on('error', reject),
  );
  assert.equal(res.status, 200);
  assert.match(res.body, /^0\{"sid":/);
});

test('the CLI serves wss:// with --tls-key and --tls-cert', async (t) => {
  const cli = path.join(__dirname, '..', '..', 'lib', 'cli.js');
  const child = spawn(process.execPath, [cli, '--port', '0', '--host', '127.0.0.1', '--memory', '--tls-key', KEY, '--tls-cert', CERT], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  const port = await withTimeout(
    new Promise((resolve) =>
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on wss:\/\/[^:]+:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      }),
    ),
    20000,
    'the CLI to listen',
  );
  const p = new WebsocketProvider(`wss://127.0.0.1:${port}`, 'cli-doc', new Y.Doc(), {
    WebSocketPolyfill: class extends WebSocket {
      constructor(u, pr) {
        super(u, pr, { ca: tls.cert });
      }
    },
    disableBc: true,
  });
  t.after(() => {
    p.destroy();
    p.doc.destroy();
  });
  await synced(p);
});
