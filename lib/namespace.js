'use strict';
// A Socket.IO namespace: its sockets, its middlewares, and the broadcast entry points.

const { EventEmitter } = require('node:events');
const { BroadcastOperator } = require('./broadcast-operator');

const emitLocal = EventEmitter.prototype.emit;

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

  /** Runs the middlewares in order; calls done(err) with the first error. */
  _run(socket, done) {
    const fns = this._fns.slice();
    if (!fns.length) return done(null);
    const step = (i) => {
      fns[i](socket, (err) => {
        if (err) return done(err);
        if (i + 1 >= fns.length) return done(null);
        step(i + 1);
      });
    };
    step(0);
  }

  _add(socket) {
    this.sockets.set(socket.id, socket);
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
  }

  _notifyOutgoing(op, ev, args) {
    if (!this._anyOutgoing) return;
    for (const s of op._localSockets()) if (s._anyOutgoingListeners.length) s._notifyOutgoing(ev, args);
  }
}

module.exports = { Namespace };
