'use strict';
// permessage-deflate with Chromium's own WebSocket: the browser's offer
// ("permessage-deflate; client_max_window_bits") is answered without context takeover, a
// compressed event from the server arrives intact (Chromium fails the connection on a bad
// compressed frame), and what Chromium compresses on its side reaches the server intact.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { TIMEOUT, skip, launchBrowser } = require('./helpers');
const { Server } = require('../..');

function chat(n) {
  const out = [];
  for (let i = 0, size = 0; size < n; i++) {
    const m = { user: `user${i % 13}`, text: `message number ${i} in the room` };
    out.push(m);
    size += JSON.stringify(m).length + 1;
  }
  return out;
}

describe('permessage-deflate in Chromium', { skip, timeout: 60000 }, () => {
  let browser;
  let io;
  let url;

  before(async () => {
    // The page is about:blank: its polling requests are cross-origin.
    io = new Server({ perMessageDeflate: true, cors: { origin: '*' } });
    io.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${io.address().port}`;
    io.on('connection', (socket) => {
      socket.on('echo', (x, ack) => ack(x));
      socket.emit('big', chat(50000));
    });
    browser = await launchBrowser();
  });

  after(async () => {
    if (browser) await browser.close();
    if (io) await io.close();
  });

  for (const transports of [['websocket'], ['polling', 'websocket']]) {
    it(`negotiates and round-trips compressed events (transports ${transports.join(', ')})`, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(TIMEOUT);
      await page.setContent(`<script src="${url}/socket.io/socket.io.js"></script>`);
      const result = await page.evaluate(
        ({ url, transports }) =>
          new Promise((resolve, reject) => {
            const socket = io(url, { transports, reconnection: false }); // eslint-disable-line no-undef
            socket.on('connect_error', reject);
            socket.on('big', async (big) => {
              try {
                const engine = socket.io.engine;
                if (engine.transport.name !== 'websocket') {
                  await new Promise((r) => engine.once('upgrade', r));
                }
                const extensions = engine.transport.ws.extensions;
                const echoed = await socket.timeout(10000).emitWithAck('echo', big);
                resolve({ extensions, count: big.length, same: JSON.stringify(echoed) === JSON.stringify(big) });
              } catch (e) {
                reject(e);
              }
            });
          }),
        { url, transports },
      );
      assert.equal(result.extensions, 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
      assert.equal(result.count, chat(50000).length);
      assert.equal(result.same, true);
      await context.close();
    });
  }
});
