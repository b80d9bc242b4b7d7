'use strict';
// Collaborative documents from JavaScript. The documents live in the native core (one C++ Yjs
// document per name, owned by its own strand); y-websocket clients (ws://host/<name>) and
// Hocuspocus providers (Tiptap; ws://host<documents.hocuspocus.path>, many documents per socket)
// are served from the same documents without entering JavaScript. This module is the
// application's window onto them: authorization, lifecycle events, stateless messages, and
// handles to read, write and watch a document.
//
//   const io = new Server({ documents: { persistence: { dir: './data' }, authorize: ({ name }) => true } });
//   io.documents.on('create', (name) => …);   // also 'idle' (last connection left) and 'unload'
//   const doc = io.documents.open('notes');
//   Y.applyUpdate(ydoc, await doc.encodeState());
//   doc.on('update', (updates) => …);
//   await doc.applyUpdate(update);   // relayed to every client, durable when it resolves
//   doc.close();
//
// Hocuspocus providers: `documents: { hocuspocus: { path: '/collab' } }`. Their token reaches
// authorize({ name, token, protocol: 'hocuspocus', ... }); their stateless messages arrive as
// io.documents.on('stateless', ({ name, connection, payload, reply }) => …), and
// io.documents.broadcastStateless(name, payload) / sendStateless(name, connection, payload) answer.

const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const path = require('node:path');
const { parseQuery } = require('./query');
const debug = require('./debug')('collabio:documents');
const { nativeDeflateOptions } = require('./engine');

const { eventKinds: EV, docAuthModes: AUTH } = require('./constants');

const DB_FILE = 'collabio.sqlite';

/** A handle on one document; keeps it loaded until close(). */
class DocumentHandle extends EventEmitter {
  constructor(documents, name) {
    super();
    this.name = name;
    this._documents = documents;
    this._closed = false;
    this.on('newListener', (ev) => {
      if (ev === 'update' && this.listenerCount('update') === 0) this._documents._subscribe(this, true);
    });
    this.on('removeListener', (ev) => {
      if (ev === 'update' && this.listenerCount('update') === 0) this._documents._subscribe(this, false);
    });
  }

  /** The whole document (or what a peer with `stateVector` lacks) as a Yjs update v1. */
  async encodeState(stateVector) {
    const [bin] = await this._call('encodeState', stateVector ? Buffer.from(stateVector) : undefined);
    return new Uint8Array(bin);
  }

  /** The document's state vector. */
  async encodeStateVector() {
    const [bin] = await this._call('encodeStateVector');
    return new Uint8Array(bin);
  }

  /**
   * Integrates a Yjs update as if a client had sent it: relayed to every connection and, with
   * persistence, durable when the promise resolves. Rejects (document unchanged) on a corrupt update.
   */
  async applyUpdate(update) {
    await this._call('applyUpdate', Buffer.from(update.buffer, update.byteOffset, update.byteLength));
  }

  /** Text of root type `name` read as Y.Text. */
  async getText(name) {
    return (await this._call('text', name, true)) ?? '';
  }

  /** JSON of root type `name` read as Y.Map. */
  async getMap(name) {
    return JSON.parse((await this._call('map', name, true)) || '{}');
  }

  /** JSON of root type `name` read as Y.Array. */
  async getArray(name) {
    return JSON.parse((await this._call('array', name, true)) || '[]');
  }

  /** The connections of this document: `[{ id, readOnly, protocol: 'y-websocket' | 'hocuspocus' }]`. */
  async connections() {
    return JSON.parse((await this._call('connections', undefined, true)) || '[]');
  }

  /** Closes every client connection of the document (they may reconnect). */
  async disconnectAll() {
    await this._call('close');
  }

  /** Approximate bytes the native document holds. */
  async memoryUsage() {
    return Number(await this._call('memory', undefined, true));
  }

  /** Sends a stateless message to every Hocuspocus connection of the document. */
  broadcastStateless(payload) {
    this._documents.broadcastStateless(this.name, payload);
  }

  /** Sends a stateless message to one Hocuspocus connection (`id` from connections() or an event). */
  sendStateless(connection, payload) {
    this._documents.sendStateless(this.name, connection, payload);
  }

  /** Releases the handle: the document may be unloaded once no connection uses it. */
  close() {
    if (this._closed) return;
    this._closed = true;
    this.removeAllListeners('update');
    this._documents._release(this);
  }

  _call(op, arg, json = false) {
    if (this._closed) return Promise.reject(new Error(`document handle "${this.name}" is closed`));
    return this._documents._request(this.name, op, arg, false, json);
  }
}

class Documents extends EventEmitter {
  /**
   * @param {import('./server').Server} server
   * @param {object|false|undefined} opts
   */
  constructor(server, opts) {
    super();
    this.server = server;
    this.opts = opts === false ? { enabled: false } : { ...(opts || {}) };
    this._reqId = 1;
    this._pending = new Map();
    /** @type {Map<string, Set<DocumentHandle>>} */
    this._handles = new Map();
    /** Host persistence: documents with a store pending, name -> { handle, timer, first, running, again } */
    this._dirty = new Map();
  }

  /** The application's persistence hooks ({ load, store }), or null. */
  get _host() {
    const p = this.opts.persistence;
    return p && (typeof p.load === 'function' || typeof p.store === 'function') ? p : null;
  }

  /** Options for the native core (validated here, once). */
  _nativeOptions() {
    const o = this.opts;
    const out = { enabled: o.enabled !== false };
    if (o.authorize !== undefined && typeof o.authorize !== 'function') {
      throw new TypeError('documents.authorize must be a function');
    }
    out.authorize = typeof o.authorize === 'function';
    const p = o.persistence;
    if (this._host) {
      // Documents load through persistence.load and changes are handed to persistence.store.
      out.hostPersistence = true;
    } else if (p) {
      let file;
      if (typeof p === 'string') file = path.join(p, DB_FILE);
      else if (p.path) file = p.path;
      else if (p.dir) file = path.join(p.dir, DB_FILE);
      else throw new TypeError('documents.persistence needs { dir } or { path }');
      fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      out.path = path.resolve(file);
      const durability = (typeof p === 'object' && p.durability) || 'full';
      if (durability !== 'full' && durability !== 'normal') throw new TypeError("documents.persistence.durability is 'full' or 'normal'");
      out.durability = durability;
      this.file = out.path;
    }
    // permessage-deflate for document connections: off by default, as y-websocket's server (ws's
    // defaults); same options as socket.io's perMessageDeflate.
    const pmd = nativeDeflateOptions(o.perMessageDeflate);
    if (pmd) out.perMessageDeflate = pmd;
    for (const k of ['unloadDelay', 'maxMessageSize', 'keepAlive', 'updateDebounce', 'relayInterval', 'compactAfterEntries', 'compactAfterBytes', 'maxDocuments']) {
      if (o[k] !== undefined) out[k] = Number(o[k]);
    }
    if (out.relayInterval !== undefined && !(out.relayInterval >= 0 && out.relayInterval <= 10000)) {
      throw new TypeError('documents.relayInterval is a number of milliseconds from 0 to 10000');
    }
    // Cluster mode (docs/architecture.md, "Documents across processes"): replicas kept in step
    // through one Redis stream per document.
    const r = o.redis;
    if (r !== undefined && r !== false && r !== null) {
      // Redis Cluster: `cluster: true` with `url` a seed node, or `nodes`, a list of seed nodes.
      const nodes = typeof r === 'object' && r.nodes !== undefined ? r.nodes : undefined;
      if (nodes !== undefined && (!Array.isArray(nodes) || nodes.length === 0 || !nodes.every((n) => typeof n === 'string' && /^rediss?:\/\//.test(n)))) {
        throw new TypeError("documents.redis.nodes needs a non-empty list of 'redis://host:port' seed nodes of a Redis Cluster");
      }
      const url = typeof r === 'string' ? r : r.url ?? nodes?.[0];
      if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
        throw new TypeError("documents.redis needs { url: 'redis://…' } (or 'rediss://…')");
      }
      out.redisUrl = url;
      if (typeof r === 'object') {
        if (r.cluster !== undefined && typeof r.cluster !== 'boolean') throw new TypeError('documents.redis.cluster must be a boolean');
        if (r.cluster === false && nodes) throw new TypeError('documents.redis.nodes are the seeds of a Redis Cluster: cluster cannot be false');
        if (r.cluster || nodes) {
          out.redisCluster = true;
          out.redisNodes = (nodes || []).filter((n) => n !== url);
        }
        if (r.prefix !== undefined) {
          if (typeof r.prefix !== 'string' || r.prefix === '') throw new TypeError('documents.redis.prefix must be a non-empty string');
          out.redisPrefix = r.prefix;
        }
        if (r.maxQueued !== undefined) out.redisMaxQueued = Number(r.maxQueued);
        if (r.trimWindow !== undefined) out.redisTrimWindow = Number(r.trimWindow);
        if (r.tls) {
          if (r.tls.ca !== undefined) out.redisTlsCa = String(r.tls.ca);
          if (r.tls.rejectUnauthorized === false) out.redisTlsVerify = false;
        }
      }
      this.cluster = { url, prefix: out.redisPrefix ?? 'collabio' };
    }
    const hp = o.hocuspocus;
    if (hp !== undefined && hp !== false) {
      if (!hp || typeof hp !== 'object' || typeof hp.path !== 'string' || !hp.path.startsWith('/')) {
        throw new TypeError("documents.hocuspocus needs { path: '/...' }");
      }
      out.hocuspocusPath = hp.path;
      if (hp.maxDocumentsPerConnection !== undefined) out.maxDocumentsPerConnection = Number(hp.maxDocumentsPerConnection);
      if (hp.maxNameLength !== undefined) out.maxNameLength = Number(hp.maxNameLength);
    }
    return out;
  }

  /** Opens a handle on document `name` (loading it if needed). Close it when done. */
  open(name) {
    if (typeof name !== 'string') throw new TypeError('document names are strings');
    const handle = new DocumentHandle(this, name);
    let set = this._handles.get(name);
    if (!set) {
      set = new Set();
      this._handles.set(name, set);
    }
    set.add(handle);
    // Holds the document loaded until handle.close().
    this._request(name, 'connections', undefined, true, true).catch(() => {});
    return handle;
  }

  /** Alias of open(). */
  get(name) {
    return this.open(name);
  }

  /**
   * Sends a Hocuspocus stateless message to every Hocuspocus connection of document `name`
   * (nothing happens when the document is not loaded: nobody is connected).
   */
  broadcastStateless(name, payload) {
    this.sendStateless(name, 0, payload);
  }

  /** Sends a Hocuspocus stateless message to one connection (0: all) of document `name`. */
  sendStateless(name, connection, payload) {
    if (typeof payload !== 'string') throw new TypeError('stateless payloads are strings');
    this.server._native.docStateless(String(name), Number(connection) || 0, payload);
  }

  /** Number of documents loaded in memory. */
  get loaded() {
    return this.server._native.stats().documents;
  }

  _release(handle) {
    const set = this._handles.get(handle.name);
    if (set) {
      set.delete(handle);
      if (set.size === 0) this._handles.delete(handle.name);
    }
    this.server._native.docRelease(handle.name);
  }

  _subscribe(handle, on) {
    const set = this._handles.get(handle.name);
    const others = set ? [...set].some((h) => h !== handle && h.listenerCount('update') > 0) : false;
    if (!on && others) return;
    this._request(handle.name, on ? 'subscribe' : 'unsubscribe').catch((err) => debug('subscribe failed: %s', err.message));
  }

  _request(name, op, arg, hold = false, json = false) {
    const id = this._reqId++;
    return new Promise((resolve, reject) => {
      this._pending.set(id, { resolve, reject, json });
      this.server._native.docRequest(name, op, arg, id, hold);
    });
  }

  _onEvent(kind, conn, name, data, reqId, attachments, handshake, extra) {
    switch (kind) {
      case EV.REPLY: {
        const p = this._pending.get(reqId);
        if (!p) return;
        this._pending.delete(reqId);
        if (data) p.reject(new Error(data));
        else p.resolve(p.json ? extra : attachments || []);
        return;
      }
      case EV.DOC_LOAD:
        this._hostLoad(name);
        return;
      case EV.DOC_UPDATE: {
        if (this._host) this._markDirty(name);
        const set = this._handles.get(name);
        if (!set) return;
        const updates = attachments.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        for (const h of set) if (h.listenerCount('update')) h.emit('update', updates);
        return;
      }
      case EV.DOC_CREATE:
        debug('document %s loaded', name);
        this.emit('create', name);
        return;
      case EV.DOC_IDLE:
        this.emit('idle', name);
        return;
      case EV.DOC_UNLOAD:
        debug('document %s unloaded', name);
        this.emit('unload', name);
        return;
      case EV.DOC_AUTH:
        this._authorize(conn, name, handshake, reqId > 0 ? { token: data, address: extra || '', peer: reqId } : null);
        return;
      case EV.DOC_STATELESS:
        this.emit('stateless', {
          name,
          connection: conn,
          payload: data,
          reply: (payload) => this.sendStateless(name, conn, payload),
        });
        return;
      default:
        debug('unknown document event %d', kind);
    }
  }

  // `hp` is set for a Hocuspocus document: { token, address (the document as the provider names
  // it), peer (the connection id its stateless events will carry) }.
  _authorize(conn, name, hs, hp) {
    const ctx = {
      name,
      protocol: hp ? 'hocuspocus' : 'y-websocket',
      query: parseQuery(hs.query),
      headers: hs.headers,
      address: hs.address,
      url: hs.url,
    };
    if (hp) {
      ctx.token = hp.token;
      ctx.connection = hp.peer;
    }
    const answer = (mode, reason = '') => this.server._native.docAuth(conn, mode, reason, hp ? hp.address : undefined);
    let result;
    try {
      result = this.opts.authorize(ctx);
    } catch (err) {
      answer(AUTH.REFUSE, (err && err.message) || 'permission denied');
      return;
    }
    Promise.resolve(result).then(
      (r) => {
        if (r === 'read-only' || (r && r.readOnly)) answer(AUTH.READ_ONLY);
        else if (r === true || r === 'read-write' || (r && typeof r === 'object')) answer(AUTH.READ_WRITE);
        else answer(AUTH.REFUSE, 'permission denied');
      },
      (err) => answer(AUTH.REFUSE, (err && err.message) || 'permission denied'),
    );
  }

  _hostLoad(name) {
    const host = this._host;
    let result;
    try {
      result = host.load ? host.load(name) : null;
    } catch (err) {
      result = Promise.reject(err);
    }
    Promise.resolve(result).then(
      (state) => this.server._native.docLoaded(name, state ? toBuffer(state) : null, ''),
      (err) => this.server._native.docLoaded(name, null, `persistence.load failed: ${(err && err.message) || err}`),
    );
  }

  // Debounced persistence.store: called `debounce` ms after the last change, and at least every
  // `maxDebounce` ms while changes keep coming (Hocuspocus's onStoreDocument semantics). The
  // document stays loaded (a handle holds it) until its state is stored.
  _markDirty(name) {
    const host = this._host;
    if (!host.store) return;
    const debounce = host.debounce ?? 2000;
    const maxDebounce = host.maxDebounce ?? 10000;
    let d = this._dirty.get(name);
    if (!d) {
      d = { handle: this.open(name), timer: null, first: Date.now(), running: null, again: false };
      this._dirty.set(name, d);
    }
    if (d.running) {
      d.again = true;
      return;
    }
    clearTimeout(d.timer);
    const wait = Math.max(0, Math.min(debounce, d.first + maxDebounce - Date.now()));
    d.timer = setTimeout(() => this._store(name), wait);
  }

  _store(name) {
    const d = this._dirty.get(name);
    if (!d || d.running) return d ? d.running : undefined;
    clearTimeout(d.timer);
    d.again = false;
    d.running = (async () => {
      try {
        const state = await d.handle.encodeState();
        await this._host.store(name, state);
      } catch (err) {
        debug('persistence.store(%s) failed: %s', name, err && err.message);
        this.emit('error', Object.assign(new Error(`persistence.store failed for "${name}": ${err && err.message}`), { cause: err }));
      }
      d.running = null;
      if (d.again) {
        d.first = Date.now();
        this._markDirty(name);
      } else {
        this._dirty.delete(name);
        d.handle.close();
      }
    })();
    return d.running;
  }

  /** Stores every pending document now (host persistence); used by io.close(). */
  async flush() {
    while (this._dirty.size) {
      await Promise.all([...this._dirty.keys()].map((name) => this._store(name)));
    }
  }

  _closeAll(err) {
    for (const p of this._pending.values()) p.reject(err);
    this._pending.clear();
  }
}

function toBuffer(u) {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

module.exports = { Documents, DocumentHandle };
