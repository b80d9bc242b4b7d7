'use strict';
// An immutable builder for broadcasts, as socket.io's BroadcastOperator: every modifier returns a
// new operator. What it selects goes to the namespace's adapter (lib/adapter.js), which encodes the
// packet once and has the native core fan it out.

const { TYPES, RESERVED_EVENTS } = require('./parser');

class BroadcastOperator {
  /**
   * @param {import('./namespace').Namespace} nsp
   * @param {Set<string>} [rooms]
   * @param {Set<string>} [exceptRooms]
   * @param {{volatile?: boolean, timeout?: number, local?: boolean, compress?: boolean}} [flags]
   */
  constructor(nsp, rooms = new Set(), exceptRooms = new Set(), flags = {}) {
    this.nsp = nsp;
    this.rooms = rooms;
    this.exceptRooms = exceptRooms;
    this.flags = flags;
  }

  /** Targets a room or rooms: `io.to('room1').to(['room2', 'room3']).emit('hi')`. */
  to(room) {
    const rooms = new Set(this.rooms);
    for (const r of Array.isArray(room) ? room : [room]) rooms.add(r);
    return new BroadcastOperator(this.nsp, rooms, this.exceptRooms, this.flags);
  }

  /** Alias of to(). */
  in(room) {
    return this.to(room);
  }

  /** Excludes a room or rooms: `io.except('muted').emit('news')`. */
  except(room) {
    const except = new Set(this.exceptRooms);
    for (const r of Array.isArray(room) ? room : [room]) except.add(r);
    return new BroadcastOperator(this.nsp, this.rooms, except, this.flags);
  }

  /** Whether the emit may be compressed (permessage-deflate): `io.compress(false).emit('x', big)`. */
  compress(compress) {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, compress });
  }

  /** Drops the packet for clients that are not ready to receive it. */
  get volatile() {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, volatile: true });
  }

  /** Only this server's sockets: a cluster adapter does not forward the broadcast. */
  get local() {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, local: true });
  }

  /** Sets the ack timeout for emit with a callback: `io.timeout(1000).emit('q', (err, answers) => …)`. */
  timeout(ms) {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, timeout: ms });
  }

  /**
   * Emits to every matching socket. With a callback as last argument, waits for every recipient's
   * ack and calls `cb(err, responses)`.
   */
  emit(ev, ...args) {
    if (RESERVED_EVENTS.has(ev)) throw new Error(`"${String(ev)}" is a reserved event name`);
    if (typeof args[args.length - 1] === 'function') {
      const cb = args.pop();
      this._emitWithAcks(ev, args, cb);
      return true;
    }
    this.nsp._notifyOutgoing(this, ev, args);
    this.nsp.adapter.broadcast({ type: TYPES.EVENT, nsp: this.nsp.name, data: [ev, ...args] }, this._opts());
    return true;
  }

  /** Promise form of emit with acks: resolves with the responses, rejects on timeout. */
  emitWithAck(ev, ...args) {
    return new Promise((resolve, reject) => {
      args.push((err, responses) => (err ? reject(err) : resolve(responses)));
      this.emit(ev, ...args);
    });
  }

  /** What the adapter selects by: { rooms, except, flags }, as socket.io passes it. */
  _opts() {
    return { rooms: this.rooms, except: this.exceptRooms, flags: this.flags };
  }

  // As socket.io's BroadcastOperator: done when every server has said how many of its clients
  // were asked and that many answers are in (or at the timeout, with the answers so far).
  _emitWithAcks(ev, args, cb) {
    const adapter = this.nsp.adapter;
    const timeout = this.flags.timeout;
    const responses = [];
    let expectedServers = -1;
    let servers = 0;
    let expectedClients = 0;
    let done = false;
    let timer;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb(err, responses);
    };
    const check = () => {
      if (expectedServers === servers && responses.length === expectedClients) finish(null);
    };
    if (timeout !== undefined) {
      timer = setTimeout(() => finish(new Error('operation has timed out')), timeout);
    }
    // Each local recipient tells its onAnyOutgoing listeners itself (Socket#_emitWithAckId).
    adapter.broadcastWithAck(
      { type: TYPES.EVENT, nsp: this.nsp.name, data: [ev, ...args] },
      this._opts(),
      (clients) => {
        expectedClients += clients;
        servers++;
        check();
      },
      (response) => {
        if (done) return;
        responses.push(response);
        check();
      },
    );
    adapter.serverCount().then(
      (n) => {
        expectedServers = n;
        check();
      },
      (err) => finish(err), // a cluster adapter that cannot count its servers (Redis unreachable)
    );
  }

  /** The connected sockets of this server that match (for onAnyOutgoing listeners). */
  _localSockets() {
    const out = [];
    this.nsp.adapter._apply(this._opts(), (socket) => out.push(socket));
    return out;
  }

  /** Resolves with the matching sockets (with a cluster adapter, those of every server). */
  fetchSockets() {
    return this.nsp.adapter.fetchSockets(this._opts());
  }

  /** Makes the matching sockets join `room`. */
  socketsJoin(room) {
    this.nsp.adapter.addSockets(this._opts(), Array.isArray(room) ? room : [room]);
  }

  /** Makes the matching sockets leave `room`. */
  socketsLeave(room) {
    this.nsp.adapter.delSockets(this._opts(), Array.isArray(room) ? room : [room]);
  }

  /** Disconnects the matching sockets; `close` also closes their connections. */
  disconnectSockets(close = false) {
    this.nsp.adapter.disconnectSockets(this._opts(), close);
  }
}

module.exports = { BroadcastOperator };
