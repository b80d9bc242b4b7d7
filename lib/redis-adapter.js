'use strict';
// The Redis adapter: collabio nodes, and stock socket.io nodes running @socket.io/redis-adapter 8.x,
// on one Redis behave as one server.
//
//   const { Server, createRedisAdapter } = require('collabio');
//   const io = new Server({ adapter: createRedisAdapter({ url: 'redis://127.0.0.1:6379' }) });
//   // or: io.adapter(createRedisAdapter({ url, key: 'socket.io', mode: 'sharded', requestsTimeout: 5000 }))
//
// Two halves. The native core (native/sio/redis_adapter.h) owns the Redis connections on its I/O
// threads and does the hot path itself: it publishes every broadcast that is not `local`, and fans
// out the broadcasts of other nodes in C++, without entering JavaScript. This file does the rest, as
// @socket.io/redis-adapter's RedisAdapter (mode 'classic') and socket.io-adapter's ClusterAdapter
// under its ShardedRedisAdapter (mode 'sharded'): fetchSockets, socketsJoin/Leave,
// disconnectSockets, serverSideEmit with acks, broadcasts with acks, allRooms, server counting.
// Its messages arrive decoded (JSON text with binary placeholders + attachments) and leave through
// the core's publish command. Formats: socketio/redis_wire.h.
//
// Every request waits at most `requestsTimeout` ms, server counting included (a Redis that is down
// answers nothing), and a node that died is not counted: Redis drops its subscriptions with it.

const crypto = require('node:crypto');
const { Adapter } = require('./adapter');
const { TYPES, deconstruct, reconstruct, hasBinary } = require('./parser');
const { RedisRecovery, LogReader } = require('./redis-recovery');
const debug = require('./debug')('collabio:redis-adapter');

// @socket.io/redis-adapter's RequestType (classic) and socket.io-adapter's MessageType (sharded).
const RequestType = {
  SOCKETS: 0,
  ALL_ROOMS: 1,
  REMOTE_JOIN: 2,
  REMOTE_LEAVE: 3,
  REMOTE_DISCONNECT: 4,
  REMOTE_FETCH: 5,
  SERVER_SIDE_EMIT: 6,
  BROADCAST: 7,
  BROADCAST_CLIENT_COUNT: 8,
  BROADCAST_ACK: 9,
};
const MessageType = {
  INITIAL_HEARTBEAT: 1,
  HEARTBEAT: 2,
  BROADCAST: 3,
  SOCKETS_JOIN: 4,
  SOCKETS_LEAVE: 5,
  DISCONNECT_SOCKETS: 6,
  FETCH_SOCKETS: 7,
  FETCH_SOCKETS_RESPONSE: 8,
  SERVER_SIDE_EMIT: 9,
  SERVER_SIDE_EMIT_RESPONSE: 10,
  BROADCAST_CLIENT_COUNT: 11,
  BROADCAST_ACK: 12,
  ADAPTER_CLOSE: 13,
};

const { eventKinds: EV } = require('./constants');

function randomId() {
  return crypto.randomBytes(8).toString('hex');
}

/** A socket of another node, as socket.io's RemoteSocket: its details, and commands that go through the cluster. */
class RemoteSocket {
  constructor(adapter, details) {
    this.id = details.id;
    this.handshake = details.handshake;
    this.rooms = new Set(details.rooms);
    this.data = details.data;
    this._adapter = adapter;
  }

  _op() {
    return { rooms: new Set([this.id]), except: new Set(), flags: {} };
  }

  emit(ev, ...args) {
    this._adapter.broadcast({ type: TYPES.EVENT, nsp: this._adapter.nsp.name, data: [ev, ...args] }, this._op());
    return true;
  }

  join(room) {
    return this._adapter.addSockets(this._op(), Array.isArray(room) ? room : [room]);
  }

  leave(room) {
    return this._adapter.delSockets(this._op(), Array.isArray(room) ? room : [room]);
  }

  disconnect(close = false) {
    this._adapter.disconnectSockets(this._op(), close);
    return this;
  }
}

/**
 * What one server shares between its namespaces' adapters: the native adapter's configuration, this
 * server's uid on the channels, and the routing of the core's adapter events.
 */
class RedisCluster {
  constructor(server, config) {
    this.server = server;
    this.config = config;
    this.uid = randomId();
    /** @type {Map<string, RedisAdapter>} */
    this.adapters = new Map();
    this._counts = new Map(); // request id -> { resolve, reject, timer }
    this._nextCount = 1;
    this._commands = new Map(); // command id -> { resolve, reject }
    this._nextCommand = 1;
    this._logReader = undefined;
    this.badMessages = 0; // requests and responses that did not parse as JSON here
    this.recoveryErrors = 0; // connection state recovery's writes to Redis that failed (lib/redis-recovery.js)
    server._native.setRedisAdapter({ url: config.url, key: config.key, mode: config.mode, uid: this.uid, tls: config.tls });
  }

  /** The number of servers of namespace `nsp` (this one included). */
  serverCount(nsp) {
    return new Promise((resolve, reject) => {
      const id = this._nextCount++;
      const timer = setTimeout(() => {
        this._counts.delete(id);
        reject(new Error('timeout reached while counting the servers (is Redis reachable?)'));
      }, this.config.requestsTimeout);
      this._counts.set(id, { resolve, reject, timer });
      this.server._native.adapterServerCount(nsp, id);
    });
  }

  /**
   * Runs one Redis command on the native adapter's connection (`blocking`: on its connection for
   * blocking reads); resolves with the reply (strings, numbers, arrays, null), rejects with an
   * error reply or a connection failure.
   */
  command(args, blocking = false) {
    return new Promise((resolve, reject) => {
      const id = this._nextCommand++;
      this._commands.set(id, { resolve, reject });
      this.server._native.adapterCommand(args.map(String), id, blocking);
    });
  }

  /** The packet-log reader of connection state recovery (lib/redis-recovery.js), made on first use. */
  logReader() {
    if (this._logReader === undefined) this._logReader = new LogReader(this);
    return this._logReader;
  }

  onEvent(kind, nspName, data, ackId, attachments, extra) {
    if (kind === EV.ADAPTER_COMMAND_REPLY) {
      const waiting = this._commands.get(ackId);
      if (waiting === undefined) return;
      this._commands.delete(ackId);
      if (extra) return waiting.reject(new Error(extra));
      let reply;
      try {
        reply = JSON.parse(data);
      } catch (err) {
        return waiting.reject(new Error(`collabio: unreadable Redis reply: ${err.message}`));
      }
      return waiting.resolve(reply);
    }
    if (kind === EV.ADAPTER_REPLY) {
      const waiting = this._counts.get(ackId);
      if (waiting === undefined) return;
      this._counts.delete(ackId);
      clearTimeout(waiting.timer);
      if (extra) waiting.reject(new Error(`collabio: counting the servers failed: ${extra}`));
      else waiting.resolve(Number(data));
      return;
    }
    if (extra === 'bad') {
      debug('dropped a message on %s: %s', nspName, data);
      return;
    }
    const adapter = this.adapters.get(nspName);
    if (adapter === undefined) return;
    let message;
    try {
      message = JSON.parse(data);
    } catch (err) {
      this.badMessages++;
      debug('dropped a message on %s: %s', nspName, err.message);
      return;
    }
    if (message === null || typeof message !== 'object') {
      this.badMessages++;
      debug('dropped a message on %s: not an object', nspName);
      return;
    }
    if (attachments) message = reconstruct(message, attachments);
    try {
      adapter._onClusterMessage(extra, message);
    } catch (err) {
      this.badMessages++;
      debug('dropped a message on %s: %s', nspName, err.message);
    }
  }

  close() {
    for (const { timer, reject } of this._counts.values()) {
      clearTimeout(timer);
      reject(new Error('the adapter was closed'));
    }
    this._counts.clear();
    for (const { reject } of this._commands.values()) reject(new Error('the adapter was closed'));
    this._commands.clear();
    if (this._logReader !== undefined) this._logReader.close();
  }
}

/** The request options socket.io's cluster adapters send: { rooms: [...], except: [...] }. */
function encodeOptions(opts) {
  return { rooms: [...(opts.rooms || [])], except: [...(opts.except || [])], flags: opts.flags || {} };
}

function decodeOptions(opts) {
  return { rooms: new Set((opts && opts.rooms) || []), except: new Set((opts && opts.except) || []), flags: (opts && opts.flags) || {} };
}

function details(socket) {
  const { sessionStore, ...handshake } = socket.handshake; // as socket.io: may hold circular references
  return { id: socket.id, handshake, rooms: [...socket.rooms], data: socket.data };
}

class RedisAdapter extends Adapter {
  constructor(nsp, config) {
    super(nsp);
    const server = nsp.server;
    if (!server._redisCluster || server._redisCluster.config !== config) {
      if (server._redisCluster) server._redisCluster.close();
      server._redisCluster = new RedisCluster(server, config);
    }
    this._cluster = server._redisCluster;
    this.uid = this._cluster.uid;
    this.requestsTimeout = config.requestsTimeout;
    this.sharded = config.mode === 'sharded';
    const key = config.key;
    if (this.sharded) {
      this.channel = `${key}#${nsp.name}#`;
    } else {
      this.requestChannel = `${key}-request#${nsp.name}#`;
      this.responseChannel = `${key}-response#${nsp.name}#`;
    }
    this.requests = new Map();
    this.ackRequests = new Map();
    // Connection state recovery across the nodes: sessions and the packet log in Redis.
    const csr = server.opts.connectionStateRecovery;
    this._recovery = csr ? new RedisRecovery(this, csr) : undefined;
    if (this.sharded) {
      // The sharded adapter's "dynamic" mode: a room that is not a socket id has a channel of its
      // own, which only the nodes that have the room subscribe to.
      this.on('create-room', (room) => {
        if (!this.sids.has(room)) this._native().adapterRoom(nsp.name, room, true);
      });
      this.on('delete-room', (room) => {
        if (!this.sids.has(room)) this._native().adapterRoom(nsp.name, room, false);
      });
    }
  }

  _native() {
    return this.nsp.server._native;
  }

  _current() {
    return this.nsp.server._redisCluster === this._cluster;
  }

  init() {
    this._cluster.adapters.set(this.nsp.name, this);
    this._native().adapterNamespace(this.nsp.name, true);
    if (this._recovery) this._recovery.init();
  }

  close() {
    if (this._recovery) this._recovery.close();
    for (const r of this.requests.values()) clearTimeout(r.timeout);
    this.requests.clear();
    this.ackRequests.clear();
    if (!this._current() || this._cluster.adapters.get(this.nsp.name) !== this) return;
    this._cluster.adapters.delete(this.nsp.name);
    this._native().adapterNamespace(this.nsp.name, false);
  }

  serverCount() {
    return this._cluster.serverCount(this.nsp.name);
  }

  // ---- publishing ----

  /** Publishes `message` on `channel`: JSON, or notepack's msgpack (binaries inline) when `msgpack`. */
  _publish(channel, message, msgpack) {
    if (!this._current()) return;
    if (msgpack) {
      const attachments = [];
      const plain = deconstruct(message, attachments);
      this._native().adapterPublish(channel, JSON.stringify(plain), attachments, true);
    } else {
      this._native().adapterPublish(channel, JSON.stringify(message), [], false);
    }
  }

  /** A request (classic) or a message (sharded) to every other node. */
  _request(body) {
    if (this.sharded) {
      const message = { type: body.type, data: body.data, uid: this.uid, nsp: this.nsp.name };
      this._publish(this.channel, message, this._mayHaveBinary(body.type) && hasBinary(body.data));
    } else {
      this._publish(this.requestChannel, { uid: this.uid, ...body }, body.type === RequestType.BROADCAST);
    }
  }

  _respond(requesterUid, body, msgpack) {
    if (this.sharded) {
      const message = { type: body.type, data: body.data, uid: this.uid, nsp: this.nsp.name };
      this._publish(`${this.channel}${requesterUid}#`, message, this._mayHaveBinary(body.type) && hasBinary(body.data));
    } else {
      this._publish(this.responseChannel, body, msgpack);
    }
  }

  _mayHaveBinary(type) {
    return (
      type === MessageType.BROADCAST ||
      type === MessageType.BROADCAST_ACK ||
      type === MessageType.FETCH_SOCKETS_RESPONSE ||
      type === MessageType.SERVER_SIDE_EMIT ||
      type === MessageType.SERVER_SIDE_EMIT_RESPONSE
    );
  }

  // ---- connection state recovery (lib/redis-recovery.js; the API of SessionAwareAdapter) ----

  broadcast(packet, opts) {
    const flags = opts.flags || {};
    // Logged as socket.io logs: events without an ack, not volatile, not local.
    if (this._recovery && packet.type === TYPES.EVENT && packet.id === undefined && !flags.volatile && !flags.local) {
      this._recovery.append(packet, opts);
      return;
    }
    super.broadcast(packet, opts);
  }

  addAll(id, rooms) {
    super.addAll(id, rooms);
    if (this._recovery) this._sessionChanged(id);
  }

  del(id, room) {
    super.del(id, room);
    if (this._recovery) this._sessionChanged(id);
  }

  _sessionChanged(id) {
    const socket = this.nsp.sockets.get(id);
    if (socket !== undefined && socket.connected) this._recovery.writeSession(socket);
  }

  /** A socket connected: its session is in Redis from now on (so a crash of this node loses it not). */
  writeSession(socket) {
    if (this._recovery) this._recovery.writeSession(socket);
  }

  persistSession(session) {
    if (this._recovery) this._recovery.persistSession(session);
  }

  dropSession(pid) {
    if (this._recovery) this._recovery.dropSession(pid);
  }

  restoreSession(pid, offset) {
    return this._recovery ? this._recovery.restoreSession(pid, offset) : null;
  }

  currentSeq() {
    return this._recovery ? this._recovery.currentSeq() : undefined;
  }

  missedAfter(seq, rooms) {
    return this._recovery ? this._recovery.missedAfter(seq, rooms) : [];
  }

  // ---- the cluster's operations (socket.io's adapter API) ----

  broadcastWithAck(packet, opts, clientCountCallback, ack) {
    packet.nsp = this.nsp.name;
    const flags = opts.flags || {};
    if (!flags.local) {
      const requestId = randomId();
      this.ackRequests.set(requestId, { clientCountCallback, ack });
      setTimeout(() => this.ackRequests.delete(requestId), flags.timeout === undefined ? this.requestsTimeout : flags.timeout).unref();
      if (this.sharded) {
        this._request({ type: MessageType.BROADCAST, data: { packet: { type: packet.type, data: packet.data }, requestId, opts: encodeOptions(opts) } });
      } else {
        this._request({ requestId, type: RequestType.BROADCAST, packet, opts: encodeOptions(opts) });
      }
    }
    super.broadcastWithAck(packet, opts, clientCountCallback, ack);
  }

  async fetchSockets(opts) {
    const local = await super.fetchSockets(opts);
    if (opts.flags && opts.flags.local) return local;
    const servers = await this.serverCount();
    if (servers <= 1) return local;
    const requestId = randomId();
    return this._collect(requestId, servers - 1, local, 'fetchSockets', () => {
      if (this.sharded) this._request({ type: MessageType.FETCH_SOCKETS, data: { opts: encodeOptions(opts), requestId } });
      else this._request({ requestId, type: RequestType.REMOTE_FETCH, opts: encodeOptions(opts) });
    }, (sockets) => sockets.map((s) => (s instanceof RemoteSocket || typeof s.join === 'function' ? s : new RemoteSocket(this, s))));
  }

  async allRooms() {
    const local = new Set(this.rooms.keys());
    if (this.sharded) return local; // the sharded adapter has no such request (socket.io-adapter)
    const servers = await this.serverCount();
    if (servers <= 1) return local;
    const requestId = randomId();
    return this._collect(requestId, servers - 1, local, 'allRooms', () => {
      this._request({ requestId, type: RequestType.ALL_ROOMS });
    });
  }

  /**
   * Publishes a request and gathers `expected` answers into `into` (an array or a Set); rejects
   * after requestsTimeout with what came in so far.
   */
  _collect(requestId, expected, into, what, send, finish = (x) => x) {
    return new Promise((resolve, reject) => {
      const timeout = setTimeout(() => {
        const r = this.requests.get(requestId);
        if (!r) return;
        this.requests.delete(requestId);
        reject(new Error(`timeout reached while waiting for ${what} response (${r.current} of ${expected})`));
      }, this.requestsTimeout);
      this.requests.set(requestId, {
        kind: what,
        expected,
        current: 0,
        timeout,
        add(items) {
          for (const x of items) into instanceof Set ? into.add(x) : into.push(x);
        },
        done: () => resolve(finish(into)),
      });
      send();
    });
  }

  addSockets(opts, rooms) {
    if (!(opts.flags && opts.flags.local)) {
      if (this.sharded) this._request({ type: MessageType.SOCKETS_JOIN, data: { opts: encodeOptions(opts), rooms: [...rooms] } });
      else this._request({ type: RequestType.REMOTE_JOIN, opts: encodeOptions(opts), rooms: [...rooms] });
    }
    super.addSockets(opts, rooms);
  }

  delSockets(opts, rooms) {
    if (!(opts.flags && opts.flags.local)) {
      if (this.sharded) this._request({ type: MessageType.SOCKETS_LEAVE, data: { opts: encodeOptions(opts), rooms: [...rooms] } });
      else this._request({ type: RequestType.REMOTE_LEAVE, opts: encodeOptions(opts), rooms: [...rooms] });
    }
    super.delSockets(opts, rooms);
  }

  disconnectSockets(opts, close) {
    if (!(opts.flags && opts.flags.local)) {
      if (this.sharded) this._request({ type: MessageType.DISCONNECT_SOCKETS, data: { opts: encodeOptions(opts), close } });
      else this._request({ type: RequestType.REMOTE_DISCONNECT, opts: encodeOptions(opts), close });
    }
    super.disconnectSockets(opts, close);
  }

  serverSideEmit(packet) {
    const ack = typeof packet[packet.length - 1] === 'function' ? packet.pop() : undefined;
    if (ack === undefined) {
      if (this.sharded) this._request({ type: MessageType.SERVER_SIDE_EMIT, data: { packet } });
      else this._request({ type: RequestType.SERVER_SIDE_EMIT, data: packet });
      return;
    }
    this.serverCount().then(
      (servers) => {
        const expected = servers - 1;
        if (expected <= 0) return ack(null, []);
        const requestId = randomId();
        const responses = [];
        this._collect(requestId, expected, responses, 'serverSideEmit', () => {
          if (this.sharded) this._request({ type: MessageType.SERVER_SIDE_EMIT, data: { requestId, packet } });
          else this._request({ requestId, type: RequestType.SERVER_SIDE_EMIT, data: packet });
        }).then(
          (all) => ack(null, all),
          (err) => ack(err, responses),
        );
      },
      (err) => ack(err, []),
    );
  }

  // ---- what other nodes send ----

  /** `kind`: 'request' | 'response' (classic), 'message' | 'response' (sharded). */
  _onClusterMessage(kind, message) {
    if (this.sharded) {
      if (message.uid === this.uid || message.nsp !== this.nsp.name) return;
      if (kind === 'response' || this._isResponse(message.type)) return this._onShardedResponse(message);
      return this._onShardedMessage(message);
    }
    if (kind === 'response') return this._onClassicResponse(message);
    if (message.uid === this.uid) return;
    return this._onClassicRequest(message);
  }

  _isResponse(type) {
    return (
      type === MessageType.FETCH_SOCKETS_RESPONSE ||
      type === MessageType.SERVER_SIDE_EMIT_RESPONSE ||
      type === MessageType.BROADCAST_CLIENT_COUNT ||
      type === MessageType.BROADCAST_ACK
    );
  }

  /** A request another node asks of every node (redis-adapter index.ts onrequest). */
  _onClassicRequest(request) {
    const respond = (body, msgpack = false) => this._respond(request.uid, body, msgpack);
    switch (request.type) {
      case RequestType.SOCKETS:
        return this.sockets(new Set(request.rooms)).then((ids) => respond({ requestId: request.requestId, sockets: [...ids] }));
      case RequestType.ALL_ROOMS:
        return respond({ requestId: request.requestId, rooms: [...this.rooms.keys()] });
      case RequestType.REMOTE_JOIN:
      case RequestType.REMOTE_LEAVE:
      case RequestType.REMOTE_DISCONNECT: {
        if (request.opts) {
          const opts = decodeOptions(request.opts);
          opts.flags = {};
          if (request.type === RequestType.REMOTE_JOIN) return super.addSockets(opts, request.rooms);
          if (request.type === RequestType.REMOTE_LEAVE) return super.delSockets(opts, request.rooms);
          return super.disconnectSockets(opts, request.close);
        }
        // One socket by id (redis-adapter's older form): answered only by its node.
        const socket = this.nsp.sockets.get(request.sid);
        if (!socket) return;
        if (request.type === RequestType.REMOTE_JOIN) socket.join(request.room);
        else if (request.type === RequestType.REMOTE_LEAVE) socket.leave(request.room);
        else socket.disconnect(request.close);
        return respond({ requestId: request.requestId });
      }
      case RequestType.REMOTE_FETCH: {
        const opts = decodeOptions(request.opts);
        opts.flags = {};
        return super.fetchSockets(opts).then((sockets) => respond({ requestId: request.requestId, sockets: sockets.map(details) }));
      }
      case RequestType.SERVER_SIDE_EMIT: {
        if (!Array.isArray(request.data)) return;
        if (request.requestId === undefined) return this.nsp._onServerSideEmit(request.data);
        let called = false;
        const callback = (arg) => {
          if (called) return;
          called = true;
          respond({ type: RequestType.SERVER_SIDE_EMIT, requestId: request.requestId, data: arg });
        };
        return this.nsp._onServerSideEmit([...request.data, callback]);
      }
      case RequestType.BROADCAST: {
        if (!request.packet || !Array.isArray(request.packet.data)) return;
        const opts = decodeOptions(request.opts);
        opts.flags = { ...opts.flags, local: true };
        return super.broadcastWithAck(
          request.packet,
          opts,
          (clientCount) => respond({ type: RequestType.BROADCAST_CLIENT_COUNT, requestId: request.requestId, clientCount }),
          (arg) => respond({ type: RequestType.BROADCAST_ACK, requestId: request.requestId, packet: arg }, true),
        );
      }
      default:
        debug('%s: ignoring unknown request type %s', this.nsp.name, request.type);
    }
  }

  /** An answer to one of this node's requests, or to another node's (ignored). */
  _onClassicResponse(response) {
    const requestId = response.requestId;
    const ackRequest = this.ackRequests.get(requestId);
    if (ackRequest !== undefined) {
      if (response.type === RequestType.BROADCAST_CLIENT_COUNT) ackRequest.clientCountCallback(response.clientCount);
      else if (response.type === RequestType.BROADCAST_ACK) ackRequest.ack(response.packet);
      return;
    }
    const request = this.requests.get(requestId);
    if (request === undefined) return;
    switch (request.kind) {
      case 'fetchSockets':
        if (!Array.isArray(response.sockets)) return;
        request.add(response.sockets);
        break;
      case 'allRooms':
        if (!Array.isArray(response.rooms)) return;
        request.add(response.rooms);
        break;
      case 'serverSideEmit':
        request.add([response.data]);
        break;
      default:
        return;
    }
    this._answered(requestId, request);
  }

  _answered(requestId, request) {
    if (++request.current < request.expected) return;
    clearTimeout(request.timeout);
    this.requests.delete(requestId);
    request.done();
  }

  /** A sharded-adapter message (socket.io-adapter's ClusterAdapter#onMessage). */
  _onShardedMessage(message) {
    const data = message.data || {};
    switch (message.type) {
      case MessageType.BROADCAST: {
        // Only those with acks come here: the others are fanned out by the core.
        if (data.requestId === undefined || !data.packet) return;
        const opts = decodeOptions(data.opts);
        opts.flags = { ...opts.flags, local: true };
        const packet = { ...data.packet, nsp: this.nsp.name };
        return super.broadcastWithAck(
          packet,
          opts,
          (clientCount) => this._respond(message.uid, { type: MessageType.BROADCAST_CLIENT_COUNT, data: { requestId: data.requestId, clientCount } }),
          (arg) => this._respond(message.uid, { type: MessageType.BROADCAST_ACK, data: { requestId: data.requestId, packet: arg } }),
        );
      }
      case MessageType.SOCKETS_JOIN:
        return super.addSockets({ ...decodeOptions(data.opts), flags: {} }, data.rooms || []);
      case MessageType.SOCKETS_LEAVE:
        return super.delSockets({ ...decodeOptions(data.opts), flags: {} }, data.rooms || []);
      case MessageType.DISCONNECT_SOCKETS:
        return super.disconnectSockets({ ...decodeOptions(data.opts), flags: {} }, data.close);
      case MessageType.FETCH_SOCKETS:
        return super.fetchSockets({ ...decodeOptions(data.opts), flags: {} }).then((sockets) =>
          this._respond(message.uid, { type: MessageType.FETCH_SOCKETS_RESPONSE, data: { requestId: data.requestId, sockets: sockets.map(details) } }),
        );
      case MessageType.SERVER_SIDE_EMIT: {
        if (!Array.isArray(data.packet)) return;
        if (data.requestId === undefined) return this.nsp._onServerSideEmit(data.packet);
        let called = false;
        const callback = (arg) => {
          if (called) return;
          called = true;
          this._respond(message.uid, { type: MessageType.SERVER_SIDE_EMIT_RESPONSE, data: { requestId: data.requestId, packet: arg } });
        };
        return this.nsp._onServerSideEmit([...data.packet, callback]);
      }
      default:
        debug('%s: ignoring message type %s', this.nsp.name, message.type);
    }
  }

  _onShardedResponse(response) {
    const data = response.data || {};
    const requestId = data.requestId;
    switch (response.type) {
      case MessageType.BROADCAST_CLIENT_COUNT: {
        const a = this.ackRequests.get(requestId);
        if (a) a.clientCountCallback(data.clientCount);
        return;
      }
      case MessageType.BROADCAST_ACK: {
        const a = this.ackRequests.get(requestId);
        if (a) a.ack(data.packet);
        return;
      }
      case MessageType.FETCH_SOCKETS_RESPONSE: {
        const request = this.requests.get(requestId);
        if (!request || request.kind !== 'fetchSockets' || !Array.isArray(data.sockets)) return;
        request.add(data.sockets);
        return this._answered(requestId, request);
      }
      case MessageType.SERVER_SIDE_EMIT_RESPONSE: {
        const request = this.requests.get(requestId);
        if (!request || request.kind !== 'serverSideEmit') return;
        request.add([data.packet]);
        return this._answered(requestId, request);
      }
      default:
    }
  }
}

/**
 * The Redis adapter for `io.adapter(...)` or the `adapter` server option.
 * @param {{ url?: string, key?: string, mode?: 'classic' | 'sharded', requestsTimeout?: number,
 *   tls?: { caFile?: string, certFile?: string, keyFile?: string, servername?: string, rejectUnauthorized?: boolean } }} [opts]
 *   url: redis:// or rediss://, with credentials and a database (`redis://user:pass@host:6379/2`);
 *   key: the channel prefix (@socket.io/redis-adapter's `key`, the sharded adapter's
 *   `channelPrefix`), 'socket.io' by default; mode: 'classic' (createAdapter: PUBLISH/PSUBSCRIBE) or
 *   'sharded' (createShardedAdapter: SPUBLISH/SSUBSCRIBE, Redis 7); requestsTimeout: ms, 5000;
 *   tls (rediss://): PEM files of the CAs to trust (default: the system's), of a client certificate
 *   and key; rejectUnauthorized false skips verifying the server's certificate (tests only).
 */
function createRedisAdapter(opts = {}) {
  const mode = opts.mode || 'classic';
  if (mode !== 'classic' && mode !== 'sharded') throw new TypeError(`collabio: createRedisAdapter: mode must be 'classic' or 'sharded', not ${String(mode)}`);
  const requestsTimeout = opts.requestsTimeout === undefined ? 5000 : Number(opts.requestsTimeout);
  if (!(requestsTimeout > 0)) throw new TypeError('collabio: createRedisAdapter: requestsTimeout must be a positive number of ms');
  const url = opts.url || 'redis://127.0.0.1:6379';
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) throw new TypeError('collabio: createRedisAdapter: url must start with redis:// or rediss://');
  const tls = opts.tls || {};
  for (const k of ['caFile', 'certFile', 'keyFile', 'servername']) {
    if (tls[k] !== undefined && typeof tls[k] !== 'string') throw new TypeError(`collabio: createRedisAdapter: tls.${k} must be a string`);
  }
  const config = Object.freeze({ url, key: opts.key || 'socket.io', mode, requestsTimeout, tls: { ...tls, rejectUnauthorized: tls.rejectUnauthorized !== false } });
  class CollabioRedisAdapter extends RedisAdapter {
    constructor(nsp) {
      super(nsp, config);
    }
  }
  CollabioRedisAdapter.collabioRedisConfig = config;
  return CollabioRedisAdapter;
}

module.exports = { createRedisAdapter, RedisAdapter, RemoteSocket };
