'use strict';
// Response headers that come from the application (the cors option, the 'initial_headers' and
// 'headers' hooks) reach the wire only when they hold no line break: a value with CR LF would
// otherwise write a header of its own (or split the response). Every kind of response the core
// writes is checked on the raw bytes: the client bundle, a long-polling handshake, a WebSocket
// upgrade.
const test = require('node:test');
const assert = require('node:assert/strict');
const { Server } = require('../..');
const { rawHttp, upgrade } = require('./helpers/raw-ws');

const EVIL = 'https://app.example\r\nX-Injected: yes';

/** The header block of a raw HTTP response, as lines. */
function headerLines(raw) {
  const end = raw.indexOf('\r\n\r\n');
  assert.ok(end > 0, `a complete response head:\n${raw.slice(0, 500)}`);
  return raw.slice(0, end).split('\r\n');
}

function assertNotInjected(what, lines) {
  assert.deepEqual(lines.filter((l) => /^x-injected/i.test(l)), [], `${what}: no injected header`);
  for (const l of lines.slice(1)) assert.match(l, /^[!#$%&'*+.^_`|~0-9A-Za-z-]+: /, `${what}: every line is a header (${JSON.stringify(l)})`);
}

test('a CR LF in an application header value cannot inject a header', async (t) => {
  const io = new Server({ cors: { origin: EVIL }, documents: false });
  io.engine.on('initial_headers', (headers) => {
    headers['X-Evil-Initial'] = 'a\r\nX-Injected: initial';
  });
  io.engine.on('headers', (headers) => {
    headers['X-Evil'] = 'b\r\nX-Injected: headers';
    headers['X-Fine'] = 'kept';
  });
  io.listen(0, '127.0.0.1');
  t.after(() => io.close());
  const port = io.address().port;
  const origin = 'Origin: https://app.example\r\n';

  // The client bundle (file response, CORS headers).
  const bundle = headerLines(await rawHttp(port, `GET /socket.io/socket.io.min.js HTTP/1.1\r\nHost: x\r\n${origin}Connection: close\r\n\r\n`));
  assert.match(bundle[0], /^HTTP\/1\.1 200/);
  assertNotInjected('client bundle', bundle);

  // A long-polling handshake (string response, CORS and both hooks).
  const polling = headerLines(await rawHttp(port, `GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n${origin}Connection: close\r\n\r\n`));
  assert.match(polling[0], /^HTTP\/1\.1 200/);
  assertNotInjected('polling handshake', polling);
  assert.ok(polling.includes('X-Fine: kept'), 'a header without line breaks is sent');

  // A WebSocket upgrade (101 written by hand, both hooks).
  const raw = await upgrade(port, '/socket.io/?EIO=4&transport=websocket');
  t.after(() => raw.destroy());
  assert.equal(raw.status, 101);
  const head = raw.head || raw.buf.toString();
  assertNotInjected('websocket upgrade', headerLines(head.includes('\r\n\r\n') ? head : head + '\r\n\r\n'));
});
