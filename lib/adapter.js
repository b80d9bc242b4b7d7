'use strict';
// A namespace's adapter, as socket.io-adapter's in-memory Adapter: the one place that knows which
// socket is in which room, and the one door to broadcast through. `socket.rooms` is a view of
// `sids`; BroadcastOperator and Socket never talk to the native core about rooms themselves.
//
// Rooms are kept twice, on purpose and in one direction only. This class is the truth (JavaScript
// must answer `socket.rooms` synchronously). The native core keeps an index derived from it, for
// the fan-out it does on its I/O threads: every change here that concerns a connected socket is
// issued to the core as a command right away, and commands run in call order, so a broadcast
// issued after a join always sees the join. A socket that joins before it is connected (in a
// middleware) is indexed when it connects, with all its rooms at once (Socket#_onconnect).
//
// Custom adapters (`io.adapter(MyAdapter)`, the `adapter` server option) extend this class and
// call `super` in the methods they override.

const { EventEmitter } = require('node:events');
const { TYPES, encode } = require('./parser');
const debug = require('./debug')('collabio:adapter');

class Adapter extends EventEmitter {
  /** @param {import('./namespace').Namespace} nsp */
  constructor(nsp) {
    super();
    this.nsp = nsp;
    /** Room -> ids of the sockets in it. @type {Map<string, Set<string>>} */
    this.rooms = new Map();
    /** Socket id -> its rooms. @type {Map<string, Set<string>>} */
    this.sids = new Map();
  }

  /** Called once the namespace has its adapter; an adapter that connects somewhere starts here. */
  init() {}

  /** Called when the adapter is replaced or the server closes. */
  close() {}

  /** How many servers share this namespace's rooms: 1 for a single process. */
  serverCount() {
    return Promise.resolve(1);
  }

  /**
   * Adds socket `id` to `rooms`, emitting 'create-room' (room) for a new room and 'join-room'
   * (room, id) for every room the socket was not in yet.
   * @param {string} id
   * @param {Iterable<string>} rooms
   */
  addAll(id, rooms) {
    let mine = this.sids.get(id);
    if (mine === undefined) {
      mine = new Set();
      this.sids.set(id, mine);
    }
    let added;
    for (const room of rooms) {
      if (mine.has(room)) continue;
      mine.add(room);
      let members = this.rooms.get(room);
      if (members === undefined) {
        members = new Set();
        this.rooms.set(room, members);
        this.emit('create-room', room);
      }
      members.add(id);
      this.emit('join-room', room, id);
      (added || (added = [])).push(room);
    }
    if (added === undefined) return;
    const conn = this._connOf(id);
    if (conn !== undefined) this.nsp.server._native.join(conn, this.nsp.name, added);
  }

  /** Removes socket `id` from `room` ('leave-room', then 'delete-room' if it was the last). */
  del(id, room) {
    if (!this._del(room, id)) return;
    const mine = this.sids.get(id);
    if (mine !== undefined) mine.delete(room);
    const conn = this._connOf(id);
    if (conn !== undefined) this.nsp.server._native.leave(conn, this.nsp.name, room);
  }

  /**
   * Removes socket `id` from every room. Only called when the socket leaves the namespace: the
   * core forgets a departing socket's rooms with its disconnect, so nothing is sent to it here.
   */
  delAll(id) {
    const mine = this.sids.get(id);
    if (mine === undefined) return;
    this.sids.delete(id);
    for (const room of mine) this._del(room, id);
  }

  _del(room, id) {
    const members = this.rooms.get(room);
    if (members === undefined || !members.delete(id)) return false;
    this.emit('leave-room', room, id);
    if (members.size === 0 && this.rooms.delete(room)) this.emit('delete-room', room);
    return true;
  }

  /** The rooms of socket `id` (the live set), or undefined when it is in none. */
  socketRooms(id) {
    return this.sids.get(id);
  }

  /** Ids of the sockets in any of `rooms` (every socket when empty). */
  sockets(rooms) {
    const out = new Set();
    this._apply({ rooms, except: new Set() }, (socket) => out.add(socket.id));
    return Promise.resolve(out);
  }

  /** Every room name of this namespace (one server: the local rooms). */
  allRooms() {
    return Promise.resolve(new Set(this.rooms.keys()));
  }

  /**
   * Sends `packet` ({ type, nsp, data: [event, ...args] }) to the sockets `opts` selects:
   * opts.rooms (any of; all sockets when empty), opts.except (none of), opts.flags.volatile,
   * opts.flags.compress (false: never permessage-deflate compressed), opts.flags.local (a cluster
   * adapter keeps it on this server).
   * Encoded once here; the core frames it once and queues the same buffers for every recipient.
   */
  broadcast(packet, opts) {
    const [text, attachments] = encode(packet.type, this.nsp.name, packet.id, packet.data);
    const flags = opts.flags || {};
    if (debug.enabled) {
      debug('%s: broadcast to %j except %j%s (%d bytes)', this.nsp.name, [...opts.rooms], [...opts.except], flags.volatile ? ' volatile' : '', text.length);
    }
    this._send(text, attachments, opts);
  }

  /** Has the core fan out an encoded packet to the sockets `opts` selects (see broadcast()). */
  _send(text, attachments, opts) {
    const flags = opts.flags || {};
    this.nsp.server._native.broadcast(this.nsp.name, [...opts.rooms], [...opts.except], text, attachments, !!flags.volatile,
      flags.compress !== false, !!flags.local);
  }

  /**
   * Broadcast whose recipients answer: every recipient gets its own ack id, so this goes socket by
   * socket. `clientCountCallback(n)` says how many answers to wait for; `ack(response)` is called
   * for each.
   */
  broadcastWithAck(packet, opts, clientCountCallback, ack) {
    const targets = [];
    this._apply(opts, (socket) => targets.push(socket));
    clientCountCallback(targets.length);
    const [event, ...args] = packet.data;
    const flags = opts.flags || {};
    for (const socket of targets) socket._emitWithAckId(event, args, flags, (response) => ack(response));
  }

  /** The local sockets `opts` selects (a server-side Socket each). */
  fetchSockets(opts) {
    const out = [];
    this._apply(opts, (socket) => out.push(socket));
    return Promise.resolve(out);
  }

  /** Makes the sockets `opts` selects join `rooms`. */
  addSockets(opts, rooms) {
    this._apply(opts, (socket) => socket.join(rooms));
  }

  /** Makes the sockets `opts` selects leave `rooms`. */
  delSockets(opts, rooms) {
    this._apply(opts, (socket) => {
      for (const r of rooms) socket.leave(r);
    });
  }

  /** Disconnects the sockets `opts` selects; `close` closes their connections too. */
  disconnectSockets(opts, close) {
    this._apply(opts, (socket) => socket.disconnect(close));
  }

  /** Emits to the other servers' namespace; one server has none (socket.io-adapter warns too). */
  serverSideEmit(_packet) {
    console.warn('this adapter does not support the serverSideEmit() functionality');
  }

  /**
   * Calls fn(socket) for every connected socket `opts` selects (socket.io-adapter's apply): in
   * any of opts.rooms (every socket when empty) and in none of opts.except. A snapshot is taken
   * first, so `fn` may join, leave or disconnect.
   */
  _apply(opts, fn) {
    const rooms = opts.rooms;
    const except = this._excluded(opts.except);
    const sockets = this.nsp.sockets;
    const chosen = [];
    if (rooms && rooms.size) {
      const seen = new Set();
      for (const room of rooms) {
        const members = this.rooms.get(room);
        if (members === undefined) continue;
        for (const id of members) {
          if (seen.has(id) || except.has(id)) continue;
          seen.add(id);
          const socket = sockets.get(id);
          if (socket !== undefined) chosen.push(socket);
        }
      }
    } else {
      for (const [id, socket] of sockets) if (!except.has(id)) chosen.push(socket);
    }
    for (const socket of chosen) fn(socket);
  }

  _excluded(except) {
    const ids = new Set();
    if (!except) return ids;
    for (const room of except) {
      const members = this.rooms.get(room);
      if (members !== undefined) for (const id of members) ids.add(id);
    }
    return ids;
  }

  /** The native connection of socket `id` once it is connected (the core indexes only those). */
  _connOf(id) {
    const socket = this.nsp.sockets.get(id);
    return socket !== undefined ? socket._conn : undefined;
  }
}

module.exports = { Adapter };
