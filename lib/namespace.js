'use strict';
// A Socket.IO namespace: its sockets, its middlewares, and the broadcast entry points.

const { EventEmitter } = require('node:events');
const { BroadcastOperator } = require('./broadcast-operator');
const debug = require('./debug')('collabio:namespace');

const emitLocal = EventEmitter.prototype.emit;

// Events serverSideEmit may not send (socket.io's namespace RESERVED_EVENTS): the receiving
// servers' namespaces emit these themselves.
const RESERVED_EVENTS = new Set(['connect', 'connection', 'new_namespace']);

class Namespace extends EventEmitter {
  /**
   * @param {import('./server').Server} server
   * @param {string} name
   */
  constructor(server, name) {
    super();
    this.server = server;
    this.name = name;
    /** @type {Map<string, import('./socket').Socket>} */
    this.sockets = new Map();
    this._fns = [];
    this._anyOutgoing = 0; // sockets with onAnyOutgoing listeners: broadcasts skip the scan when 0
    /** Rooms and broadcast (lib/adapter.js, or the server's `adapter`). @type {import('./adapter').Adapter} */
    this.adapter = undefined;
    this._initAdapter();
  }

  /** Creates this namespace's adapter from the server's adapter constructor (socket.io's _initAdapter). */
  _initAdapter() {
    const previous = this.adapter;
    // socket.io calls it with `new` (a function returning an object gives that object); an arrow
    // function, which cannot be called with `new`, is called plainly.
    const Ctor = this.server._adapter;
    this.adapter = Ctor.prototype !== undefined ? new Ctor(this) : Ctor(this);
    if (previous !== undefined) {
      for (const [id, rooms] of previous.sids) this.adapter.addAll(id, rooms);
      previous.close();
    }
    const ready = this.adapter.init();
    if (ready && typeof ready.catch === 'function') {
      ready.catch((err) => debug('%s: adapter init failed: %s', this.name, err && err.message));
    }
  }

  /** Adds a connection middleware: `nsp.use((socket, next) => next(err?))`. */
  use(fn) {
    this._fns.push(fn);
    return this;
  }

  to(room) {
    return new BroadcastOperator(this).to(room);
  }

  in(room) {
    return this.to(room);
  }

  except(room) {
    return new BroadcastOperator(this).except(room);
  }

  get volatile() {
    return new BroadcastOperator(this).volatile;
  }

  get local() {
    return new BroadcastOperator(this).local;
  }

  compress(compress) {
    return new BroadcastOperator(this).compress(compress);
  }

  timeout(ms) {
    return new BroadcastOperator(this).timeout(ms);
  }

  /** Emits to every socket of the namespace; `nsp.emit('news', data)`. */
  emit(ev, ...args) {
    return new BroadcastOperator(this).emit(ev, ...args);
  }

  emitWithAck(ev, ...args) {
    return new BroadcastOperator(this).emitWithAck(ev, ...args);
  }

  send(...args) {
    this.emit('message', ...args);
    return this;
  }

  write(...args) {
    return this.send(...args);
  }

  fetchSockets() {
    return new BroadcastOperator(this).fetchSockets();
  }

  socketsJoin(room) {
    new BroadcastOperator(this).socketsJoin(room);
  }

  socketsLeave(room) {
    new BroadcastOperator(this).socketsLeave(room);
  }

  disconnectSockets(close = false) {
    new BroadcastOperator(this).disconnectSockets(close);
  }

  /**
   * Emits an event to the other servers of the cluster: `io.serverSideEmit('hello', 'world')`;
   * they receive it with `io.on('hello', …)`. With a callback last, `(err, responses)` gets one
   * answer per other server (the adapter's request timeout bounds the wait). A single server has
   * no others: the adapter warns, as socket.io's does.
   */
  serverSideEmit(ev, ...args) {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" is a reserved event name`);
    this.adapter.serverSideEmit([ev, ...args]);
    return true;
  }

  /** Promise form of serverSideEmit with an ack: resolves with the other servers' answers. */
  serverSideEmitWithAck(ev, ...args) {
    return new Promise((resolve, reject) => {
      args.push((err, responses) => {
        if (err) {
          err.responses = responses;
          reject(err);
        } else {
          resolve(responses);
        }
      });
      this.serverSideEmit(ev, ...args);
    });
  }

  /**
   * An event another server sent with serverSideEmit (called by the adapter). For the main
   * namespace, `io.on(event, …)` listeners hear it too: socket.io's Server forwards its listeners
   * to the main namespace.
   */
  _onServerSideEmit(args) {
    emitLocal.apply(this, args);
    if (this === this.server.sockets) emitLocal.apply(this.server, args);
  }

  /** Runs the middlewares in order; calls done(err) with the first error. */
  _run(socket, done) {
    const fns = this._fns.slice();
    if (!fns.length) return done(null);
    const step = (i) => {
      fns[i](socket, (err) => {
        if (err) {
          debug('%s: middleware %d refused socket %s: %s', this.name, i, socket.id, err && err.message);
          return done(err);
        }
        if (i + 1 >= fns.length) return done(null);
        step(i + 1);
      });
    };
    step(0);
  }

  /** The socket is connected: broadcasts and the adapter's selections see it from now on. */
  _attach(socket) {
    this.sockets.set(socket.id, socket);
  }

  _add(socket) {
    debug('%s: socket %s connected (%d sockets)', this.name, socket.id, this.sockets.size);
    emitLocal.call(this, 'connection', socket);
    emitLocal.call(this, 'connect', socket);
    // io.on('connection') listens to the main namespace, as in socket.io.
    if (this === this.server.sockets) {
      emitLocal.call(this.server, 'connection', socket);
      emitLocal.call(this.server, 'connect', socket);
    }
  }

  _remove(socket) {
    this.sockets.delete(socket.id);
    debug('%s: socket %s removed (%d sockets)', this.name, socket.id, this.sockets.size);
  }

  _notifyOutgoing(op, ev, args) {
    if (!this._anyOutgoing) return;
    for (const s of op._localSockets()) if (s._anyOutgoingListeners.length) s._notifyOutgoing(ev, args);
  }
}

/**
 * A dynamic namespace: `io.of(/^\/room-\d+$/)` or `io.of((name, auth, next) => next(null, ok))`.
 * A client connecting to a name that no namespace has yet is offered to the parent namespaces in
 * creation order; the first that accepts creates a child namespace with the parent's middlewares
 * and 'connection' listeners. `parent.emit()` reaches every child.
 */
class ParentNamespace extends Namespace {
  constructor(server, match) {
    super(server, '/_' + ParentNamespace.count++);
    if (match instanceof RegExp) {
      const re = match;
      this._match = (name, _auth, next) => next(null, re.test(name));
    } else {
      this._match = match;
    }
    /** @type {Set<Namespace>} */
    this.children = new Set();
  }

  _createChild(name) {
    const nsp = new Namespace(this.server, name);
    for (const fn of this._fns) nsp.use(fn);
    for (const l of this.listeners('connect')) nsp.on('connect', l);
    for (const l of this.listeners('connection')) nsp.on('connection', l);
    this.children.add(nsp);
    if (this.server.opts.cleanupEmptyChildNamespaces) {
      // As socket.io 4.6+: a child namespace goes with its last socket (its adapter is closed); a
      // client connecting to the name later creates it again through this parent.
      const remove = nsp._remove;
      nsp._remove = (socket) => {
        remove.call(nsp, socket);
        if (nsp.sockets.size !== 0 || this.server._nsps.get(name) !== nsp) return;
        debug('closing child namespace %s', name);
        nsp.adapter.close();
        this.server._nsps.delete(name);
        this.children.delete(nsp);
      };
    }
    this.server._nsps.set(name, nsp);
    EventEmitter.prototype.emit.call(this.server, 'new_namespace', nsp);
    return nsp;
  }

  emit(ev, ...args) {
    for (const nsp of this.children) nsp.emit(ev, ...args);
    return true;
  }

  fetchSockets() {
    // As socket.io: a parent namespace has no sockets of its own.
    throw new Error('fetchSockets() is not supported on parent namespaces');
  }
}
ParentNamespace.count = 0;

/**
 * Offers `name` to the parent namespaces in order; calls done(namespace) with the namespace to
 * use, or done(null) when none accepts (socket.io Server#_checkNamespace).
 */
function matchParentNamespace(server, name, auth, done) {
  const parents = [...server._parentNsps.values()];
  const step = (i) => {
    if (i >= parents.length) return done(null);
    let answered = false;
    parents[i]._match(name, auth, (err, allow) => {
      if (answered) return;
      answered = true;
      if (err || !allow) return step(i + 1);
      const existing = server._nsps.get(name);
      done(existing || parents[i]._createChild(name));
    });
  };
  step(0);
}

module.exports = { Namespace, ParentNamespace, matchParentNamespace };
