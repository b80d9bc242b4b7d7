// Type definitions for collabio: the public API of lib/index.js (and lib/index.mjs).
//
// Hand-written and checked by `tsc --noEmit` in test/js/types.test.js. The event maps follow
// socket.io 4's typing, so code typed against `socket.io`'s `Server<ListenEvents, EmitEvents,
// ServerSideEvents, SocketData>` type-checks against collabio's unchanged:
//
//   interface ClientToServer { chat(text: string, ack: (ok: boolean) => void): void }
//   interface ServerToClient { chat(from: string, text: string): void }
//   const io = new Server<ClientToServer, ServerToClient>(3000);
//   io.on('connection', (socket) => socket.on('chat', (text, ack) => { io.emit('chat', socket.id, text); ack(true); }));
//
// The file is self-contained: it needs no @types/node (binary data is typed as Uint8Array /
// ArrayBuffer, HTTP objects structurally), so it compiles in projects without Node's typings.

// ---------------------------------------------------------------------------------------------
// Typed events (the same shapes as socket.io's typed-events.ts)

/** A map from event name to listener signature: `{ chat(msg: string): void }`. */
export interface EventsMap {
  [event: string]: any;
}

/** The default map: any event name, any arguments. */
export interface DefaultEventsMap {
  [event: string]: (...args: any[]) => void;
}

/** Event names of a map. */
export type EventNames<Map extends EventsMap> = keyof Map & (string | symbol);

/** Parameters of the listener of event `Ev`. */
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

/** Listener type of event `Ev`. */
export type EventListener<Map extends EventsMap, Ev extends EventNames<Map>> = Map[Ev];

type Last<T extends any[]> = T extends [...infer _H, infer L] ? L : any;
type AllButLast<T extends any[]> = T extends [...infer H, infer _L] ? H : any[];
type FirstArg<T> = T extends (arg: infer A, ...rest: any[]) => any ? A : any;
// Broadcast acks: the callback receives (err, responses) with one response per recipient, with or
// without timeout() (err is null unless the timeout expired).
type ExpectMultipleResponses<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? A extends [...infer H, (...ackArgs: infer P) => void]
      ? (...args: [...H, (err: Error | null, responses: P[0][]) => void]) => R
      : T[K]
    : T[K];
};
type PrependTimeoutError<A extends any[]> = {
  [K in keyof A]: A[K] extends (...args: infer P) => infer R ? (err: Error | null, ...args: P) => R : A[K];
};
type DecorateAcknowledgements<T> = {
  [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: PrependTimeoutError<A>) => R : T[K];
};

/** Events the library emits on a Socket; applications may listen to them but not emit them. */
export interface SocketReservedEventsMap {
  disconnect: (reason: DisconnectReason, description?: unknown) => void;
  disconnecting: (reason: DisconnectReason, description?: unknown) => void;
  error: (err: Error) => void;
}

/** Events the library emits on a Namespace. */
export interface NamespaceReservedEventsMap<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> {
  connect: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
  connection: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

/** Events the library emits on the Server. */
export interface ServerReservedEventsMap<
  ListenEvents extends EventsMap,
  EmitEvents extends EventsMap,
  ServerSideEvents extends EventsMap,
  SocketData,
> extends NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  new_namespace: (namespace: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void;
}

/** Reserved names (emit throws for them) plus the application's own. */
export type ReservedOrUserEventNames<Reserved extends EventsMap, User extends EventsMap> =
  | EventNames<Reserved>
  | EventNames<User>;

export type ReservedOrUserListener<
  Reserved extends EventsMap,
  User extends EventsMap,
  Ev extends ReservedOrUserEventNames<Reserved, User>,
> = FallbackToUntypedListener<
  Ev extends EventNames<Reserved> ? Reserved[Ev] : Ev extends EventNames<User> ? User[Ev] : never
>;

type FallbackToUntypedListener<T> = [T] extends [never] ? (...args: any[]) => void | Promise<void> : T;

/**
 * The EventEmitter surface of Server, Namespace, Socket and Documents, with listener types taken
 * from the event maps. (At run time these classes extend Node's EventEmitter.)
 */
declare class StrictEventEmitter<ListenEvents extends EventsMap, ReservedEvents extends EventsMap> {
  on<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this;
  addListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this;
  prependListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this;
  once<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this;
  prependOnceListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this;
  off<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this;
  removeListener<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
    listener: ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>,
  ): this;
  removeAllListeners(ev?: ReservedOrUserEventNames<ReservedEvents, ListenEvents>): this;
  listeners<Ev extends ReservedOrUserEventNames<ReservedEvents, ListenEvents>>(
    ev: Ev,
  ): ReservedOrUserListener<ReservedEvents, ListenEvents, Ev>[];
  listenerCount(ev: ReservedOrUserEventNames<ReservedEvents, ListenEvents>): number;
  eventNames(): (string | symbol)[];
  setMaxListeners(n: number): this;
  getMaxListeners(): number;
}

// ---------------------------------------------------------------------------------------------
// Options and plain data

/** Why a socket disconnected (the socket.io reason strings collabio produces). */
export type DisconnectReason =
  | 'transport error'
  | 'transport close'
  | 'forced close'
  | 'ping timeout'
  | 'parse error'
  | 'server shutting down'
  | 'forced server close'
  | 'client namespace disconnect'
  | 'server namespace disconnect'
  | (string & {});

/** Options of `new Server(port?, options?)`. Times are in milliseconds, sizes in bytes. */
export interface ServerOptions {
  /** Path of the Socket.IO endpoint. Default '/socket.io'. */
  path?: string;
  /**
   * The adapter class every namespace gets (rooms and broadcast). Default: collabio's Adapter, or
   * SessionAwareAdapter with connectionStateRecovery.
   */
  adapter?: AdapterConstructor;
  /**
   * Standalone TLS, terminated natively (OpenSSL 3): PEM key and certificate chain, optional CA
   * certificates and key passphrase. A bad key or certificate throws from listen() (code 'ETLS').
   */
  tls?: { key: string | Uint8Array; cert: string | Uint8Array; ca?: string | Uint8Array | (string | Uint8Array)[]; passphrase?: string };
  /** Attached mode: end upgrades that nobody took after destroyUpgradeTimeout (engine.io's). Default true. */
  destroyUpgrade?: boolean;
  /** Attached mode (ms). Default 1000. */
  destroyUpgradeTimeout?: number;
  /**
   * Connection state recovery (socket.io 4.6+): a client whose transport drops comes back within
   * maxDisconnectionDuration as the same socket, with its rooms, data and the packets it missed.
   */
  connectionStateRecovery?: {
    /** How long a session and the logged packets are kept. Default 120000. */
    maxDisconnectionDuration?: number;
    /** Whether a recovered socket skips the middlewares. Default true. */
    skipMiddlewares?: boolean;
    /** Encoded bytes the packet log keeps at most, per namespace (collabio, in-memory adapter). Default 32 MiB. */
    maxPacketLogBytes?: number;
    /** Entries the Redis packet log keeps at most, per namespace, approximately (collabio, createRedisAdapter). Default 100000. */
    maxPacketLogEntries?: number;
  };
  /** Host to listen on when a port is given to the constructor. Default: all interfaces. */
  host?: string;
  /** Engine.IO ping interval. Default 25000. */
  pingInterval?: number;
  /** How long to wait for a pong before closing. Default 20000. */
  pingTimeout?: number;
  /** How long a client may take to connect to a namespace. Default 45000. */
  connectTimeout?: number;
  /** Largest message a client may send. Default 1e6. */
  maxHttpBufferSize?: number;
  /** Most binary attachments in one Socket.IO packet. */
  maxAttachments?: number;
  /** Per-connection outbound queue cap: past it volatile packets are dropped, then the client is disconnected. */
  maxOutboundBytes?: number;
  /**
   * Inbound backpressure: bytes a connection may have waiting (events not yet run by your handlers,
   * document messages not yet stored) before it stops being read until they are. Default 1 MiB; 0 = no limit.
   */
  maxInboundBytes?: number;
  /** Inbound backpressure: messages a connection may have waiting. Default 1000; 0 = no limit. */
  maxInboundEvents?: number;
  /** Inbound backpressure: bytes waiting over all connections (events; documents separately). Default 16 MiB; 0 = no limit. */
  maxInboundBytesTotal?: number;
  /** How long the HTTP/WebSocket handshake may take. */
  handshakeTimeout?: number;
  /**
   * io.close(): how long each connection may take to receive what is queued for it and to answer
   * the close before its socket is dropped (also bounds application persistence's flush). Default 5000.
   */
  closeTimeout?: number;
  /** Most open connections (io.stats().connections); beyond, new TCP connections get HTTP 503. Default 100000; 0 = no cap. */
  maxConnections?: number;
  /** New TCP connections per second per client IP (token bucket); beyond, HTTP 429. Default 100; 0 = off. */
  connectionRate?: number;
  /** Connections one IP may open at once before connectionRate applies. Default 200. */
  connectionBurst?: number;
  /** Apply connectionRate to loopback clients too (off by default: behind a local proxy every client is 127.0.0.1). */
  rateLimitLoopback?: boolean;
  /** I/O threads of the native core. Default: hardware concurrency. */
  threads?: number;
  /** A folder whose files are served over HTTP for paths that are neither Socket.IO nor documents. */
  serveStatic?: string;
  /** Transports clients may use. Default ['polling', 'websocket']. */
  transports?: ('polling' | 'websocket')[];
  /** How long a transport upgrade (polling → websocket) may take. Default 10000. */
  upgradeTimeout?: number;
  /** Whether the path must end with '/' (engine.io's rule). Default true. */
  addTrailingSlash?: boolean;
  /** Serve the socket.io-client bundle at <path>/socket.io.js when socket.io-client is installed. Default true. */
  serveClient?: boolean;
  /** Remove a dynamic child namespace when its last socket leaves (socket.io 4.6+). Default false. */
  cleanupEmptyChildNamespaces?: boolean;
  /**
   * CORS for the Engine.IO endpoint (functions as origin are not supported). With a string or a
   * list as `origin`, WebSocket upgrades (Socket.IO and documents) from other origins get HTTP 403.
   */
  cors?: boolean | CorsOptions;
  /** Send an Engine.IO sid cookie with the handshake (engine.io's `cookie` option). */
  cookie?: boolean | CookieOptions;
  /**
   * Decides whether a new Engine.IO session may open (engine.io's allowRequest):
   * `allowRequest: (req, fn) => fn(null, req.headers.origin === 'https://app.example')`.
   */
  allowRequest?: (req: EngineRequest, fn: (err: string | null | undefined, success: boolean) => void) => void;
  /**
   * WebSocket permessage-deflate (RFC 7692), off by default as in socket.io 4: `true` or
   * `{ threshold: 1024 }`. Messages shorter than `threshold` bytes go uncompressed.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Collaborative documents (y-websocket at ws://host:port/<name>); `false` turns them off. */
  documents?: DocumentsOptions | false;
}

/** The `cors` option (the shape of the `cors` package's options that collabio supports). */
export interface CorsOptions {
  /** '*' (default), true (reflect the request's Origin), one origin, a RegExp, a list of them, or (attached) a function. */
  origin?:
    | '*'
    | boolean
    | string
    | RegExp
    | (string | RegExp)[]
    /** Attached mode only: asked per request, as the `cors` package does. */
    | ((origin: string | undefined, cb: (err: Error | null, allowed?: boolean | string | RegExp | (string | RegExp)[]) => void) => void);
  methods?: string | string[];
  allowedHeaders?: string | string[];
  /** Alias of allowedHeaders. */
  headers?: string | string[];
  exposedHeaders?: string | string[];
  credentials?: boolean;
  maxAge?: number;
}

/** The `cookie` option. Defaults: name 'io', path '/', httpOnly, sameSite 'lax'. */
export interface CookieOptions {
  name?: string;
  path?: string | false;
  domain?: string;
  maxAge?: number;
  expires?: Date | string | number;
  httpOnly?: boolean;
  secure?: boolean;
  partitioned?: boolean;
  sameSite?: boolean | 'lax' | 'strict' | 'none';
  priority?: 'low' | 'medium' | 'high';
}

/** What allowRequest, the headers hooks and 'connection_error' receive as `req`. */
export interface EngineRequest {
  method?: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  _query: Record<string, string | string[] | undefined>;
  httpVersion?: string;
  connection: { remoteAddress: string; encrypted?: boolean };
  socket: { remoteAddress: string; encrypted?: boolean };
}

/**
 * What attach() takes: Node's http.Server or https.Server (Express's `http.createServer(app)` or
 * `app.listen()`, Fastify's `fastify.server`, Koa's `app.listen()`). Structural, so that no
 * @types/node is needed.
 */
export interface AttachableServer {
  listen(...args: any[]): unknown;
  on(event: string, listener: (...args: any[]) => void): unknown;
  listeners(event: string): Function[];
  removeAllListeners(event?: string): unknown;
  removeListener(event: string, listener: (...args: any[]) => void): unknown;
  close(cb?: (err?: Error) => void): unknown;
  address(): unknown;
  readonly listening: boolean;
}

/** socket.handshake: the request that opened the connection. */
export interface Handshake {
  /** Request headers (lower-case names). */
  headers: Record<string, string | string[] | undefined>;
  /** When the connection was opened, as Date#toString(). */
  time: string;
  /** Remote address. */
  address: string;
  /** Whether the request had an Origin header. */
  xdomain: boolean;
  /** Whether the connection is TLS (collabio serves plain HTTP: false). */
  secure: boolean;
  /** When the connection was opened, in ms since the epoch. */
  issued: number;
  /** Request URL. */
  url: string;
  /** Parsed query string. */
  query: Record<string, string | string[] | undefined>;
  /** The `auth` object the client sent with its namespace CONNECT. */
  auth: { [key: string]: any };
}

/** The counters of `io.stats()`. */
export interface ServerStats {
  /** Open client connections (Socket.IO and y-websocket). */
  connections: number;
  /** Messages received from clients since start. */
  messagesIn: number;
  /** Messages queued to clients since start. */
  messagesOut: number;
  /** Bytes currently waiting in outbound queues. */
  bytesQueued: number;
  /** Yjs documents loaded in memory. */
  documents: number;
  /** Open Engine.IO sessions (Socket.IO clients, all transports). */
  engineClients: number;
  /** Failed accepts of new TCP connections since start (e.g. out of file descriptors). */
  acceptErrors: number;
  /** Failed compactions of a stored document's log since start (each logged as a CollabioWarning). */
  compactionErrors: number;
  /** Exceptions that escaped a native I/O handler since start (a bug; each logged as a CollabioWarning). */
  handlerExceptions: number;
  forcedShutdowns: number;
  /** Cluster mode for documents: updates appended to their Redis stream (XADD acknowledged). */
  streamAppends: number;
  /** Cluster mode: edits refused (`documents.redis.maxQueued` appends already waiting for Redis; the sender is closed 1013) and appends that failed (an error reply). */
  streamAppendsRefused: number;
  /** Cluster mode: stream entries this node's reader delivered (every node's, its own included). */
  streamEntriesRead: number;
  /** Cluster mode: stream entries that did not decode, dropped (each logged as a CollabioWarning). */
  badStreamEntries: number;
  /** Cluster mode: snapshots this node wrote as the compactor (lease holder). */
  streamCompactions: number;
  /** Cluster mode: documents read again (snapshot + stream) after the reader's connection was lost or its position was trimmed. */
  streamReloads: number;
  /** Cluster mode: documents read from persistence because Redis held neither snapshot nor stream for them. */
  streamBootstraps: number;
  /** Cluster mode: of those, the ones whose state this node wrote to Redis (first seed wins). */
  streamSeeds: number;
  /** Cluster mode: reloads that found Redis lacking what this node's replica held (Redis lost data); the difference was appended again. */
  streamRestores: number;
  /** Cluster mode: of `streamReloads`, those because a compaction trimmed the stream past the reader's position (it lagged more than `trimWindow`). */
  streamTrimmedReloads: number;
  /** CONNECT auth payloads the core accepted but JSON.parse refused (handshake.auth is {}; logged). */
  authParseErrors: number;
  /** Connection state recovery across a Redis fleet: writes to Redis that failed (packet log appends, sessions; logged). */
  recoveryErrors: number;
  /** Bytes of client events waiting for JavaScript (queued or being handled). */
  inboundBytes: number;
  /** Client events waiting for JavaScript. */
  inboundEvents: number;
  /** Bytes of document messages received and not yet integrated and stored. */
  documentInboundBytes: number;
  /** Connections not being read now because they are over their inbound share (backpressure). */
  pausedConnections: number;
  /** Times a connection was paused for inbound backpressure, since start. */
  inboundPauses: number;
  /** Messages on the Redis adapter's channels dropped because they did not decode, since start. */
  adapterBadMessages: number;
  /** Awareness messages from other nodes (Redis pub/sub, documents.redis) dropped as malformed or over a limit. */
  clusterAwarenessDropped: number;
  /** Answers to other nodes' awareness queries (per document; at most one per second each), since start. */
  clusterAwarenessAnswers: number;
  /** Awareness queries from other nodes that shared an answer already scheduled (the rate limit), since start. */
  clusterAwarenessQueriesCoalesced: number;
  /** Times this node queried the other nodes' awareness again after its Redis subscriber reconnected, since start. */
  clusterAwarenessResyncs: number;
}

/** `{ address, family, port }` of the listening socket. */
export interface AddressInfo {
  address: string;
  family: string;
  port: number;
}

/** An error a middleware passes to `next(err)`; `data` is sent to the client with the message. */
export interface ExtendedError extends Error {
  data?: any;
}

/** Binary values that are sent as Socket.IO attachments (received ones arrive as Buffers). */
export type BinaryData = Uint8Array | ArrayBuffer | ArrayBufferView;

// ---------------------------------------------------------------------------------------------
// Server

/**
 * The server: socket.io's Server API over the native core.
 *
 *   const io = new Server(3000);              // listens at once
 *   const io2 = new Server({ pingInterval: 10000 }).listen(0);
 *   console.log(io2.address().port);
 */
export declare class Server<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends StrictEventEmitter<
  ServerSideEvents,
  ServerReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
> {
  /**
   * With a port the server listens at once (synchronously; listen errors throw). With the
   * application's http.Server / https.Server it is attached to it (see attach()).
   */
  constructor(port?: number | string, opts?: ServerOptions);
  constructor(srv: AttachableServer, opts?: ServerOptions);
  constructor(opts?: ServerOptions);

  /** The options in effect (defaults filled in). */
  readonly opts: ServerOptions & Required<Pick<ServerOptions, 'path' | 'pingInterval' | 'pingTimeout' | 'connectTimeout' | 'maxHttpBufferSize'>>;
  /** The main namespace ('/'). */
  readonly sockets: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** Collaborative documents. */
  readonly documents: Documents;
  /** The Engine.IO layer: clientsCount and the 'connection_error' / 'initial_headers' / 'headers' events. */
  readonly engine: Engine;

  /** Starts listening; port 0 picks a free port. Synchronous: throws (e.g. EADDRINUSE) on failure. */
  listen(port?: number, host?: string): this;
  /** Given an http(s).Server, the same as attach(srv, opts). */
  listen(srv: AttachableServer, opts?: ServerOptions): this;
  /**
   * Serves Socket.IO and documents inside the application's own http.Server / https.Server:
   * requests under `path` and the WebSocket upgrades collabio serves go to the native core, every
   * other request and upgrade stays the application's. `io.close()` closes that server, as
   * socket.io's does. With a port: listen(port) after merging `opts`.
   *
   *   const server = http.createServer(app);
   *   const io = new Server(server);
   *   server.listen(3000);
   */
  attach(srv: AttachableServer | number, opts?: ServerOptions): this;
  /** The application's server when attached (socket.io's `io.httpServer`). */
  readonly httpServer: AttachableServer | undefined;
  /** The listening address (attached: the application server's), or null when not listening. */
  address(): AddressInfo | null;

  /**
   * The namespace `name`, created on first use: `io.of('/admin')`. With a RegExp or a function,
   * a parent namespace that creates child namespaces for the names it accepts:
   * `io.of(/^\/room-\d+$/)`, `io.of((name, auth, next) => next(null, auth.ok === true))`.
   * `fn` is added as a 'connection' listener.
   */
  of(
    name: string,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  of(
    name: RegExp | ParentNspNameMatchFn,
    fn?: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>) => void,
  ): ParentNamespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /**
   * Sets the adapter class of every namespace (existing ones get a new adapter, with their rooms):
   * `io.adapter(createRedisAdapter({ url }))`. Without an argument, returns the current one.
   */
  adapter(): AdapterConstructor;
  adapter(v: AdapterConstructor): this;
  /** Adds a connection middleware to the main namespace. */
  use(
    fn: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, next: (err?: ExtendedError) => void) => void,
  ): this;

  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  readonly volatile: BroadcastOperator<EmitEvents, SocketData>;
  readonly local: BroadcastOperator<EmitEvents, SocketData>;
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>;
  /** Ack timeout for emit with a callback: the callback gets an error when it expires. */
  timeout(ms: number): BroadcastOperator<EmitEvents, SocketData>;

  /** Emits to every socket of the main namespace. Throws for reserved event names. */
  emit<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<ExpectMultipleResponses<EmitEvents>, Ev>
  ): boolean;
  /** Emits and resolves with every recipient's answer (rejects on timeout). */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>[]>;
  /** Sends a `message` event to every socket. */
  send(...args: any[]): this;
  write(...args: any[]): this;

  fetchSockets(): Promise<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;

  /**
   * Emits to the other servers of the cluster; they receive it with `io.on(ev, …)`. With a
   * callback last, `(err, responses)` gets one answer per other server.
   */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: any[]): boolean;
  /** Promise of the other servers' answers to a serverSideEmit. */
  serverSideEmitWithAck<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: any[]): Promise<any[]>;

  /** Counters from the native core. */
  stats(): ServerStats;
  /** The stats() counters in the Prometheus text exposition format (see metricsHandler). */
  metrics(): string;

  /**
   * Closes every connection and releases the port. Safe to call twice; resolves when done (the
   * callback, if any, is called too).
   */
  close(fn?: (err?: Error) => void): Promise<void>;
}

/** A room name (every socket is also in the room named by its id). */
export type Room = string;

/** Decides whether a dynamic namespace accepts the name a client asked for. */
export type ParentNspNameMatchFn = (
  name: string,
  auth: { [key: string]: any },
  next: (err: Error | null, success: boolean) => void,
) => void;

/** Events of `io.engine`. */
export interface EngineEventsMap {
  /** A request the Engine.IO layer refused (bad handshake, unknown sid, refused by allowRequest…). */
  connection_error: (err: { req: EngineRequest; code: number; message: string; context?: Record<string, unknown> }) => void;
  /** Headers to add to the handshake response of a new session. */
  initial_headers: (headers: Record<string, string | string[]>, req: EngineRequest) => void;
  /** Headers to add to every Engine.IO response (the handshake included). */
  headers: (headers: Record<string, string | string[]>, req: EngineRequest) => void;
}

/** `io.engine`. */
export declare class Engine extends StrictEventEmitter<{}, EngineEventsMap> {
  /** Open Engine.IO sessions. */
  readonly clientsCount: number;
  /** The server's options. */
  readonly opts: ServerOptions;
}

/** `socket.conn`: the Engine.IO connection shared by the namespace sockets of one client. */
export declare class EngineConnection extends StrictEventEmitter<
  {},
  { upgrade: (transport: { name: string }) => void; close: (reason: string) => void }
> {
  readonly id: number;
  readonly transport: { readonly name: string };
  readonly readyState: 'open' | 'closed';
  /** Whether the connection runs over WebSocket (from the start or after an upgrade). */
  readonly upgraded: boolean;
  /** Closes the connection and every namespace socket on it. */
  close(): this;
}

// ---------------------------------------------------------------------------------------------
// Adapter

/** How an adapter selects sockets: any of `rooms` (every socket when empty), none of `except`. */
export interface BroadcastOptions {
  rooms: Set<Room>;
  except?: Set<Room>;
  flags?: { volatile?: boolean; local?: boolean; timeout?: number; compress?: boolean };
}

/** A packet as adapters see it: `data` is `[event, ...args]`. */
export interface AdapterPacket {
  type: number;
  nsp: string;
  data: any[];
  id?: number;
}

/**
 * A namespace's rooms and broadcast, as socket.io-adapter's in-memory Adapter: `socket.rooms` is a
 * view of `sids`. Extend it (calling `super`) for a custom adapter and pass the class to
 * `io.adapter()` or the `adapter` server option.
 */
export interface AdapterEventsMap {
  'create-room': (room: Room) => void;
  'delete-room': (room: Room) => void;
  'join-room': (room: Room, id: string) => void;
  'leave-room': (room: Room, id: string) => void;
}

export declare class Adapter extends StrictEventEmitter<AdapterEventsMap, {}> {
  constructor(nsp: Namespace);
  readonly nsp: Namespace;
  /** Room -> ids of the sockets in it. */
  rooms: Map<Room, Set<string>>;
  /** Socket id -> its rooms. */
  sids: Map<string, Set<Room>>;
  init(): Promise<void> | void;
  close(): Promise<void> | void;
  serverCount(): Promise<number>;
  addAll(id: string, rooms: Iterable<Room>): void;
  del(id: string, room: Room): void;
  delAll(id: string): void;
  socketRooms(id: string): Set<Room> | undefined;
  sockets(rooms: Set<Room>): Promise<Set<string>>;
  /** Every room name (of every server, with a cluster adapter). */
  allRooms(): Promise<Set<Room>>;
  broadcast(packet: AdapterPacket, opts: BroadcastOptions): void;
  broadcastWithAck(
    packet: AdapterPacket,
    opts: BroadcastOptions,
    clientCountCallback: (clientCount: number) => void,
    ack: (...args: any[]) => void,
  ): void;
  fetchSockets(opts: BroadcastOptions): Promise<any[]>;
  addSockets(opts: BroadcastOptions, rooms: Room[]): void;
  delSockets(opts: BroadcastOptions, rooms: Room[]): void;
  disconnectSockets(opts: BroadcastOptions, close: boolean): void;
  serverSideEmit(packet: any[]): void;
}

/** A session kept for connection state recovery. */
export interface Session {
  sid: string;
  pid: string;
  rooms: Room[];
  data: any;
}

/** The adapter used with connectionStateRecovery: logs packets, keeps and restores sessions. */
export declare class SessionAwareAdapter extends Adapter {
  readonly maxDisconnectionDuration: number;
  readonly sessions: Map<string, Session & { disconnectedAt: number }>;
  persistSession(session: Session): void;
  restoreSession(pid: string, offset: string | undefined): (Session & { missedPackets: unknown[] }) | null;
  /** What the packet log holds. */
  logStats(): { packets: number; bytes: number; sessions: number };
}

export type AdapterConstructor = typeof Adapter | ((nsp: Namespace) => Adapter);

/** Options of createRedisAdapter. */
export interface RedisAdapterOptions {
  /**
   * `redis://[[user][:password]@]host[:port][/db]`, or `rediss://…` for TLS (certificate and host
   * name verified). Default `redis://127.0.0.1:6379`.
   */
  url?: string;
  /** Channel prefix: @socket.io/redis-adapter's `key` (classic), `channelPrefix` (sharded). Default 'socket.io'. */
  key?: string;
  /**
   * 'classic': @socket.io/redis-adapter's createAdapter (PUBLISH / PSUBSCRIBE). 'sharded': its
   * createShardedAdapter (SPUBLISH / SSUBSCRIBE, Redis 7, "dynamic" subscription mode). Default 'classic'.
   */
  mode?: 'classic' | 'sharded';
  /** How long a request to the other nodes (and counting them) may take, in ms. Default 5000. */
  requestsTimeout?: number;
  /** With `rediss://`: PEM files of the CAs to trust (default: the system's), of a client certificate and its key. */
  tls?: {
    caFile?: string;
    certFile?: string;
    keyFile?: string;
    /** Name for SNI and verification; default: the URL's host. */
    servername?: string;
    /** false: the server's certificate is not verified (tests only). Default true. */
    rejectUnauthorized?: boolean;
  };
}

/** A socket of another node of the cluster, as fetchSockets returns it (socket.io's RemoteSocket). */
export declare class RemoteSocket<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
  readonly id: string;
  readonly handshake: Handshake;
  readonly rooms: Set<Room>;
  readonly data: SocketData;
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  join(room: Room | Room[]): void;
  leave(room: Room | Room[]): void;
  disconnect(close?: boolean): this;
}

/**
 * An adapter class for a fleet on one Redis, wire-compatible with @socket.io/redis-adapter 8.x
 * nodes: `io.adapter(createRedisAdapter({ url: 'redis://127.0.0.1:6379' }))`. The core publishes
 * and fans out broadcasts in C++; requests (fetchSockets, serverSideEmit, …) go through JavaScript.
 */
export declare function createRedisAdapter(opts?: RedisAdapterOptions): typeof Adapter;

// ---------------------------------------------------------------------------------------------
// Namespace

/** A Socket.IO namespace: its sockets, middlewares and broadcast entry points. */
export declare class Namespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends StrictEventEmitter<
  ServerSideEvents,
  NamespaceReservedEventsMap<ListenEvents, EmitEvents, ServerSideEvents, SocketData>
> {
  readonly name: string;
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  /** Connected sockets by id. */
  readonly sockets: Map<string, Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>;
  /** This namespace's rooms and broadcast. */
  readonly adapter: Adapter;

  /** Adds a connection middleware: `nsp.use((socket, next) => next(err?))`. */
  use(
    fn: (socket: Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>, next: (err?: ExtendedError) => void) => void,
  ): this;

  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  readonly volatile: BroadcastOperator<EmitEvents, SocketData>;
  readonly local: BroadcastOperator<EmitEvents, SocketData>;
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>;
  /** Ack timeout for emit with a callback: the callback gets an error when it expires. */
  timeout(ms: number): BroadcastOperator<EmitEvents, SocketData>;

  emit<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<ExpectMultipleResponses<EmitEvents>, Ev>
  ): boolean;
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>[]>;
  send(...args: any[]): this;
  write(...args: any[]): this;

  fetchSockets(): Promise<Socket<ListenEvents, EmitEvents, ServerSideEvents, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;

  /**
   * Emits to the other servers of the cluster; they receive it with `io.on(ev, …)`. With a
   * callback last, `(err, responses)` gets one answer per other server.
   */
  serverSideEmit<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: any[]): boolean;
  /** Promise of the other servers' answers to a serverSideEmit. */
  serverSideEmitWithAck<Ev extends EventNames<ServerSideEvents>>(ev: Ev, ...args: any[]): Promise<any[]>;
}

/** A dynamic namespace (`io.of(regexp | fn)`): its middlewares and listeners apply to every child. */
export declare class ParentNamespace<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData> {
  /** The namespaces created so far for accepted names. */
  readonly children: Set<Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>>;
}

// ---------------------------------------------------------------------------------------------
// Socket

/** A client's connection to one namespace. */
export declare class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
  ServerSideEvents extends EventsMap = DefaultEventsMap,
  SocketData = any,
> extends StrictEventEmitter<ListenEvents, SocketReservedEventsMap> {
  /** Session id (20 url-safe characters); also the name of the socket's own room. */
  readonly id: string;
  readonly nsp: Namespace<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly server: Server<ListenEvents, EmitEvents, ServerSideEvents, SocketData>;
  readonly handshake: Handshake;
  /** The HTTP request that opened the connection (socket.io's socket.request), IncomingMessage-like. */
  readonly request: EngineRequest;
  /** Free-form application data. */
  data: SocketData;
  /** With connectionStateRecovery: this socket came back with its id, rooms, data and missed packets. */
  readonly recovered: boolean;
  readonly connected: boolean;
  readonly disconnected: boolean;
  /** Rooms the socket is in (its own id included). */
  readonly rooms: Set<Room>;
  /** The underlying Engine.IO connection, shared by the client's namespace sockets. */
  readonly conn: EngineConnection;

  /**
   * Sends an event; a function as last argument receives the client's ack. Returns true.
   * Throws for reserved event names (connect, disconnect, …).
   */
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<EmitEvents, Ev>): boolean;
  /** Emits and resolves with the client's answer (after timeout(): rejects when it expires). */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>>;
  /** Sets an ack timeout for the next emit: the ack callback then receives an error first. */
  timeout(ms: number): TimeoutSocket<EmitEvents>;
  /** The next emit is dropped if the client is not ready to receive it. */
  readonly volatile: this;
  /** Whether the next emit may be compressed (when perMessageDeflate is on and negotiated). */
  compress(compress: boolean): this;
  /** Sends a `message` event. */
  send(...args: any[]): this;
  write(...args: any[]): this;

  join(rooms: Room | Room[]): void;
  leave(room: Room): void;
  /** Broadcasts to a room, excluding this socket. */
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  /** Broadcasts to every other socket of the namespace. */
  readonly broadcast: BroadcastOperator<EmitEvents, SocketData>;

  /** Disconnects from the namespace; with `close` true, closes the whole connection. */
  disconnect(close?: boolean): this;

  /** Per-packet middleware: `socket.use(([event, ...args], next) => next())`. */
  use(fn: (event: [string, ...any[]], next: (err?: Error) => void) => void): this;
  onAny(listener: (event: string, ...args: any[]) => void): this;
  prependAny(listener: (event: string, ...args: any[]) => void): this;
  offAny(listener?: (event: string, ...args: any[]) => void): this;
  listenersAny(): ((event: string, ...args: any[]) => void)[];
  onAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  prependAnyOutgoing(listener: (event: string, ...args: any[]) => void): this;
  offAnyOutgoing(listener?: (event: string, ...args: any[]) => void): this;
  listenersAnyOutgoing(): ((event: string, ...args: any[]) => void)[];
}

/** What `socket.timeout(ms)` returns: emit's ack callback gets `(err, ...answer)`. */
export interface TimeoutSocket<EmitEvents extends EventsMap> {
  emit<Ev extends EventNames<EmitEvents>>(ev: Ev, ...args: EventParams<DecorateAcknowledgements<EmitEvents>, Ev>): boolean;
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>>;
  readonly volatile: TimeoutSocket<EmitEvents>;
  compress(compress: boolean): TimeoutSocket<EmitEvents>;
}

// ---------------------------------------------------------------------------------------------
// BroadcastOperator

/**
 * An immutable broadcast builder: every modifier returns a new operator.
 * `io.to('room1').except('muted').volatile.emit('news', data)`.
 */
export declare class BroadcastOperator<EmitEvents extends EventsMap = DefaultEventsMap, SocketData = any> {
  to(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  in(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  except(room: Room | Room[]): BroadcastOperator<EmitEvents, SocketData>;
  compress(compress: boolean): BroadcastOperator<EmitEvents, SocketData>;
  readonly volatile: BroadcastOperator<EmitEvents, SocketData>;
  readonly local: BroadcastOperator<EmitEvents, SocketData>;
  /** Ack timeout for emit with a callback: the callback gets an error when it expires. */
  timeout(ms: number): BroadcastOperator<EmitEvents, SocketData>;

  /**
   * Emits to every matching socket. With a callback last, waits for every recipient's ack and
   * calls `cb(err, responses)`. Throws for reserved event names.
   */
  emit<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: EventParams<ExpectMultipleResponses<EmitEvents>, Ev>
  ): boolean;
  /** Resolves with every recipient's answer; rejects when timeout() expires first. */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    ev: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstArg<Last<EventParams<EmitEvents, Ev>>>[]>;

  fetchSockets(): Promise<Socket<any, EmitEvents, any, SocketData>[]>;
  socketsJoin(room: Room | Room[]): void;
  socketsLeave(room: Room | Room[]): void;
  disconnectSockets(close?: boolean): void;
}

// ---------------------------------------------------------------------------------------------
// Documents

/** Options of `new Server({ documents: … })`. Times in milliseconds. */
/** socket.io's (ws's) perMessageDeflate options that apply; see docs/API.md. */
export interface PerMessageDeflateOptions {
  /** Payload bytes from which a message is compressed (default 1024). */
  threshold?: number;
  /** zlib level, -1 (default, 6) to 9. */
  zlibDeflateOptions?: { level?: number };
  /** Largest deflate window the server uses, 9 to 15 (default 15). */
  serverMaxWindowBits?: number;
}

export interface DocumentsOptions {
  /** Default true; `documents: false` is the same as `{ enabled: false }`. */
  enabled?: boolean;
  /**
   * Attached mode: which WebSocket upgrades are documents. A path prefix ('/docs'), or a function
   * of the upgrade request. Default: every upgrade outside `path` (Socket.IO) that no other
   * `upgrade` listener of the application's server took. The document name is the request path
   * without its leading '/', as y-websocket's server takes it ('/docs/a' is 'docs/a').
   */
  path?: string | ((req: { url: string; headers: Record<string, string | string[] | undefined> }) => boolean);
  /**
   * Where documents are stored (SQLite). A folder path (the database is `<dir>/collabio.sqlite`),
   * `{ dir }`, or `{ path }` of the database file. `durability: 'full'` (default) makes an update
   * durable before it is relayed; 'normal' trades the last moments before a power loss for speed.
   * Without persistence documents live in memory only.
   */
  persistence?: string | PersistenceOptions | HostPersistence | false;
  /**
   * Decides whether a y-websocket connection may open a document: true (read-write), 'read-only',
   * false (refused), or a promise of one of these. Without it every connection is read-write.
   */
  authorize?: (ctx: DocumentAuthContext) => AuthorizeResult | Promise<AuthorizeResult>;
  /** How long a document with no connection or handle stays loaded. */
  unloadDelay?: number;
  /** Largest y-websocket message accepted. */
  maxMessageSize?: number;
  /** y-websocket keep-alive interval. */
  keepAlive?: number;
  /** Batching window of 'update' events delivered to document handles. */
  updateDebounce?: number;
  /**
   * Least time between two relays of one document to its clients (ms, default 2); updates that
   * arrive in between go out as one merged update. 0: merge only what has already arrived.
   */
  relayInterval?: number;
  /** Compact a document's stored updates after this many entries… */
  compactAfterEntries?: number;
  /** …or after this many bytes. */
  compactAfterBytes?: number;
  /** Most documents loaded at once. */
  maxDocuments?: number;
  /** permessage-deflate for document connections (off by default, as y-websocket's server). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Also serve Hocuspocus providers (@hocuspocus/provider, Tiptap) at `ws://host:port<path>`, on
   * the same documents (and awareness) as y-websocket clients. One socket carries many documents.
   */
  hocuspocus?: HocuspocusOptions | false;
  /**
   * Cluster mode: every node on this Redis serves every document, each keeping a replica in step
   * through one Redis stream per document (see the README, "Cluster mode for documents"). Redis
   * stores the documents then; `persistence` (SQLite or `{ load, store }`) beside it is read once
   * for a document Redis lacks, seeding Redis (the first node to seed wins), and receives each
   * snapshot the compactor writes. Awareness crosses nodes by pub/sub on `<prefix>:{<name>}:awareness`.
   */
  redis?: string | DocumentsRedisOptions | false;
}

export interface DocumentsRedisOptions {
  /**
   * `redis://[[user]:password@]host[:port][/db]` or `rediss://…` (TLS). With `cluster`, a seed
   * node of the Redis Cluster. Required unless `nodes` is given.
   */
  url?: string;
  /**
   * The Redis is a Redis Cluster (default false): each command goes to the master serving its
   * document's slot, redirections (MOVED, ASK) are followed, and one reader per slot in use blocks
   * on its master. See docs/LIMITS.md for what cluster mode does not do (no reads from replicas).
   */
  cluster?: boolean;
  /** Seed nodes of a Redis Cluster (implies `cluster: true`): the slot map is asked of each in turn. */
  nodes?: string[];
  /** Prefix of every key and channel (default 'collabio'): keys are `<prefix>:{<name>}:updates|snapshot|lease`. */
  prefix?: string;
  /**
   * Appends held while Redis is unreachable (default 10000). Past it the editor's update is not
   * acknowledged: its document's clients are closed with 1013 and reconnect.
   */
  maxQueued?: number;
  /** Stream entries kept behind the snapshot when it is trimmed, in ms (default 60000). */
  trimWindow?: number;
  /** rediss:// only: `ca` is the path of a PEM file of CAs to trust (default: the system's). */
  tls?: { ca?: string; rejectUnauthorized?: boolean };
}

export interface HocuspocusOptions {
  /** The WebSocket path providers connect to, e.g. '/collab'. */
  path: string;
  /** Most documents one socket may open (default 100); one more closes the socket with 1008. */
  maxDocumentsPerConnection?: number;
  /** Longest document address in bytes (default 1024); longer closes the socket with 1008. */
  maxNameLength?: number;
}

export type PersistenceOptions =
  | { dir: string; durability?: 'full' | 'normal' }
  | { path: string; durability?: 'full' | 'normal' };

/**
 * Persistence done by the application: `load` supplies a document's state when it is first
 * opened, `store` receives its whole state (a Yjs update v1) `debounce` ms after the last change
 * (default 2000), and at least every `maxDebounce` ms (default 10000) while changes keep coming.
 */
export interface HostPersistence {
  load?: (name: string) => Uint8Array | null | undefined | Promise<Uint8Array | null | undefined>;
  store?: (name: string, state: Uint8Array) => void | Promise<void>;
  debounce?: number;
  maxDebounce?: number;
}

/** What `authorize` may answer. */
export type AuthorizeResult = boolean | 'read-only' | 'read-write' | { readOnly?: boolean } | null | undefined;

/** The request a client opened a document with. */
export interface DocumentAuthContext {
  /** Document name (y-websocket: the URL path without the leading '/'). */
  name: string;
  /** Which protocol the client speaks. */
  protocol: 'y-websocket' | 'hocuspocus';
  /** Hocuspocus: the token of the provider's Auth message ('' when it set none). */
  token?: string;
  /** Hocuspocus: the id this document connection will have (stateless events, connections()). */
  connection?: number;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  address: string;
  url: string;
}

export interface DocumentsEventsMap {
  /** A document was loaded (created or read back from storage). */
  create: (name: string) => void;
  /** A document was unloaded from memory. */
  unload: (name: string) => void;
  /** A HostPersistence.store call failed (the error's `cause` is what it threw). */
  error: (err: Error) => void;
  /** The last connection of a document left (it unloads after `unloadDelay`). */
  idle: (name: string) => void;
  /** A Hocuspocus provider sent a stateless message (provider.sendStateless). */
  stateless: (event: StatelessEvent) => void;
}

export interface StatelessEvent {
  /** Document name. */
  name: string;
  /** The document connection that sent it. */
  connection: number;
  payload: string;
  /** Sends a stateless message back to that connection only. */
  reply(payload: string): void;
}

export interface DocumentHandleEventsMap {
  /** Yjs updates (v1 encoding) integrated into the document, in order. */
  update: (updates: Uint8Array[]) => void;
}

/** `io.documents`: the application's window onto the native documents. */
export declare class Documents extends StrictEventEmitter<DocumentsEventsMap, {}> {
  /** Path of the SQLite database when persistence is on. */
  readonly file?: string;
  /** Number of documents loaded in memory. */
  readonly loaded: number;
  /** Opens a handle on document `name`, loading it if needed; it stays loaded until handle.close(). */
  open(name: string): DocumentHandle;
  /** Alias of open(). */
  get(name: string): DocumentHandle;
  /** HostPersistence: stores every document with pending changes now (io.close() does this). */
  flush(): Promise<void>;
  /** Sends a stateless message to every Hocuspocus connection of document `name`. */
  broadcastStateless(name: string, payload: string): void;
  /** Sends a stateless message to one Hocuspocus connection of document `name`. */
  sendStateless(name: string, connection: number, payload: string): void;
}

/** A handle on one document. */
export declare class DocumentHandle extends StrictEventEmitter<DocumentHandleEventsMap, {}> {
  readonly name: string;
  /** The whole document, or what a peer at `stateVector` lacks, as a Yjs update v1. */
  encodeState(stateVector?: Uint8Array): Promise<Uint8Array>;
  /** The document's state vector. */
  encodeStateVector(): Promise<Uint8Array>;
  /** Integrates an update as if a client sent it: relayed to clients, durable when resolved. */
  applyUpdate(update: Uint8Array): Promise<void>;
  /** Root type `name` read as Y.Text. */
  getText(name: string): Promise<string>;
  /** Root type `name` read as Y.Map, as JSON. */
  getMap(name: string): Promise<Record<string, unknown>>;
  /** Root type `name` read as Y.Array, as JSON. */
  getArray(name: string): Promise<unknown[]>;
  /** The document's client connections (a Hocuspocus socket counts once per document it opened). */
  connections(): Promise<{ id: number; readOnly: boolean; protocol: 'y-websocket' | 'hocuspocus' }[]>;
  /** Sends a stateless message to every Hocuspocus connection of the document. */
  broadcastStateless(payload: string): void;
  /** Sends a stateless message to one Hocuspocus connection of the document. */
  sendStateless(connection: number, payload: string): void;
  /** Closes every client connection of the document (clients may reconnect). */
  disconnectAll(): Promise<void>;
  /** Approximate bytes the native document holds. */
  memoryUsage(): Promise<number>;
  /** Releases the handle; safe to call twice. */
  close(): void;
}

// ---------------------------------------------------------------------------------------------
// Metrics

/** The parts of an http.IncomingMessage the metrics handler reads. */
export interface MetricsRequest {
  url?: string;
  method?: string;
}

/** The parts of an http.ServerResponse the metrics handler uses. */
export interface MetricsResponse {
  writeHead(status: number, headers?: Record<string, string | number>): unknown;
  end(body?: string): unknown;
}

export interface MetricsHandlerOptions {
  /** Path served. Default '/metrics'. */
  path?: string;
}

/**
 * A request handler serving `io.metrics()` (Prometheus text format) for GET/HEAD at `path`:
 * `http.createServer(metricsHandler(io)).listen(9464)`, or `app.use(metricsHandler(io))` in
 * Express (other requests go to `next`; without `next` they get 404).
 */
export declare function metricsHandler(
  io: { metrics(): string },
  opts?: MetricsHandlerOptions,
): (req: MetricsRequest, res: MetricsResponse, next?: (err?: unknown) => void) => void;

/** Formats a stats object as Prometheus text (what io.metrics() returns). */
export declare function formatMetrics(stats: Partial<ServerStats> | Record<string, unknown>): string;
