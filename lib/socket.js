'use strict';
// A client's connection to one namespace, with socket.io's Socket API. Events from the client
// arrive through Server#_onEvents; everything sent goes to the native core.

const { EventEmitter } = require('node:events');
const { TYPES, RESERVED_EVENTS, encode, encodeSimple } = require('./parser');
const { BroadcastOperator } = require('./broadcast-operator');
const { requestFrom } = require('./engine');
const debug = require('./debug')('collabio:socket');

const emitLocal = EventEmitter.prototype.emit;

// Listener and middleware lists are replaced, never changed in place: a socket that never adds
// one keeps sharing this empty list (an idle connection's socket owns no lists).
const NONE = Object.freeze([]);
const NO_FLAGS = Object.freeze({});
// The disconnect reasons after which a session is kept for recovery (socket.io's list): the
// transport went away, not the client or the application.
const RECOVERABLE_DISCONNECT_REASONS = new Set([
  'transport error',
  'transport close',
  'forced close',
  'ping timeout',
  'server shutting down',
  'forced server close',
]);

class Socket extends EventEmitter {
  /**
   * Per-socket state is created on first use (handshake, data, acks, flags, listener lists): a
   * server holds many idle sockets, and socket.io's API does not depend on when it is created.
   * @param {import('./namespace').Namespace} nsp
   * @param {number} conn native connection id
   * @param {string} id
   * @param {string | object} auth the CONNECT packet's auth payload: JSON text, or already parsed
   */
  constructor(nsp, conn, id, auth) {
    super();
    this.nsp = nsp;
    this.server = nsp.server;
    this.id = id;
    this.connected = false;
    this._conn = conn;
    this._auth = auth;
    this._handshake = undefined;
    this._data = undefined;
    /** @type {Map<number, Function> | undefined} */
    this._acks = undefined;
    this._ackId = 0;
    this._fns = NONE;
    this._anyListeners = NONE;
    this._anyOutgoingListeners = NONE;
    this._flags = undefined;
    /**
     * With connectionStateRecovery: whether this socket came back from a temporary disconnection
     * with its id, rooms, data and the packets it missed (socket.io 4.6+).
     */
    this.recovered = false;
    /** With connectionStateRecovery: the private session id the client sends back to recover. */
    this.pid = undefined;
    this._since = 0; // the packet log's position when the socket connected (session recovery)
  }

  /**
   * The request that opened the connection, as socket.io's `socket.handshake`: headers, time,
   * address, xdomain, secure, issued, url, query, auth. A plain object, built when first read.
   */
  get handshake() {
    if (this._handshake === undefined) this._handshake = this.server._handshake(this._conn, this._auth);
    return this._handshake;
  }

  set handshake(value) {
    this._handshake = value;
  }

  /**
   * The HTTP request that opened the connection, as socket.io's `socket.request` (an
   * IncomingMessage there): method, url, headers, httpVersion and socket.remoteAddress /
   * socket.encrypted. Built from the handshake when first read.
   */
  get request() {
    if (this._request === undefined) this._request = requestFrom(this.handshake);
    return this._request;
  }

  /** Free-form application data, as socket.io's `socket.data`. */
  get data() {
    if (this._data === undefined) this._data = {};
    return this._data;
  }

  set data(value) {
    this._data = value;
  }

  /**
   * The rooms this socket is in: a view of the namespace's adapter (socket.io derives it the same
   * way), so a join from a middleware, a handler or `io.socketsJoin()` shows here at once.
   * @type {Set<string>}
   */
  get rooms() {
    return this.nsp.adapter.socketRooms(this.id) || new Set();
  }

  get disconnected() {
    return !this.connected;
  }

  /** The native connection shared by every namespace socket of one client. */
  get conn() {
    return this.server._engine._connection(this._conn, this.handshake.query.transport);
  }

  /**
   * Sends an event: `socket.emit('hello', 'world', (ack) => …)`. Returns true.
   * Throws for reserved event names (connect, disconnect, …) as socket.io does.
   */
  emit(ev, ...args) {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" is a reserved event name`);
    const flags = this._flags || NO_FLAGS;
    this._flags = undefined;
    if (typeof args[args.length - 1] === 'function') {
      let cb = args.pop();
      if (flags.timeout !== undefined) {
        const user = cb;
        let timer;
        let id;
        const wrapped = (...resp) => {
          clearTimeout(timer);
          user(null, ...resp);
        };
        id = this._emitWithAckId(ev, args, flags, wrapped);
        timer = setTimeout(() => {
          this._acks.delete(id);
          user(new Error('operation has timed out'));
        }, flags.timeout);
        return true;
      }
      this._emitWithAckId(ev, args, flags, cb);
      return true;
    }
    if (!this.connected) return true;
    if (this.pid !== undefined && !flags.volatile) {
      // Connection state recovery: through the adapter, which logs the packet and appends its
      // offset, so that it is replayed if the client misses it (socket.io does the same).
      this._notifyOutgoing(ev, args);
      this.nsp.adapter.broadcast(
        { type: TYPES.EVENT, nsp: this.nsp.name, data: [ev, ...args] },
        { rooms: new Set([this.id]), except: new Set(), flags },
      );
      return true;
    }
    this._notifyOutgoing(ev, args);
    const [packet, attachments] = encode(TYPES.EVENT, this.nsp.name, undefined, [ev, ...args]);
    const compress = flags.compress !== false;
    if (flags.volatile) {
      this.server._native.broadcast(this.nsp.name, [this.id], [], packet, attachments, true, compress, true); // local: this socket is here
    } else {
      this.server._native.send(this._conn, packet, attachments, compress);
    }
    return true;
  }

  _emitWithAckId(ev, args, flags, cb) {
    const id = this._ackId++;
    if (this._acks === undefined) this._acks = new Map();
    this._acks.set(id, cb);
    if (!this.connected) return id;
    this._notifyOutgoing(ev, args);
    const [packet, attachments] = encode(TYPES.EVENT, this.nsp.name, id, [ev, ...args]);
    const compress = flags.compress !== false;
    if (flags.volatile) {
      this.server._native.broadcast(this.nsp.name, [this.id], [], packet, attachments, true, compress, true);
    } else {
      this.server._native.send(this._conn, packet, attachments, compress);
    }
    return id;
  }

  /** Promise form of emit with an ack: resolves with the client's answer, rejects on timeout. */
  emitWithAck(ev, ...args) {
    const timeout = this._flags && this._flags.timeout;
    return new Promise((resolve, reject) => {
      if (timeout !== undefined) {
        args.push((err, value) => (err ? reject(err) : resolve(value)));
      } else {
        args.push((value) => resolve(value));
      }
      this.emit(ev, ...args);
    });
  }

  /** Sets an ack timeout for the next emit: `socket.timeout(1000).emit('q', (err, a) => …)`. */
  timeout(ms) {
    if (this._flags === undefined) this._flags = {};
    this._flags.timeout = ms;
    return this;
  }

  /** The next emit is dropped if the client is not ready to receive it. */
  get volatile() {
    if (this._flags === undefined) this._flags = {};
    this._flags.volatile = true;
    return this;
  }

  /**
   * Whether the next emit may be compressed (permessage-deflate, when the server's
   * perMessageDeflate is on and the client negotiated it): `socket.compress(false).emit('x', big)`.
   */
  compress(compress) {
    if (this._flags === undefined) this._flags = {};
    this._flags.compress = compress;
    return this;
  }

  /** Sends a `message` event, like socket.io's socket.send(). */
  send(...args) {
    this.emit('message', ...args);
    return this;
  }

  write(...args) {
    return this.send(...args);
  }

  /**
   * Joins one room or several: `socket.join(['a', 'b'])`. Works before the socket is connected
   * too (in a middleware): broadcasts reach it from the moment it connects.
   */
  join(rooms) {
    this.nsp.adapter.addAll(this.id, Array.isArray(rooms) ? rooms : [rooms]);
  }

  /** Leaves a room. */
  leave(room) {
    this.nsp.adapter.del(this.id, room);
  }

  /** Broadcast to a room, excluding this socket: `socket.to('room').emit(…)`. */
  to(room) {
    return new BroadcastOperator(this.nsp, new Set(), new Set([this.id])).to(room);
  }

  in(room) {
    return this.to(room);
  }

  except(room) {
    return new BroadcastOperator(this.nsp, new Set(), new Set([this.id])).except(room);
  }

  /** Broadcast to every other socket of the namespace. */
  get broadcast() {
    return new BroadcastOperator(this.nsp, new Set(), new Set([this.id]));
  }

  /** Disconnects this socket from its namespace; with `close`, closes the whole connection. */
  disconnect(close = false) {
    if (!this.connected) return this;
    const packet = encodeSimple(TYPES.DISCONNECT, this.nsp.name);
    if (close) {
      // socket.io: every namespace of the client is disconnected, then the connection closes.
      for (const s of this.server._connSockets(this._conn)) if (s !== this) s.disconnect(false);
    }
    this.server._native.disconnect(this._conn, this.nsp.name, packet, close);
    this._onclose('server namespace disconnect');
    return this;
  }

  // ---- packet middlewares and catch-all listeners (socket.io 4 API) ----

  /** Per-packet middleware: `socket.use(([event, ...args], next) => next())`. */
  use(fn) {
    this._fns = [...this._fns, fn];
    return this;
  }

  onAny(fn) {
    this._anyListeners = [...this._anyListeners, fn];
    return this;
  }

  prependAny(fn) {
    this._anyListeners = [fn, ...this._anyListeners];
    return this;
  }

  offAny(fn) {
    if (!fn) this._anyListeners = NONE;
    else this._anyListeners = this._anyListeners.filter((f) => f !== fn);
    return this;
  }

  listenersAny() {
    return [...this._anyListeners];
  }

  onAnyOutgoing(fn) {
    if (!this._anyOutgoingListeners.length) this.nsp._anyOutgoing++;
    this._anyOutgoingListeners = [...this._anyOutgoingListeners, fn];
    return this;
  }

  prependAnyOutgoing(fn) {
    if (!this._anyOutgoingListeners.length) this.nsp._anyOutgoing++;
    this._anyOutgoingListeners = [fn, ...this._anyOutgoingListeners];
    return this;
  }

  offAnyOutgoing(fn) {
    const had = this._anyOutgoingListeners.length > 0;
    if (!fn) this._anyOutgoingListeners = NONE;
    else this._anyOutgoingListeners = this._anyOutgoingListeners.filter((f) => f !== fn);
    if (had && !this._anyOutgoingListeners.length) this.nsp._anyOutgoing--;
    return this;
  }

  listenersAnyOutgoing() {
    return [...this._anyOutgoingListeners];
  }

  _notifyOutgoing(ev, args) {
    for (const fn of this._anyOutgoingListeners.slice()) fn.call(this, ev, ...args);
  }

  // ---- called by the server ----

  /**
   * After the CONNECT reply was issued: the socket joins the room named after its id, and the
   * native core indexes it with every room it joined before (in a middleware), in one command.
   */
  _onconnect() {
    this.connected = true;
    const adapter = this.nsp.adapter;
    if (this.pid !== undefined && typeof adapter.currentSeq === 'function') this._since = adapter.currentSeq();
    adapter.addAll(this.id, [this.id]);
    this.nsp._attach(this);
    if (this.pid !== undefined && typeof adapter.writeSession === 'function') adapter.writeSession(this);
    this.server._native.join(this._conn, this.nsp.name, [...adapter.socketRooms(this.id)]);
  }

  _onevent(args, ackId) {
    // socket.io passes the ack function whenever the client asked for one (ackId >= 0), whether
    // or not the handler declares it. It answers once, and only while the socket is connected.
    if (ackId >= 0) {
      let sent = false;
      args.push((...resp) => {
        if (sent || !this.connected) return;
        sent = true;
        const [packet, attachments] = encode(TYPES.ACK, this.nsp.name, ackId, resp);
        this.server._native.send(this._conn, packet, attachments);
      });
    }
    if (!this._fns.length) {
      this._dispatch(args);
      return;
    }
    const fns = this._fns.slice();
    const run = (i) => {
      if (i === fns.length) {
        if (this.connected) this._dispatch(args);
        return;
      }
      fns[i](args, (err) => {
        if (err) {
          process.nextTick(() => emitLocal.call(this, 'error', err));
          return;
        }
        run(i + 1);
      });
    };
    run(0);
  }

  /** Runs the catch-all listeners, then the event's own, with `args` ([event, ...args, ack?]). */
  _dispatch(args) {
    // onAny/offAny replace the array, never change it: iterating it needs no copy.
    const any = this._anyListeners;
    for (let i = 0; i < any.length; i++) any[i].apply(this, args);
    emitLocal.apply(this, args);
  }

  _onack(id, args) {
    const cb = this._acks && this._acks.get(id);
    if (!cb) {
      debug('bad ack %d', id);
      return;
    }
    this._acks.delete(id);
    cb(...args);
  }

  _onerror(err) {
    if (this.listenerCount('error')) emitLocal.call(this, 'error', err);
  }

  /**
   * The native side forgets the handshake when the connection closes: a socket that may outlive
   * its connection (closing, refused by a middleware) builds its copy first.
   */
  _keepHandshake() {
    if (this._handshake === undefined) this._handshake = this.server._handshake(this._conn, this._auth);
  }

  _onclose(reason) {
    this._keepHandshake();
    if (!this.connected) {
      // Closed or refused before it connected: rooms it joined in a middleware go too.
      this.nsp.adapter.delAll(this.id);
      return;
    }
    debug('socket %s closing: %s', this.id, reason);
    emitLocal.call(this, 'disconnecting', reason);
    if (this.pid !== undefined && RECOVERABLE_DISCONNECT_REASONS.has(reason)) {
      // Kept for connectionStateRecovery.maxDisconnectionDuration (socket.io's Socket#_onclose).
      const rooms = this.nsp.adapter.socketRooms(this.id);
      this.nsp.adapter.persistSession({
        sid: this.id,
        pid: this.pid,
        rooms: rooms ? [...rooms] : [],
        data: this._data,
        since: this._since,
      });
    } else if (this.pid !== undefined && typeof this.nsp.adapter.dropSession === 'function') {
      this.nsp.adapter.dropSession(this.pid); // written at connect (a Redis adapter): gone for good
    }
    this.connected = false;
    this.nsp._remove(this);
    this.server._removeSocket(this._conn, this.nsp.name);
    this.nsp.adapter.delAll(this.id);
    if (this._acks !== undefined) this._acks.clear();
    emitLocal.call(this, 'disconnect', reason);
  }
}

module.exports = { Socket };
