'use strict';
// Clients for the Socket.IO tests: the real socket.io-client (WebSocket only, no reconnection)
// and a raw `ws` client that speaks Engine.IO by hand, for malformed input and dead peers.
const { io: ioClient } = require('socket.io-client');
const WebSocket = require('ws');

const LIVENESS_MS = 10000; // generous: only guards against hanging forever

/** Resolves with the arguments of the next `event` on `emitter`; rejects after `ms`. */
function once(emitter, event, ms = LIVENESS_MS) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      reject(new Error(`timed out waiting for "${event}"`));
    }, ms);
    function onEvent(...args) {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(args);
    }
    emitter.on(event, onEvent);
  });
}

/** Rejects after `ms` unless `promise` settles first. */
function withTimeout(promise, ms = LIVENESS_MS, what = 'operation') {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
    }),
  ]);
}

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once `fn()` (sync or async) is truthy, polling every 10 ms; rejects with "timed out:
 * <what>" after `ms`, and then stops polling (a loop left running would keep a failed test's file
 * from ending).
 */
async function until(fn, what = 'condition', ms = LIVENESS_MS) {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await delay(10);
  }
}

/**
 * Keeps track of every client a test opens and closes them all at the end.
 * Usage: `const clients = new Clients(url); t.after(() => clients.closeAll());`
 */
class Clients {
  constructor(url) {
    this.url = url;
    this.open = new Set();
  }

  /** A socket.io-client socket, not yet connected (autoConnect as given). */
  create(opts = {}) {
    const { path, ...rest } = opts;
    const socket = ioClient(this.url + (path || ''), {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: LIVENESS_MS,
      ...rest,
    });
    this.open.add({ close: () => socket.disconnect() });
    return socket;
  }

  /** A connected socket.io-client socket; rejects on connect_error. */
  async connect(opts = {}) {
    const socket = this.create(opts);
    await withTimeout(
      new Promise((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      }),
      LIVENESS_MS,
      'socket.io-client connect',
    );
    return socket;
  }

  /** A raw Engine.IO v4 WebSocket client (see RawEioClient). */
  async raw(opts = {}) {
    const client = new RawEioClient(this.url, opts);
    this.open.add({ close: () => client.terminate() });
    await client.opened;
    return client;
  }

  closeAll() {
    for (const c of this.open) c.close();
    this.open.clear();
  }
}

/**
 * Engine.IO v4 over WebSocket, by hand. Never answers pings unless `autoPong` is set.
 * `opened` resolves with the parsed open packet; `closed` resolves with { code, reason }.
 */
class RawEioClient {
  constructor(url, { autoPong = false } = {}) {
    this.messages = []; // text frames and binary Buffers, in arrival order
    this.waiters = [];
    this.autoPong = autoPong;
    this.ws = new WebSocket(url.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket');
    this.closed = new Promise((resolve) => {
      this.ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
    });
    this.ws.on('error', () => {}); // surfaced through `closed`
    this.ws.on('message', (data, isBinary) => {
      const msg = isBinary ? Buffer.from(data) : data.toString();
      if (!isBinary && msg === '2' && this.autoPong) this.ws.send('3');
      this.messages.push(msg);
      for (const w of this.waiters.splice(0)) w();
    });
    this.opened = this.next((m) => typeof m === 'string' && m[0] === '0').then((m) => JSON.parse(m.slice(1)));
  }

  /** Resolves with the first message (already received or future) matching `pred`, consuming it. */
  next(pred = () => true, ms = LIVENESS_MS) {
    return withTimeout(
      new Promise((resolve) => {
        const check = () => {
          const i = this.messages.findIndex(pred);
          if (i >= 0) {
            resolve(this.messages.splice(i, 1)[0]);
          } else {
            this.waiters.push(check);
          }
        };
        check();
      }),
      ms,
      'raw client message',
    );
  }

  send(data) {
    this.ws.send(data);
  }

  /** Sends the Socket.IO CONNECT for "/" and waits for the server's CONNECT reply. */
  async connectNamespace(auth) {
    this.send(auth === undefined ? '40' : '40' + JSON.stringify(auth));
    const reply = await this.next((m) => typeof m === 'string' && m.startsWith('40'));
    return JSON.parse(reply.slice(2));
  }

  terminate() {
    this.ws.terminate();
  }
}

/** Proves `socket` still works: an emit with ack answered by the server's 'echo' handler. */
async function assertEchoWorks(socket, assert) {
  const payload = { alive: true, n: Math.random() };
  const reply = await withTimeout(socket.emitWithAck('echo', payload), LIVENESS_MS, 'echo round trip');
  assert.deepStrictEqual(reply, payload);
}

module.exports = { Clients, RawEioClient, once, withTimeout, delay, until, assertEchoWorks, LIVENESS_MS };
