'use strict';
// Editors of replicated documents for the cluster-mode tests: collabio nodes in child processes
// (helpers/docs-cluster-node.js), real y-websocket providers, a yjs reference that applies every
// update any editor made, and seeded random edits. "Converged" means every editor's state, and a
// newcomer's, encodes byte-identically to the reference.
const path = require('node:path');
const Y = require('yjs');
const { WebsocketProvider } = require('y-websocket');
const WebSocket = require('ws');
const { startIpcServer } = require('./ipc-server');
const { waitFor, sleep } = require('./docs');

const NODE = path.join(__dirname, 'docs-cluster-node.js');

/** A collabio node (documents.redis with `redisUrl`, `options` the other documents options) in a child process. */
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

/** Editors of one document, and the reference every local edit goes into. */
class Session {
  constructor(t, name) {
    this.name = name;
    this.reference = new Y.Doc();
    this.editors = [];
    t.after(() => this.destroy());
  }

  /** A provider on `node` (an object with wsUrl). Its local edits go into the reference. */
  editor(node, { track = true, params } = {}) {
    const doc = new Y.Doc();
    const provider = new WebsocketProvider(node.wsUrl, this.name, doc, { WebSocketPolyfill: WebSocket, disableBc: true, params });
    if (track) {
      doc.on('update', (update, origin) => {
        if (origin !== provider) Y.applyUpdate(this.reference, update);
      });
    }
    const e = { doc, provider, node };
    this.editors.push(e);
    return e;
  }

  synced(editors = this.editors) {
    return waitFor(() => editors.every((e) => e.provider.synced), `${this.name}: providers to sync`, 30000);
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

module.exports = { startNode, Session, seeded, editRandomly };
