'use strict';
// Providers for the Yjs workloads: y-websocket (collabio, the classic y-websocket server, the C++
// ceiling relay) or Hocuspocus, each over its own `ws` socket whose received bytes are counted.

const WS = require('ws');
const Y = require('yjs');

// Bytes and messages received over every provider socket of this process, and when the last
// SyncStep2 (the server's answer to a newcomer) arrived.
const counters = { bytesIn: 0, messagesIn: 0, lastStep2At: 0 };

/** Is `u8` a sync SyncStep2? y-websocket: [0 sync, 1 step2, ...]; Hocuspocus prefixes the doc name. */
function isSyncStep2(u8, hocus) {
  let i = 0;
  if (hocus) {
    let len = 0;
    let shift = 0;
    while (i < u8.length) {
      const b = u8[i++];
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) break;
    }
    i += len;
  }
  return u8[i] === 0 && u8[i + 1] === 1;
}

function countingWebSocket(hocus) {
  return class CountingWebSocket extends WS {
    constructor(...args) {
      super(...args);
      this.on('message', (data) => {
        const u8 = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        counters.bytesIn += u8.byteLength;
        counters.messagesIn += 1;
        if (isSyncStep2(u8, hocus)) counters.lastStep2At = nowMs();
      });
    }
  };
}
const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Connects `doc` to document `name` at `url` ("ws://127.0.0.1:port"). `protocol` is "yws" (y-websocket)
 * or "hocus". Returns { provider, whenSynced: Promise, destroy() }.
 */
function connect(protocol, url, name, doc) {
  let provider;
  let whenSynced;
  if (protocol === 'hocus') {
    const { HocuspocusProvider } = require('@hocuspocus/provider');
    let resolve;
    whenSynced = new Promise((r) => (resolve = r));
    provider = new HocuspocusProvider({
      url,
      name,
      document: doc,
      WebSocketPolyfill: countingWebSocket(true),
      onSynced: () => resolve(),
    });
  } else {
    const { WebsocketProvider } = require('y-websocket');
    // disableBc: editors in one process must talk through the server, not a BroadcastChannel.
    provider = new WebsocketProvider(url, name, doc, { WebSocketPolyfill: countingWebSocket(false), disableBc: true });
    whenSynced = new Promise((r) => {
      if (provider.synced) return r();
      const on = (s) => {
        if (s) {
          provider.off('sync', on);
          r();
        }
      };
      provider.on('sync', on);
    });
  }
  return {
    provider,
    whenSynced,
    destroy() {
      try {
        provider.destroy();
      } catch {
        /* already closed */
      }
    },
  };
}

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, reject) => (t = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms))),
  ]);
}

module.exports = { Y, connect, counters, withTimeout, nowMs };
