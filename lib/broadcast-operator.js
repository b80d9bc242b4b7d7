'use strict';
// An immutable builder for broadcasts, as socket.io's BroadcastOperator: every modifier returns a
// new operator. The packet is encoded once here and fanned out by the native core.

const { TYPES, RESERVED_EVENTS, encode } = require('./parser');
const debug = require('./debug')('collabio:broadcast');

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

  /** Accepted for compatibility; per-message compression is off (socket.io's default). */
  compress(compress) {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, compress });
  }

  /** Drops the packet for clients that are not ready to receive it. */
  get volatile() {
    return new BroadcastOperator(this.nsp, this.rooms, this.exceptRooms, { ...this.flags, volatile: true });
  }

  /** Only this server (there is no multi-server adapter yet, so this changes nothing). */
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
    const [packet, attachments] = encode(TYPES.EVENT, this.nsp.name, undefined, [ev, ...args]);
    if (debug.enabled) {
      debug('%s: emit %j to %j except %j%s (%d bytes)', this.nsp.name, ev, [...this.rooms], [...this.exceptRooms], this.flags.volatile ? ' volatile' : '', packet.length);
    }
    this.nsp._notifyOutgoing(this, ev, args);
    this.nsp.server._native.broadcast(
      this.nsp.name,
      [...this.rooms],
      [...this.exceptRooms],
      packet,
      attachments,
      !!this.flags.volatile,
    );
    return true;
  }

  /** Promise form of emit with acks: resolves with the responses, rejects on timeout. */
  emitWithAck(ev, ...args) {
    return new Promise((resolve, reject) => {
      args.push((err, responses) => (err ? reject(err) : resolve(responses)));
      this.emit(ev, ...args);
    });
  }

  _emitWithAcks(ev, args, cb) {
    const targets = this._localSockets();
    const timeout = this.flags.timeout;
    const responses = [];
    let pending = targets.length;
    let done = false;
    let timer;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cb(err, responses);
    };
    if (timeout !== undefined) {
      timer = setTimeout(() => finish(new Error('operation has timed out')), timeout);
    }
    for (const socket of targets) {
      socket._emitWithAckId(ev, args, !!this.flags.volatile, (...resp) => {
        if (done) return;
        responses.push(resp[0]);
        if (--pending === 0) finish(null);
      });
    }
    if (pending === 0) Promise.resolve().then(() => finish(null));
  }

  _localSockets() {
    const out = [];
    for (const socket of this.nsp.sockets.values()) {
      if (this.rooms.size) {
        let inRoom = false;
        for (const r of this.rooms) if (socket.rooms.has(r)) inRoom = true;
        if (!inRoom) continue;
      }
      let excluded = false;
      for (const r of this.exceptRooms) if (socket.rooms.has(r)) excluded = true;
      if (!excluded) out.push(socket);
    }
    return out;
  }

  /** Resolves with the matching sockets (all are local to this server). */
  fetchSockets() {
    return Promise.resolve(this._localSockets());
  }

  /** Makes the matching sockets join `room`. */
  socketsJoin(room) {
    for (const s of this._localSockets()) s.join(room);
  }

  /** Makes the matching sockets leave `room`. */
  socketsLeave(room) {
    for (const r of Array.isArray(room) ? room : [room]) for (const s of this._localSockets()) s.leave(r);
  }

  /** Disconnects the matching sockets; `close` also closes their connections. */
  disconnectSockets(close = false) {
    for (const s of this._localSockets()) s.disconnect(close);
  }
}

module.exports = { BroadcastOperator };
