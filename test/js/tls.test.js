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
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const { io: ioClient } = require('socket.io-client');
const WebSocket = require('ws');
const { WebsocketProvider } = require('y-websocket');
const { Server } = require('../..');
const { once, withTimeout } = require('./helpers/clients');
const { waitFor, synced, syncedPair, Y } = require('./helpers/docs');

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
  const [a, b] = await syncedPair(t, `wss://127.0.0.1:${port}`, 'tls-doc', { ca: tls.cert });
  a.doc.getText('t').insert(0, 'secret');
  await waitFor(() => b.doc.getText('t').toString() === 'secret', 'b to see a');
});

test('a bad key or certificate is refused at listen() with ETLS', () => {
  const io = new Server({ tls: { key: 'not a key', cert: tls.cert } });
  assert.throws(() => io.listen(0, '127.0.0.1'), (err) => err.code === 'ETLS' && /tls\.key/.test(err.message));
  io.close();
  assert.throws(() => new Server({ tls: { cert: tls.cert } }), /tls needs both key and cert/);
});

/**
 * A root CA, an intermediate it signed, and a leaf for 127.0.0.1 the intermediate signed, whose key
 * is encrypted with `passphrase` (P-256 keys: quick to make).
 */
function chain(passphrase) {
  const at = (f) => path.join(dir, f);
  const ssl = (...args) => execFileSync('openssl', args, { stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  fs.writeFileSync(at('ca.ext'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n');
  fs.writeFileSync(at('leaf.ext'), 'subjectAltName=IP:127.0.0.1\n');
  ssl('req', '-x509', ...ec, '-nodes', '-keyout', at('root.key'), '-out', at('root.pem'), '-subj', '/CN=test root', '-days', '1',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', ...ec, '-nodes', '-keyout', at('int.key'), '-out', at('int.csr'), '-subj', '/CN=test intermediate');
  ssl('x509', '-req', '-in', at('int.csr'), '-CA', at('root.pem'), '-CAkey', at('root.key'), '-CAcreateserial', '-out', at('int.pem'), '-days', '1', '-extfile', at('ca.ext'));
  ssl('req', ...ec, '-passout', `pass:${passphrase}`, '-keyout', at('leaf.key'), '-out', at('leaf.csr'), '-subj', '/CN=127.0.0.1');
  ssl('x509', '-req', '-in', at('leaf.csr'), '-CA', at('int.pem'), '-CAkey', at('int.key'), '-CAcreateserial', '-out', at('leaf.pem'), '-days', '1', '-extfile', at('leaf.ext'));
  const read = (f) => fs.readFileSync(at(f));
  return { root: read('root.pem'), intermediate: read('int.pem'), key: read('leaf.key'), cert: read('leaf.pem') };
}

/** 'ok' or the TLS error code an https client trusting only `ca` gets from port. */
function handshake(port, ca) {
  return new Promise((resolve) =>
    https
      .get(`https://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`, { ca }, (r) => {
        r.resume();
        resolve(r.statusCode === 200 ? 'ok' : `status ${r.statusCode}`);
      })
      .on('error', (err) => resolve(err.code || err.message)),
  );
}

test('tls.passphrase opens an encrypted key; a wrong or missing one is refused with ETLS, as Node refuses it', () => {
  const pki = chain('s3cret');
  assert.match(String(pki.key), /BEGIN ENCRYPTED PRIVATE KEY/);
  for (const passphrase of ['wrong', undefined]) {
    // Node's own answer for the same material: the reference.
    assert.throws(() => https.createServer({ key: pki.key, cert: pki.cert, passphrase }), /bad decrypt/);
    const io = new Server({ tls: { key: pki.key, cert: pki.cert, passphrase } });
    // Without a passphrase OpenSSL's default would prompt on the terminal; the core never does.
    assert.throws(() => io.listen(0, '127.0.0.1'), (err) => err.code === 'ETLS' && /tls\.key: bad decrypt/.test(err.message));
    io.close();
  }
});

test('tls.ca completes the certificate chain sent to clients, as Node does: a client trusting only the root connects', async (t) => {
  const pki = chain('s3cret');
  const base = { key: pki.key, cert: pki.cert, passphrase: 's3cret' };
  const outcomes = {};
  for (const [name, opts] of [['without ca', base], ['with ca', { ...base, ca: pki.intermediate }]]) {
    const io = new Server({ tls: opts });
    io.listen(0, '127.0.0.1');
    t.after(() => io.close());
    const node = https.createServer(opts, (req, res) => res.end());
    await new Promise((r) => node.listen(0, '127.0.0.1', r));
    t.after(() => node.close());
    outcomes[name] = { collabio: await handshake(io.address().port, pki.root), node: await handshake(node.address().port, pki.root) };
  }
  assert.deepEqual(outcomes, {
    'without ca': { collabio: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', node: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
    'with ca': { collabio: 'ok', node: 'ok' },
  });
  // And a socket.io client over the completed chain, websocket only (wss through the chain).
  const io = new Server({ tls: { ...base, ca: pki.intermediate } });
  io.listen(0, '127.0.0.1');
  io.on('connection', (s) => s.on('echo', (m, ack) => ack(m)));
  t.after(() => io.close());
  const c = ioClient(`https://127.0.0.1:${io.address().port}`, { forceNew: true, reconnection: false, transports: ['websocket'], ca: pki.root });
  t.after(() => c.disconnect());
  await withTimeout(once(c, 'connect'), 10000, 'the wss connect');
  assert.equal(await c.emitWithAck('echo', 'chained'), 'chained');
});

test('servers whose listen() failed and were never closed let the process exit cleanly', () => {
  // Found with the tests above: at exit, Node deleted one server's event function before
  // finalizing the other, whose destructor then called into it (SIGABRT).
  const script = `const { Server } = require(${JSON.stringify(path.join(__dirname, '..', '..'))});
    for (let i = 0; i < 3; i++) {
      try { new Server({ tls: { key: 'not a key', cert: 'not a cert' } }).listen(0, '127.0.0.1'); } catch (err) { if (err.code !== 'ETLS') throw err; }
    }`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.signal, null, `the process died of ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
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
