'use strict';
// The `cors` allow-list applied to WebSocket upgrades. Browsers enforce CORS on HTTP requests but
// not on WebSockets, so a page from any origin could open a document (or a Socket.IO WebSocket)
// unless the server checks the Origin header itself. With `cors.origin` set to a string or a list,
// an upgrade whose Origin is not allowed gets HTTP 403; requests without Origin (non-browser
// clients) and same-origin pages are served as before; other clients are not affected.
const test = require('node:test');
const assert = require('node:assert/strict');
const WebSocket = require('ws');
const { io: ioClient } = require('socket.io-client');
const { docServer, waitFor, synced, Y } = require('./helpers/docs');
const { upgrade, rawHttp } = require('./helpers/raw-ws');
const { withTimeout } = require('./helpers/clients');

const ALLOWED = 'https://app.example';
const CORS = { origin: [ALLOWED, /^https:\/\/[a-z]+\.trusted\.example$/] };

/** A `ws` WebSocket class that sends `origin` as its Origin header (what a browser page would). */
function wsWithOrigin(origin) {
  return class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols, { origin });
    }
  };
}

/** The status line and body of the server's answer to a document upgrade from `origin`. */
async function docUpgrade(port, name, headers) {
  const raw = await upgrade(port, `/${name}`, { headers });
  const status = raw.status;
  await withTimeout(raw.status === 101 ? Promise.resolve() : raw.ended, 10000, 'server ends a refused upgrade');
  const body = raw.buf.toString();
  raw.destroy();
  return { status, body };
}

test('documents: an allowed Origin syncs, a foreign one gets 403, others are unaffected', async (t) => {
  const { io, port, connect } = await docServer(t, { cors: CORS });

  // A browser-like editor from the allowed origin and a Node client without Origin edit together.
  const a = connect('notes', new Y.Doc(), { WebSocketPolyfill: wsWithOrigin(ALLOWED) });
  const b = connect('notes');
  await Promise.all([synced(a), synced(b)]);
  a.doc.getText('t').insert(0, 'from the app ');
  await waitFor(() => b.doc.getText('t').toString() === 'from the app ', 'b sees a');

  // A page from a foreign origin: refused at the upgrade, before any byte of the document.
  let closes = 0;
  const evil = connect('notes', new Y.Doc(), { WebSocketPolyfill: wsWithOrigin('https://evil.example') });
  evil.on('connection-close', () => closes++);
  await waitFor(() => closes >= 1, 'the foreign-origin provider is refused', 10000);
  assert.equal(evil.wsconnected, false);
  assert.equal(evil.synced, false);
  assert.equal(evil.doc.getText('t').toString(), '', 'nothing of the document reached the foreign origin');
  evil.destroy();

  const refused = await docUpgrade(port, 'notes', { Origin: 'https://evil.example' });
  assert.equal(refused.status, 403);
  assert.match(refused.body, /Origin not allowed/);

  // Patterns, same-origin pages, "null" origins and non-browser clients.
  assert.equal((await docUpgrade(port, 'notes', { Origin: 'https://docs.trusted.example' })).status, 101);
  assert.equal((await docUpgrade(port, 'notes', { Origin: 'https://docs.trusted.example.evil' })).status, 403);
  assert.equal((await docUpgrade(port, 'notes', { Origin: `http://127.0.0.1:${port}` })).status, 101, 'same origin');
  assert.equal((await docUpgrade(port, 'notes', { Origin: 'null' })).status, 403);
  assert.equal((await docUpgrade(port, 'notes', {})).status, 101, 'no Origin header');

  // The allowed editors kept their connections and still converge.
  b.doc.getText('t').insert(0, 'and node ');
  await waitFor(() => a.doc.getText('t').toString() === 'and node from the app ', 'a sees b');
  assert.equal(a.wsconnected && b.wsconnected, true);
  await waitFor(() => io.stats().connections === 2, 'only the two editors stay connected', 10000);
});

test('documents: without a cors option, or with origin "*" or true, any Origin is served', async (t) => {
  for (const opts of [{}, { cors: true }, { cors: { origin: '*' } }, { cors: { origin: true } }]) {
    const { port, close } = await docServer(null, opts);
    try {
      const r = await docUpgrade(port, 'open', { Origin: 'https://anywhere.example' });
      assert.equal(r.status, 101, JSON.stringify(opts));
    } finally {
      await close();
    }
  }
});

test('documents: a fixed cors origin allows exactly that origin', async (t) => {
  const { port } = await docServer(t, { cors: { origin: ALLOWED } });
  assert.equal((await docUpgrade(port, 'fixed', { Origin: ALLOWED })).status, 101);
  assert.equal((await docUpgrade(port, 'fixed', { Origin: ALLOWED + '.evil' })).status, 403);
});

test('Socket.IO: a WebSocket from a foreign Origin gets 403 and connection_error; allowed ones connect', async (t) => {
  const { io, port } = await docServer(t, { cors: CORS });
  io.on('connection', (s) => s.on('echo', (x, ack) => ack(x)));
  const url = `http://127.0.0.1:${port}`;
  const sockets = [];
  t.after(() => sockets.forEach((s) => s.disconnect()));
  const client = (origin) => {
    const s = ioClient(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      extraHeaders: origin ? { origin } : {},
    });
    sockets.push(s);
    return s;
  };
  const connected = (s) =>
    withTimeout(
      new Promise((resolve, reject) => {
        s.once('connect', resolve);
        s.once('connect_error', reject);
      }),
      10000,
      'socket.io-client connect',
    );

  const good = client(ALLOWED);
  await connected(good);
  assert.equal(await withTimeout(good.emitWithAck('echo', 1), 10000, 'echo'), 1);

  const errors = [];
  io.engine.on('connection_error', (e) => errors.push(e));
  const bad = client('https://evil.example');
  await assert.rejects(connected(bad));
  await waitFor(() => errors.length === 1, 'connection_error', 10000);
  assert.equal(errors[0].code, 4);
  assert.equal(errors[0].message, 'Forbidden');
  assert.equal(errors[0].req.headers.origin, 'https://evil.example');

  const answer = await rawHttp(
    port,
    'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n',
  );
  assert.match(answer, /^HTTP\/1\.1 403 /);
  assert.match(answer, /\{"code":4,"message":"Origin not allowed"\}/);

  // Non-browser clients (no Origin) are served; the allowed client never noticed anything.
  const plain = client(null);
  await connected(plain);
  assert.equal(await withTimeout(good.emitWithAck('echo', 2), 10000, 'echo'), 2);
  assert.equal(good.connected, true);
});
