'use strict';
// Engine-level options and hooks: cors (preflight from a foreign origin, allow-list, credentials),
// allowRequest, io.engine 'connection_error' / 'initial_headers' / 'headers', clientsCount,
// cookie, path and addTrailingSlash.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup } = require('./helpers/harness');
const { once, assertEchoWorks, until } = require('./helpers/clients');

const handshakeUrl = (url, path = '/socket.io/') => `${url}${path}?EIO=4&transport=polling`;

test('CORS preflight from a foreign origin is answered with the configured headers', async (t) => {
  const { url } = await setup(t, {
    cors: { origin: 'https://app.example', methods: ['GET', 'POST'], credentials: true, maxAge: 600 },
  });
  const res = await fetch(handshakeUrl(url), {
    method: 'OPTIONS',
    headers: {
      origin: 'https://app.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type,x-token',
    },
  });
  assert.equal(res.status, 204);
  assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(res.headers.get('access-control-allow-credentials'), 'true');
  assert.equal(res.headers.get('access-control-allow-methods'), 'GET,POST');
  assert.equal(res.headers.get('access-control-allow-headers'), 'content-type,x-token');
  assert.equal(res.headers.get('access-control-max-age'), '600');
  assert.match(res.headers.get('vary'), /Origin/);

  // The actual handshake carries the same origin headers.
  const get = await fetch(handshakeUrl(url), { headers: { origin: 'https://app.example' } });
  assert.equal(get.status, 200);
  assert.equal(get.headers.get('access-control-allow-origin'), 'https://app.example');
  assert.equal(get.headers.get('access-control-allow-credentials'), 'true');
});

test('CORS allow-list: listed origins are reflected, others get no allow-origin header', async (t) => {
  const { url } = await setup(t, { cors: { origin: ['https://a.example', /\.b\.example$/] } });
  const ask = (origin) => fetch(handshakeUrl(url), { headers: { origin } });
  assert.equal((await ask('https://a.example')).headers.get('access-control-allow-origin'), 'https://a.example');
  assert.equal((await ask('https://x.b.example')).headers.get('access-control-allow-origin'), 'https://x.b.example');
  assert.equal((await ask('https://evil.example')).headers.get('access-control-allow-origin'), null);
});

test('cors origin "*" and no cors option', async (t) => {
  const { url } = await setup(t, { cors: { origin: '*' } });
  const res = await fetch(handshakeUrl(url), { headers: { origin: 'https://anywhere.example' } });
  assert.equal(res.headers.get('access-control-allow-origin'), '*');

  const plain = await setup(t);
  const res2 = await fetch(handshakeUrl(plain.url), { headers: { origin: 'https://anywhere.example' } });
  assert.equal(res2.status, 200);
  assert.equal(res2.headers.get('access-control-allow-origin'), null);
});

test('allowRequest refusing: 403 with the message, connect_error on the client', async (t) => {
  const { io, url, clients } = await setup(t, {
    allowRequest: (req, callback) => callback(req.headers['x-pass'] === 'yes' ? null : 'no entry', req.headers['x-pass'] === 'yes'),
  });
  const errors = [];
  io.engine.on('connection_error', (err) => errors.push(err));
  const res = await fetch(handshakeUrl(url));
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { code: 4, message: 'no entry' });

  const refused = clients.create({ transports: ['polling'] });
  const [err] = await once(refused, 'connect_error');
  assert.ok(err instanceof Error);

  const ok = await clients.connect({ transports: ['polling', 'websocket'], extraHeaders: { 'x-pass': 'yes' } });
  await assertEchoWorks(ok, assert);
  const wsOk = await clients.connect({ transports: ['websocket'], extraHeaders: { 'x-pass': 'yes' } });
  await assertEchoWorks(wsOk, assert);

  assert.ok(errors.length >= 2);
  assert.equal(errors[0].code, 4);
  assert.equal(errors[0].message, 'Forbidden');
  assert.equal(typeof errors[0].req.url, 'string');
});

test('connection_error reports bad requests with code and message', async (t) => {
  const { io, url } = await setup(t);
  const errors = [];
  io.engine.on('connection_error', (err) => errors.push(err));
  await fetch(`${url}/socket.io/?EIO=4&transport=carrier-pigeon`);
  await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=unknown`);
  await until(() => errors.length >= 2, 'two connection_error events');
  assert.deepEqual(
    errors.map((e) => [e.code, e.message]),
    [
      [0, 'Transport unknown'],
      [1, 'Session ID unknown'],
    ],
  );
  assert.ok(errors[1].req.url.includes('sid=unknown'));
  assert.equal(errors[1].req.method, 'GET');
});

test('initial_headers and headers hooks add response headers', async (t) => {
  const { io, url, clients } = await setup(t);
  io.engine.on('initial_headers', (headers, req) => {
    assert.equal(typeof req.url, 'string');
    headers['x-first'] = 'hello';
  });
  io.engine.on('headers', (headers) => {
    headers['x-every'] = 'yes';
  });
  const res = await fetch(handshakeUrl(url));
  assert.equal(res.headers.get('x-first'), 'hello');
  assert.equal(res.headers.get('x-every'), 'yes');
  const sid = JSON.parse((await res.text()).slice(1)).sid;
  const post = await fetch(`${url}/socket.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '40' });
  assert.equal(post.headers.get('x-every'), 'yes');
  assert.equal(post.headers.get('x-first'), null);
  const client = await clients.connect({ transports: ['polling', 'websocket'] });
  await assertEchoWorks(client, assert);
});

test('io.engine.clientsCount counts Engine.IO sessions of every transport', async (t) => {
  const { io, clients } = await setup(t);
  assert.equal(io.engine.clientsCount, 0);
  const a = await clients.connect({ transports: ['polling'] });
  await clients.connect({ transports: ['websocket'] });
  assert.equal(io.engine.clientsCount, 2);
  a.disconnect();
  await until(() => io.engine.clientsCount === 1, 'one Engine.IO client left');
});

test('cookie option sets the io cookie on the handshake', async (t) => {
  const { url } = await setup(t, { cookie: { name: 'sticky', httpOnly: true, path: '/', sameSite: 'lax' } });
  const res = await fetch(handshakeUrl(url));
  const sid = JSON.parse((await res.text()).slice(1)).sid;
  const cookie = res.headers.get('set-cookie');
  assert.ok(cookie.startsWith(`sticky=${sid}`), cookie);
  assert.match(cookie, /Path=\//);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);

  const none = await setup(t);
  const res2 = await fetch(handshakeUrl(none.url));
  assert.equal(res2.headers.get('set-cookie'), null);
});

test('a custom path, and addTrailingSlash: false', async (t) => {
  const { url } = await setup(t, { path: '/rt' });
  const open = await fetch(`${url}/rt/?EIO=4&transport=polling`);
  assert.equal(open.status, 200);
  assert.equal((await open.text())[0], '0');

  // Without the trailing slash, "/rt?EIO=4..." is an Engine.IO request too.
  const loose = await setup(t, { path: '/rt', addTrailingSlash: false });
  const res = await fetch(`${loose.url}/rt?EIO=4&transport=polling`);
  assert.equal(res.status, 200);
  assert.equal((await res.text())[0], '0');
});
