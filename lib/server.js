'use strict';
// The Server: socket.io's server API over the native core.
//
// Threads: everything here runs on Node's main thread. The native core batches events from its
// I/O threads and calls _onEvents once per batch; calls into the core (send, broadcast, join) only
// enqueue work and return.

const { EventEmitter } = require('node:events');
const crypto = require('node:crypto');
const { NativeServer } = require('./native');
const { Namespace, ParentNamespace, matchParentNamespace } = require('./namespace');
const { Engine, nativeEngineOptions } = require('./engine');
const { Socket } = require('./socket');
const { Adapter } = require('./adapter');
const { SessionAwareAdapter } = require('./session-aware-adapter');
const { Documents } = require('./documents');
const { TYPES, encode, encodeSimple, reconstruct } = require('./parser');
const { formatMetrics } = require('./metrics');
const { Warnings } = require('./warnings');
const { Attachment } = require('./attach');
const { parseQuery } = require('./query');
const debug = require('./debug')('collabio:server');

const { eventKinds: EV, eventKindRanges, eventStride: STRIDE, eventSlots: SLOT, eventFields: FIELD } = require('./constants');

// Document events go to lib/documents.js, Engine.IO's to lib/engine.js, the Redis adapter's to
// lib/redis-adapter.js; the rest are Socket.IO's and the core's, handled here.
const { documents: DOC_KINDS, engine: ENGINE_KINDS, adapter: ADAPTER_KINDS } = eventKindRanges;
const { KIND, CONN, ACK_ID, FIELDS } = SLOT;

const DEFAULTS = {
  path: '/socket.io',
  pingInterval: 25000,
  pingTimeout: 20000,
  connectTimeout: 45000,
  maxHttpBufferSize: 1e6,
  upgradeTimeout: 10000,
  closeTimeout: 5000,
};

// Socket ids: 20 url-safe characters (15 random bytes), like socket.io's base64id, cut from a pool
// refilled once per 256 ids: no Buffer and no crypto job per socket.
const ID_BYTES = 15;
const idPool = Buffer.allocUnsafeSlow(ID_BYTES * 256);
let idOffset = idPool.length;

function socketId() {
  if (idOffset === idPool.length) {
    crypto.randomFillSync(idPool);
    idOffset = 0;
  }
  const id = idPool.toString('base64url', idOffset, idOffset + ID_BYTES);
  idOffset += ID_BYTES;
  return id;
}

/**
 * handshake.auth from the CONNECT packet's JSON text: {} when there is none. The core has already
 * checked that the text is a JSON object (native/socketio/packet.cpp), so JSON.parse refusing it
 * means the two disagree: the connection gets {} and the server a warning and a count.
 */
function parseAuth(server, json) {
  if (!json) return {};
  try {
    return JSON.parse(json);
  } catch (err) {
    server._authParseErrors++;
    server._warnings.warn('COLLABIO_AUTH_PARSE_FAILED', `a CONNECT auth payload the core accepted is not JSON (${err.message}); handshake.auth is {}`);
    return {};
  }
}

class Server extends EventEmitter {
  /**
   * new Server(port?, opts?) or new Server(opts?).
   * With a port the server listens at once (synchronously; listen errors throw).
   */
  constructor(srv, opts) {
    super();
    if (srv !== null && typeof srv === 'object' && !isHttpServer(srv)) {
      opts = srv;
      srv = undefined;
    }
    checkAttachable(srv);
    refuseUnsupportedOptions(opts || {});
    this.opts = { ...DEFAULTS, ...(opts || {}) };
    if (this.opts.connectionStateRecovery) {
      // socket.io's defaults, and the packet log's byte bound (collabio; docs/LIMITS.md).
      this.opts.connectionStateRecovery = {
        maxDisconnectionDuration: 2 * 60 * 1000,
        skipMiddlewares: true,
        maxPacketLogBytes: 32 << 20,
        ...this.opts.connectionStateRecovery,
      };
    }
    // engine.io's path rule: the trailing slash is added unless addTrailingSlash is false, and
    // every request whose URL starts with the path is an Engine.IO request.
    let path = this.opts.path.replace(/\/$/, '');
    if (this.opts.addTrailingSlash !== false) path += '/';
    this._path = path;
    /** @type {Map<string, Namespace>} */
    this._nsps = new Map();
    /** Builds each namespace's adapter: `new this._adapter(nsp)` (see adapter()). */
    this._adapter = this.opts.adapter || (this.opts.connectionStateRecovery ? SessionAwareAdapter : Adapter);
    /** @type {Map<Function, ParentNamespace>} dynamic namespaces: io.of(/regexp/ or fn) */
    this._parentNsps = new Map();
    /**
     * Native connection id -> its namespace sockets: the Socket itself while it is the only one
     * (the usual case, without a Map per connection), a Map<namespace name, Socket> beyond.
     * Go through _socket/_connSockets/_addSocket/_removeSocket.
     * @type {Map<number, Socket | Map<string, Socket>>}
     */
    this._conns = new Map();
    this._warnings = new Warnings();
    this._authParseErrors = 0; // CONNECT auth payloads JSON.parse refused (see parseAuth)
    this._address = null;
    this._closed = null;
    this._closing = false;
    /** Collaborative documents (y-websocket at ws://host:port/<name>); see lib/documents.js. */
    this.documents = new Documents(this, this.opts.documents);
    this._native = new NativeServer(
      {
        path,
        pingInterval: this.opts.pingInterval,
        pingTimeout: this.opts.pingTimeout,
        connectTimeout: this.opts.connectTimeout,
        maxHttpBufferSize: this.opts.maxHttpBufferSize,
        maxAttachments: this.opts.maxAttachments,
        maxOutboundBytes: this.opts.maxOutboundBytes,
        maxInboundBytes: this.opts.maxInboundBytes,
        maxInboundEvents: this.opts.maxInboundEvents,
        maxInboundBytesTotal: this.opts.maxInboundBytesTotal,
        handshakeTimeout: this.opts.handshakeTimeout,
        closeTimeout: this.opts.closeTimeout,
        maxConnections: this.opts.maxConnections,
        connectionRate: this.opts.connectionRate,
        connectionBurst: this.opts.connectionBurst,
        rateLimitLoopback: this.opts.rateLimitLoopback,
        threads: this.opts.threads,
        serveStatic: this.opts.serveStatic,
        tls: nativeTlsOptions(this.opts.tls),
        documents: this.documents._nativeOptions(),
        engine: nativeEngineOptions(this.opts),
      },
      (numbers, ...values) => this._onEvents(numbers, values),
    );
    /** `io.engine`: Engine.IO events and counters (lib/engine.js). */
    this._engine = new Engine(this);
    this.sockets = this.of('/');
    /** The application's http(s).Server when attached (socket.io's `io.httpServer`), else undefined. */
    this.httpServer = undefined;
    this._attachment = null;
    if (srv !== undefined) this.attach(srv);
  }

  /**
   * `io.listen(port[, opts])`: collabio listens on `port` itself (0 picks a free port; read it with
   * io.address().port). Synchronous: throws (e.g. EADDRINUSE) on failure. Given an http(s).Server
   * instead, attaches to it like attach(). Returns the server.
   */
  listen(port = 0, host) {
    if (isHttpServer(port)) return this.attach(port, host);
    if (this._address || this._attachment) throw new Error('collabio: the server is already listening');
    if (this.opts.cors && typeof this.opts.cors.origin === 'function') {
      throw new TypeError('collabio: cors.origin as a function needs attached mode (new Server(httpServer)); standalone, use a string, RegExp or array');
    }
    this._address = this._native.listen(Number(port) || 0, typeof host === 'string' ? host : this.opts.host || '');
    debug('listening on %j', this._address);
    return this;
  }

  /**
   * `io.attach(httpServer[, opts])`: serve Socket.IO and documents inside the application's own
   * http.Server or https.Server (what Express's app.listen(), Fastify's `fastify.server` and Koa's
   * app.listen() give). Engine.IO requests under `path` and the WebSocket upgrades collabio serves
   * (see `documents.path`) go to the native core; every other request and upgrade stays the
   * application's. With a port number, the same as listen(port).
   *
   * @example
   * const app = express();
   * const server = http.createServer(app);
   * const io = new Server(server);
   * server.listen(3000);
   */
  attach(srv, opts) {
    checkAttachable(srv);
    if (opts) Object.assign(this.opts, opts);
    if (!isHttpServer(srv)) return this.listen(srv, this.opts.host);
    if (this._address || this._attachment) throw new Error('collabio: the server is already attached or listening');
    this._native.start();
    this.httpServer = srv;
    this._attachment = new Attachment(this, srv);
    debug('attached to an http%s server', this._attachment.secure ? 's' : '');
    return this;
  }  /**
   * `{ address, family, port }` of the listening socket, or null. Attached, the application
   * server's address.
   */
  address() {
    if (this._attachment) return this.httpServer.address();
    return this._address ? { ...this._address } : null;
  }

  /** The namespace `name`, created on first use: `io.of('/admin')`. */
  of(name, fn) {
    if (typeof name === 'function' || name instanceof RegExp) {
      // Dynamic namespaces: a RegExp or a function(name, auth, next(err, allowed)).
      const parent = new ParentNamespace(this, name);
      this._parentNsps.set(parent._match, parent);
      if (fn) parent.on('connection', fn);
      return parent;
    }
    if (typeof name !== 'string') throw new TypeError('collabio: namespace names are strings, RegExps or functions');
    if (!name.startsWith('/')) name = '/' + name;
    let nsp = this._nsps.get(name);
    if (!nsp) {
      nsp = new Namespace(this, name);
      this._nsps.set(name, nsp);
      if (name !== '/') EventEmitter.prototype.emit.call(this, 'new_namespace', nsp);
    }
    if (typeof fn === 'function') nsp.on('connection', fn);
    return nsp;
  }

  /**
   * The adapter every namespace uses for rooms and broadcast: `io.adapter(createRedisAdapter(…))`
   * sets it (existing namespaces get a new one, with their rooms); `io.adapter()` returns it.
   * An adapter is a class extending collabio's Adapter, built once per namespace with `new`.
   */
  adapter(v) {
    if (v === undefined) return this._adapter;
    if (typeof v !== 'function') throw new TypeError('collabio: io.adapter() takes an adapter class');
    this._adapter = v;
    if (this._redisCluster && !v.collabioRedisConfig) {
      // Back to an adapter of this process: the core drops its Redis connections.
      this._redisCluster.close();
      this._redisCluster = undefined;
      this._native.setRedisAdapter(null);
    }
    for (const nsp of this._nsps.values()) nsp._initAdapter();
    return this;
  }

  use(fn) {
    this.sockets.use(fn);
    return this;
  }

  to(room) {
    return this.sockets.to(room);
  }

  in(room) {
    return this.sockets.in(room);
  }

  except(room) {
    return this.sockets.except(room);
  }

  get volatile() {
    return this.sockets.volatile;
  }

  get local() {
    return this.sockets.local;
  }

  compress(c) {
    return this.sockets.compress(c);
  }

  timeout(ms) {
    return this.sockets.timeout(ms);
  }

  emit(ev, ...args) {
    return this.sockets.emit(ev, ...args);
  }

  emitWithAck(ev, ...args) {
    return this.sockets.emitWithAck(ev, ...args);
  }

  send(...args) {
    this.sockets.send(...args);
    return this;
  }

  write(...args) {
    return this.send(...args);
  }

  fetchSockets() {
    return this.sockets.fetchSockets();
  }

  socketsJoin(room) {
    this.sockets.socketsJoin(room);
  }

  socketsLeave(room) {
    this.sockets.socketsLeave(room);
  }

  disconnectSockets(close = false) {
    this.sockets.disconnectSockets(close);
  }

  /** Emits to the other servers of the cluster (see Namespace#serverSideEmit). */
  serverSideEmit(ev, ...args) {
    return this.sockets.serverSideEmit(ev, ...args);
  }

  serverSideEmitWithAck(ev, ...args) {
    return this.sockets.serverSideEmitWithAck(ev, ...args);
  }

  /**
   * Counters from the native core: connections, messagesIn, messagesOut, bytesQueued, and inbound
   * backpressure (inboundBytes, inboundEvents, documentInboundBytes, pausedConnections,
   * inboundPauses). See docs/API.md.
   */
  stats() {
    const s = { ...this._native.stats(), authParseErrors: this._authParseErrors, recoveryErrors: 0 };
    if (this._redisCluster) {
      s.adapterBadMessages += this._redisCluster.badMessages;
      s.recoveryErrors = this._redisCluster.recoveryErrors;
    }
    return s;
  }

  /**
   * The stats() counters in the Prometheus text format (collabio_connections,
   * collabio_messages_in_total, …); serve them with `http.createServer(metricsHandler(io))`.
   */
  metrics() {
    return formatMetrics(this.stats());
  }

  /** The Engine.IO layer: clientsCount, 'connection_error', 'initial_headers', 'headers'. */
  get engine() {
    return this._engine;
  }

  /**
   * Closes every connection and releases the port. Returns a Promise that resolves when done
   * (the optional callback is called too). Safe to call twice.
   */
  close(cb) {
    if (!this._closed) {
      this._closed = new Promise((resolve) => {
        this._resolveClosed = resolve;
      });
      this._closing = true;
      for (const conn of [...this._conns.keys()]) {
        for (const s of this._connSockets(conn)) s._onclose('server shutting down');
      }
      for (const nsp of this._nsps.values()) nsp.adapter.close();
      if (this._attachment) {
        // socket.io closes the server it is attached to (Server#close) and calls back when that
        // has closed; the core's threads stop like a listening server's (below).
        this._attachment.detach();
        const srv = this.httpServer;
        this._httpClosed = srv.listening ? new Promise((resolve) => srv.close(() => resolve())) : Promise.resolve();
      }
      if (!this._address && !this._attachment) {
        // Never listened (or listen failed): no threads, no sockets, nothing to wait for. The
        // native notification would not keep the event loop alive, so resolve here.
        this._native.close();
        this.documents._closeAll(new Error('server closed'));
        this._resolveClosed();
      } else {
        // Application persistence first (it needs the documents), then the native shutdown. A
        // persistence.store that does not settle within closeTimeout does not hold the shutdown.
        let timer;
        const bound = new Promise((resolve) => {
          timer = setTimeout(() => {
            debug('documents.flush() still running after closeTimeout: closing anyway');
            resolve();
          }, Number.isFinite(this.opts.closeTimeout) ? this.opts.closeTimeout : DEFAULTS.closeTimeout);
        });
        Promise.race([this.documents.flush(), bound]).then(
          () => {
            clearTimeout(timer);
            this._native.close();
          },
          () => {
            clearTimeout(timer);
            this._native.close();
          },
        );
      }
    }
    if (typeof cb === 'function') this._closed.then(() => cb(), cb);
    return this._closed;
  }

  // ---- events from the native core ----

  _onEvents(numbers, values) {
    if (numbers === null) {
      debug('closed');
      this._address = null;
      this._attachment = null;
      this.documents._closeAll(new Error('server closed'));
      if (this._resolveClosed) {
        if (this._httpClosed) this._httpClosed.then(this._resolveClosed);
        else this._resolveClosed();
      }
      return;
    }
    // The layout is native/core/host_protocol.h's: per event, its numbers in `numbers` and, in
    // `values`, the fields its FIELDS bits name (a namespace only when it changes).
    let v = 0;
    let nsp = '';
    for (let i = 0; i < numbers.length; i += STRIDE) {
      const kind = numbers[i + KIND];
      const conn = numbers[i + CONN];
      const ackId = numbers[i + ACK_ID];
      const fields = numbers[i + FIELDS];
      if (fields & FIELD.NSP) nsp = values[v++];
      const data = fields & FIELD.DATA ? values[v++] : '';
      const attachments = fields & FIELD.ATTACHMENTS ? values[v++] : undefined;
      const hs = fields & FIELD.HANDSHAKE ? values[v++] : undefined;
      const extra = fields & FIELD.EXTRA ? values[v++] : undefined;
      try {
        if (kind === EV.EVENT || kind === EV.ACK) {
          this._onMessage(kind, conn, nsp, data, ackId, attachments);
        } else if (kind >= DOC_KINDS.first && kind <= DOC_KINDS.last) {
          this.documents._onEvent(kind, conn, nsp, data, ackId, attachments, hs, extra);
        } else if (kind >= ADAPTER_KINDS.first && kind <= ADAPTER_KINDS.last) {
          if (this._redisCluster) this._redisCluster.onEvent(kind, nsp, data, ackId, attachments, extra);
        } else if (kind >= ENGINE_KINDS.first && kind <= ENGINE_KINDS.last) {
          this._engine._onEvent(kind, conn, nsp, data, ackId, attachments, hs, extra);
        } else {
          this._onEvent(kind, conn, nsp, data, ackId, attachments, extra);
        }
      } catch (err) {
        // An exception in an application handler must not lose the rest of the batch.
        process.nextTick(() => {
          throw err;
        });
      }
    }
  }

  /** A client's EVENT or ACK (with its binary attachments rebuilt), for its namespace socket. */
  _onMessage(kind, conn, nspName, data, ackId, attachments) {
    const socket = this._socket(conn, nspName);
    if (!socket) return;
    let args = JSON.parse(data);
    if (attachments) args = reconstruct(args, attachments);
    if (kind === EV.EVENT) socket._onevent(args, ackId);
    else socket._onack(ackId, args);
  }

  _onEvent(kind, conn, nspName, data, ackId, attachments, extra) {
    switch (kind) {
      case EV.CONNECT:
        this._onConnect(conn, nspName, data);
        return;
      case EV.EVENT:
      case EV.ACK:
        this._onMessage(kind, conn, nspName, data, ackId, attachments);
        return;
      case EV.NSP_DISCONNECT: {
        const socket = this._socket(conn, nspName);
        if (socket) socket._onclose('client namespace disconnect');
        return;
      }
      case EV.CLOSE: {
        this._engine._closed(conn, data);
        for (const s of this._connSockets(conn)) s._onclose(data);
        this._conns.delete(conn);
        return;
      }
      case EV.WARNING:
        this._warnings.warn(extra, data);
        return;
      case EV.ERROR: {
        // A bad packet from this client: its sockets hear about it before the close (socket.io).
        for (const s of this._connSockets(conn)) s._onerror(new Error(data));
        return;
      }
      default:
        debug('unknown event kind %d', kind);
    }
  }

  /** The socket of connection `conn` in namespace `nsp`, or undefined. */
  _socket(conn, nsp) {
    const e = this._conns.get(conn);
    if (e === undefined) return undefined;
    if (e instanceof Map) return e.get(nsp);
    return e.nsp.name === nsp ? e : undefined;
  }

  /** Every namespace socket of connection `conn` (a new array). */
  _connSockets(conn) {
    const e = this._conns.get(conn);
    if (e === undefined) return [];
    return e instanceof Map ? [...e.values()] : [e];
  }

  _addSocket(conn, nsp, socket) {
    const e = this._conns.get(conn);
    if (e === undefined) {
      this._conns.set(conn, socket);
    } else if (e instanceof Map) {
      e.set(nsp, socket);
    } else {
      this._conns.set(conn, new Map([[e.nsp.name, e], [nsp, socket]]));
    }
  }

  /** Forgets the socket of connection `conn` in namespace `nsp`. */
  _removeSocket(conn, nsp) {
    const e = this._conns.get(conn);
    if (e === undefined) return;
    if (e instanceof Map) {
      e.delete(nsp);
      if (e.size === 0) this._conns.delete(conn);
    } else if (e.nsp.name === nsp) {
      this._conns.delete(conn);
    }
  }

  /**
   * socket.handshake for a socket of connection `conn` (Socket#handshake builds it when first
   * read). The native side keeps the request of every open connection; `auth` is the socket's
   * CONNECT payload (JSON text, or already parsed).
   */
  _handshake(conn, auth) {
    const hs = this._native.handshake(conn) || { url: '', query: '', headers: {}, address: '', time: Date.now() };
    return {
      headers: hs.headers,
      time: new Date(hs.time).toString(),
      address: hs.address,
      xdomain: !!hs.headers.origin,
      secure: !!hs.secure,
      issued: hs.time,
      url: hs.url,
      query: parseQuery(hs.query),
      auth: typeof auth === 'string' ? parseAuth(this, auth) : auth,
    };
  }

  /**
   * A CONNECT for `nspName`. `auth` is its payload as the core hands it over (JSON text, '' when
   * there is none), or the value already parsed from it: the payload is parsed at most once per
   * CONNECT (a refusal is logged and counted once), and only when something needs it (a dynamic
   * namespace's match, session recovery, or socket.handshake).
   */
  _onConnect(conn, nspName, auth) {
    if (this._closing) return;
    const nsp = this._nsps.get(nspName);
    if (!nsp && this._parentNsps.size) {
      // A dynamic namespace may accept the name (socket.io Server#_checkNamespace).
      const parsed = typeof auth === 'string' ? parseAuth(this, auth) : auth;
      matchParentNamespace(this, nspName, parsed, (child) => {
        if (child) this._onConnect(conn, nspName, parsed);
        else this._native.connectReply(conn, nspName, false, encodeSimple(TYPES.CONNECT_ERROR, nspName, '{"message":"Invalid namespace"}'));
      });
      return;
    }
    if (!nsp) {
      this._native.connectReply(conn, nspName, false, encodeSimple(TYPES.CONNECT_ERROR, nspName, '{"message":"Invalid namespace"}'));
      return;
    }
    if (this._socket(conn, nspName)) return; // already connected to this namespace
    if (this.opts.connectionStateRecovery) {
      if (typeof auth === 'string') auth = parseAuth(this, auth);
      if (auth === null || typeof auth !== 'object') auth = {};
      if (typeof auth.pid === 'string' && (typeof auth.offset === 'string' || auth.offset === undefined)) {
        const restored = nsp.adapter.restoreSession(auth.pid, auth.offset);
        if (restored && typeof restored.then === 'function') {
          // An adapter that restores asynchronously (from another store): the connection may be
          // gone by then (the native side forgets a closed connection's handshake).
          const next = (session) => {
            if (this._native.handshake(conn)) this._connectSocket(conn, nsp, auth, session);
          };
          restored.then(
            (session) => next(session || null),
            (err) => {
              debug('%s: restoring session failed: %s', nspName, err && err.message);
              next(null);
            },
          );
          return;
        }
        this._connectSocket(conn, nsp, auth, restored || null);
        return;
      }
    }
    this._connectSocket(conn, nsp, auth, null);
  }

  /**
   * Creates the socket of a CONNECT, runs the middlewares (not for a recovered session when
   * connectionStateRecovery.skipMiddlewares) and answers. `session` is what the adapter restored:
   * the socket takes its id, pid, rooms and data, and gets its missed packets right after the
   * CONNECT reply, before the 'connection' event.
   */
  _connectSocket(conn, nsp, auth, session) {
    const nspName = nsp.name;
    if (this._closing || this._socket(conn, nspName)) return;
    const recovery = this.opts.connectionStateRecovery;
    const socket = new Socket(nsp, conn, session ? session.sid : socketId(), auth || '');
    if (recovery) {
      socket.pid = session ? session.pid : socketId();
      if (session) {
        socket.recovered = true;
        socket.data = session.data;
        nsp.adapter.addAll(socket.id, session.rooms);
      }
    }
    // Registered before the middlewares run so that a close during them is seen.
    this._addSocket(conn, nspName, socket);
    if (session && recovery.skipMiddlewares) {
      this._acceptSocket(conn, nsp, socket, session);
      return;
    }
    nsp._run(socket, (err) => {
      if (this._socket(conn, nspName) !== socket) return; // the connection closed meanwhile
      if (err) {
        socket._keepHandshake(); // the middleware has seen the socket and may keep it
        this._removeSocket(conn, nspName);
        nsp.adapter.delAll(socket.id); // rooms joined by the middlewares that let it pass
        const payload = { message: err && err.message !== undefined ? err.message : String(err) };
        if (err && err.data !== undefined) payload.data = err.data;
        this._native.connectReply(conn, nspName, false, encodeSimple(TYPES.CONNECT_ERROR, nspName, JSON.stringify(payload)));
        return;
      }
      this._acceptSocket(conn, nsp, socket, session);
    });
  }

  /** Sends the CONNECT reply (with the pid when recovery is on), replays missed packets, connects. */
  _acceptSocket(conn, nsp, socket, session) {
    const nspName = nsp.name;
    const reply = socket.pid === undefined ? { sid: socket.id } : { sid: socket.id, pid: socket.pid };
    this._native.connectReply(conn, nspName, true, encodeSimple(TYPES.CONNECT, nspName, JSON.stringify(reply)));
    if (session) {
      // In order, after the reply and before anything the 'connection' handler sends. Packets
      // logged while the middlewares ran (when they are not skipped) are included.
      let missed = session.missedPackets || [];
      if (session.seq !== undefined && typeof nsp.adapter.missedAfter === 'function') {
        missed = missed.concat(nsp.adapter.missedAfter(session.seq, session.rooms));
      }
      for (const p of missed) {
        if (Array.isArray(p)) {
          const [text, attachments] = encode(TYPES.EVENT, nspName, undefined, p);
          this._native.send(conn, text, attachments);
        } else {
          this._native.send(conn, p.text, p.attachments);
        }
      }
    }
    socket._onconnect();
    nsp._add(socket);
  }
}

/**
 * `tls: { key, cert, ca?, passphrase? }` (PEM strings or Buffers, as tls.createSecureContext takes
 * them) for the native listener. `ca` may be a list.
 */
function nativeTlsOptions(tls) {
  if (tls === undefined || tls === null || tls === false) return undefined;
  const pem = (v) => {
    if (Array.isArray(v)) return v.map(pem).join('\n');
    if (v === undefined || v === null) return '';
    if (ArrayBuffer.isView(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1');
    return String(v);
  };
  const out = { key: pem(tls.key), cert: pem(tls.cert), ca: pem(tls.ca), passphrase: tls.passphrase === undefined ? '' : String(tls.passphrase) };
  if (!out.key || !out.cert) throw new TypeError('collabio: tls needs both key and cert (PEM)');
  return out;
}

/**
 * socket.io options whose behaviour collabio does not have throw here rather than being ignored:
 * clients configured for them would fail in ways far from the cause (docs/API.md, "Differences
 * from socket.io", says why each is kept out).
 */
function refuseUnsupportedOptions(opts) {
  if (opts.parser !== undefined && !isDefaultParser(opts.parser)) {
    throw new TypeError('collabio: the parser option is not supported: the native core reads and writes Socket.IO packets in socket.io-parser\'s format only (clients must use the default parser)');
  }
  if (opts.allowEIO3) {
    throw new TypeError('collabio: allowEIO3 is not supported: only Engine.IO v4 clients (socket.io-client 3.x and later) can connect');
  }
  if (opts.wsEngine !== undefined) {
    throw new TypeError('collabio: the wsEngine option is not supported: WebSockets are served by the native core');
  }
  if (opts.allowUpgrades === false) {
    throw new TypeError("collabio: allowUpgrades: false is not supported: choose the transport with transports (['polling'] or ['websocket'])");
  }
  if (opts.initialPacket !== undefined) {
    throw new TypeError('collabio: the initialPacket option is not supported');
  }
}

/** Whether `parser` is socket.io-parser itself (what socket.io uses when the option is absent). */
function isDefaultParser(parser) {
  try {
    return parser === require('socket.io-parser');
  } catch {
    return false;
  }
}

/** An http.Server-like object: what attach() takes (http/https.Server, or a net.Server with 'request'). */
function isHttpServer(srv) {
  return srv !== null && typeof srv === 'object' && typeof srv.listen === 'function' && typeof srv.on === 'function';
}

function checkAttachable(srv) {
  if (typeof srv === 'function') {
    // socket.io's message: an Express app is a request handler, not a server.
    throw new TypeError('You are trying to attach collabio to an express request handler function. Please pass a http.Server instance.');
  }
  if (srv !== undefined && srv !== null && typeof srv !== 'number' && typeof srv !== 'string' && !isHttpServer(srv)) {
    throw new TypeError('collabio: pass a port number, an http.Server / https.Server, or options');
  }
}

module.exports = { Server, Namespace, Socket, Adapter };
