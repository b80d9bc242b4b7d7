'use strict';
// Helpers for document tests: a collabio server, real y-websocket providers (Node, `ws`), and
// waits with generous liveness timeouts. Everything is closed when the test ends.
const Y = require('yjs');
const { WebsocketProvider } = require('y-websocket');
const WebSocket = require('ws');
const { Server } = require('../../..');

async function docServer(t, opts = {}) {
  const io = new Server({ ...opts, documents: { unloadDelay: 200, ...(opts.documents || {}) } });
  io.listen(0, '127.0.0.1');
  const port = io.address().port;
  const url = `ws://127.0.0.1:${port}`;
  const providers = [];
  const connect = (name, doc = new Y.Doc(), popts = {}) => {
    // disableBc: peers in one process must sync through the server, not BroadcastChannel.
    const p = new WebsocketProvider(url, name, doc, { WebSocketPolyfill: WebSocket, disableBc: true, ...popts });
    providers.push(p);
    return p;
  };
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    for (const p of providers) {
      p.destroy();
      p.doc.destroy();
    }
    await io.close();
  };
  if (t) t.after(close);
  return { io, port, url, connect, close, providers };
}

function waitFor(pred, what, timeout = 20000, interval = 10) {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      let v;
      try {
        v = pred();
      } catch (err) {
        v = false;
      }
      if (v) return resolve(v);
      if (Date.now() - start > timeout) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, interval);
    };
    tick();
  });
}

function synced(p) {
  return waitFor(() => p.synced, `provider ${p.roomname} to sync`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Raw WebSocket to a document, for hostile-input tests. Resolves when open. */
function rawDocSocket(url, name) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/${name}`);
    ws.binaryType = 'nodebuffer';
    ws.messages = [];
    ws.on('message', (m) => ws.messages.push(m));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/**
 * Two y-websocket providers of document `name` at `url` whose WebSockets are made with `wsOptions`
 * (an agent, a CA, ...), destroyed when the test ends. Resolves with both once both have synced.
 */
async function syncedPair(t, url, name, wsOptions) {
  class OptionsWebSocket extends WebSocket {
    constructor(u, p) {
      super(u, p, wsOptions);
    }
  }
  const mk = () => new WebsocketProvider(url, name, new Y.Doc(), { WebSocketPolyfill: OptionsWebSocket, disableBc: true });
  const pair = [mk(), mk()];
  t.after(() => {
    for (const p of pair) {
      p.destroy();
      p.doc.destroy();
    }
  });
  await Promise.all(pair.map(synced));
  return pair;
}

module.exports = { docServer, waitFor, synced, syncedPair, sleep, rawDocSocket, Y };
