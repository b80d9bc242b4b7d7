'use strict';
// serveClient: the socket.io-client bundles under the Socket.IO path, with an ETag and 304 on a
// matching If-None-Match; and the served bundle loading in Chromium (playwright-core, Debian's
// /usr/bin/chromium) and talking to the server with default transports (polling, then upgrade),
// as the classic script and as the ESM build.
const test = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { setup } = require('./helpers/harness');
const { skip, launchBrowser } = require('../browser/helpers');

const FILES = [
  ['socket.io.js', /javascript/],
  ['socket.io.min.js', /javascript/],
  ['socket.io.esm.min.js', /javascript/],
  ['socket.io.js.map', /json/],
  ['socket.io.min.js.map', /json/],
];

test('the client bundles are served with an ETag; a matching If-None-Match gets 304', async (t) => {
  const { url } = await setup(t);
  for (const [file, type] of FILES) {
    const res = await fetch(`${url}/socket.io/${file}`);
    assert.equal(res.status, 200, file);
    assert.match(res.headers.get('content-type'), type);
    const etag = res.headers.get('etag');
    assert.match(etag, /^"\d+\.\d+\.\d+.*"$/);
    const body = await res.text();
    assert.ok(body.length > 1000, file);
    const again = await fetch(`${url}/socket.io/${file}`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
    const weak = await fetch(`${url}/socket.io/${file}`, { headers: { 'if-none-match': 'W/' + etag } });
    assert.equal(weak.status, 304);
  }
  const js = await (await fetch(`${url}/socket.io/socket.io.js`)).text();
  assert.match(js, /Socket\.IO v\d/);
});

test('serveClient: false serves no bundle', async (t) => {
  const { url } = await setup(t, { serveClient: false });
  // The request falls through to the Engine.IO endpoint, which refuses it.
  const res = await fetch(`${url}/socket.io/socket.io.js`);
  assert.equal(res.status, 400);
});

/** A page server on another port: the browser page is cross-origin to the Socket.IO server. */
async function pageServer(t, pages) {
  const srv = http.createServer((req, res) => {
    const body = pages[req.url];
    res.writeHead(body ? 200 : 404, { 'content-type': 'text/html' });
    res.end(body || '');
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => srv.close(resolve)));
  return `http://127.0.0.1:${srv.address().port}`;
}

test('the served bundle loads in Chromium and connects cross-origin (polling, then websocket)', { skip, timeout: 60000 }, async (t) => {
  // The page's origin is only known once its server listens: allow it through a RegExp.
  const { io, url } = await setup(t, { cors: { origin: /^http:\/\/127\.0\.0\.1:\d+$/ } });
  io.on('connection', (socket) => {
    socket.on('hello', (name, ack) => ack(`hello ${name} over ${socket.conn.transport.name}`));
    socket.on('bin', (buf, ack) => ack(Buffer.from(buf).reverse()));
  });
  const origin = await pageServer(t, {
    '/classic.html': `<!doctype html><script src="${url}/socket.io/socket.io.min.js"></script>`,
    '/esm.html': `<!doctype html><script type="module">
        import { io } from '${url}/socket.io/socket.io.esm.min.js';
        const socket = io('${url}', { reconnection: false, transports: ['polling'] });
        socket.on('connect', async () => { window.answer = await socket.emitWithAck('hello', 'esm'); socket.disconnect(); });
      </script>`,
  });
  const browser = await launchBrowser();
  t.after(() => browser.close());
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  await page.goto(`${origin}/classic.html`);
  const result = await page.evaluate(
    (server) =>
      new Promise((resolve, reject) => {
        // eslint-disable-next-line no-undef
        const socket = io(server, { reconnection: false });
        let first;
        socket.io.on('open', () => (first = socket.io.engine.transport.name));
        socket.on('connect_error', (err) => reject(new Error(err.message)));
        socket.on('connect', async () => {
          if (socket.io.engine.transport.name === 'polling') await new Promise((r) => socket.io.engine.once('upgrade', r));
          const hello = await socket.emitWithAck('hello', 'chromium');
          const bin = await socket.emitWithAck('bin', new Uint8Array([1, 2, 3]));
          resolve({ first, now: socket.io.engine.transport.name, hello, bin: Array.from(new Uint8Array(bin)) });
          socket.disconnect();
        });
      }),
    url,
  );
  assert.equal(result.first, 'polling');
  assert.equal(result.now, 'websocket');
  assert.equal(result.hello, 'hello chromium over websocket');
  assert.deepEqual(result.bin, [3, 2, 1]);

  // The ESM build (a module script: fetched with CORS) over polling only.
  await page.goto(`${origin}/esm.html`);
  await page.waitForFunction(() => window.answer, null, { timeout: 15000 });
  assert.equal(await page.evaluate(() => window.answer), 'hello esm over polling');
  assert.deepEqual(errors, []);
});
