'use strict';
// Helpers for documents-across-processes tests (docs-cluster*.test.js): collabio nodes in child
// processes (helpers/docs-cluster-node.js) or started as users do (the CLI), a Redis client, and
// a Session: editors of one document (real y-websocket providers) plus the yjs reference every
// local edit goes into. "Converged" means every editor's state, and a newcomer's, encodes
// byte-identically to the reference.
const path = require('node:path');
const { spawn } = require('node:child_process');
const Y = require('yjs');
const { WebsocketProvider } = require('y-websocket');
const WebSocket = require('ws');
const { createClient } = require('redis');
const { startIpcServer } = require('./ipc-server');
const { waitFor, sleep } = require('./docs');

const NODE = path.join(__dirname, 'docs-cluster-node.js');
const CLI = path.join(__dirname, '..', '..', '..', 'lib', 'cli.js');

/**
 * A collabio node in a child process on `redisUrl` ('-': single-node mode, no Redis). `options`
 * are documents options plus the node helper's own (readOnlyQuery, storeHook, loadHook,
 * hocuspocusPath). Resolves with the IPC server (ask, close, child, port) plus wsUrl, stats(), kill().
 */
async function startNode(t, redisUrl, { port = 0, options = {} } = {}) {
  const s = await startIpcServer(t, process.execPath, [NODE, redisUrl, String(port), JSON.stringify(options)], {
    label: 'cluster node',
    timeout: 20000,
  });
  return {
    ...s,
    wsUrl: `ws://127.0.0.1:${s.port}`,
    stats: async () => (await s.ask({ cmd: 'stats' }, 'stats')).stats,
    kill: async () => {
      s.child.kill('SIGKILL');
      await s.exited;
    },
  };
}

/**
 * `collabio ...args` on `port` as users start it; resolves once its banner holds `ready` (or every
 * string of it). Resolves with { wsUrl, output(), stop() } (stop: SIGTERM, resolves with the exit code).
 */
async function launchCli(t, port, args, ready) {
  const child = spawn(process.execPath, [CLI, '--port', String(port), '--host', '127.0.0.1', '--threads', '1', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const wanted = Array.isArray(ready) ? ready : [ready];
  await waitFor(() => wanted.every((w) => out.includes(w)), `collabio ${args.join(' ')} on ${port} to start`, 20000);
  return { wsUrl: `ws://127.0.0.1:${port}`, output: () => out, stop: () => (child.kill('SIGTERM'), exited) };
}

async function redisClient(t, url) {
  const c = createClient({ url });
  c.on('error', () => {});
  await c.connect();
  t.after(() => c.disconnect().catch(() => {}));
  return c;
}

/** Editors of one document, and the reference every local edit goes into. */
class Session {
  constructor(t, name) {
    this.name = name;
    this.reference = new Y.Doc();
    this.editors = [];
    t.after(() => this.destroy());
  }

  /**
   * Tracks `doc`'s local edits (origin other than `provider`) into the reference and lists it as
   * an editor. `e` holds at least { doc, provider, node, synced() }.
   */
  add(e, track = true) {
    if (track) {
      e.doc.on('update', (update, origin) => {
        if (origin !== e.provider) Y.applyUpdate(this.reference, update);
      });
    }
    this.editors.push(e);
    return e;
  }

  /** A y-websocket provider on `node` (an object with wsUrl). Its local edits go into the reference. */
  editor(node, { track = true, params } = {}) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(node.wsUrl, this.name, doc, { WebSocketPolyfill: WebSocket, disableBc: true, params });
    return this.add({ doc, provider, node, synced: () => provider.synced }, track);
  }

  synced(editors = this.editors) {
    return waitFor(() => editors.every((e) => e.synced()), `${this.name}: providers to sync`, 30000);
  }

  /** One random edit: text insert or delete, or a map entry. */
  static edit(e, rand) {
    const text = e.doc.getText('t');
    const r = rand();
    if (r < 0.6 || text.length === 0) {
      text.insert(Math.floor(rand() * (text.length + 1)), Math.random().toString(36).slice(2, 2 + 1 + Math.floor(rand() * 6)));
    } else if (r < 0.8) {
      const at = Math.floor(rand() * text.length);
      text.delete(at, Math.min(1 + Math.floor(rand() * 3), text.length - at));
    } else {
      e.doc.getMap('m').set(`k${Math.floor(rand() * 20)}`, Math.floor(rand() * 1000));
    }
  }

  /** Every editor (and `extra` docs) encodes exactly as the reference does. */
  converged(extra = []) {
    const want = Buffer.from(Y.encodeStateAsUpdate(this.reference));
    const docs = [...this.editors.map((e) => e.doc), ...extra];
    return waitFor(
      () => docs.every((d) => Buffer.from(Y.encodeStateAsUpdate(d)).equals(want)),
      `${this.name}: ${docs.length} documents to converge on the reference`,
      40000,
      50,
    );
  }

  /** A newcomer on `node`: synced, equal to the reference. */
  async newcomer(node) {
    const e = this.editor(node, { track: false });
    await this.synced([e]);
    await this.converged([e.doc]);
    return e;
  }

  /** Destroys `e`'s provider and document and forgets it. */
  remove(e) {
    e.provider.destroy();
    e.doc.destroy(); // its awareness timer would keep the process alive
    this.editors = this.editors.filter((x) => x !== e);
  }

  destroy() {
    for (const e of this.editors) {
      e.provider.destroy();
      e.doc.destroy();
    }
    this.editors = [];
  }
}

/** A deterministic random source. */
function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Random edits by random editors, yielding to the event loop every few edits. */
async function editRandomly(session, count, rand, editors = session.editors) {
  for (let i = 0; i < count; i++) {
    Session.edit(editors[Math.floor(rand() * editors.length)], rand);
    if (i % 5 === 4) await sleep(2);
  }
}

module.exports = { startNode, launchCli, redisClient, Session, seeded, editRandomly };
