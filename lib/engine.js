'use strict';
// The Engine.IO side of the server as socket.io exposes it (`io.engine`): its options with
// engine.io's names, the 'connection_error' / 'initial_headers' / 'headers' events, clientsCount,
// and the per-connection `socket.conn` objects (transport name, 'upgrade' event).
//
// Transports, heartbeats and HTTP run in the native core; JavaScript is asked only when the
// application wants a say: allowRequest and the headers hooks make every new session wait for one
// round trip here before it is answered (see Engine#_onHandshake).

const { EventEmitter } = require('node:events');
const path = require('node:path');
const { parseQuery } = require('./query');
const debug = require('./debug')('collabio:engine');

const { eventKinds: EV, engineErrors, handshakeAllowed } = require('./constants');

function serializeCookie(opts) {
  // Attribute order of the `cookie` package (which engine.io uses); the value (the sid) is put
  // between `name=` and the attributes by the native core.
  let attrs = '';
  if (opts.maxAge !== undefined && opts.maxAge !== null) attrs += '; Max-Age=' + Math.floor(opts.maxAge);
  if (opts.domain) attrs += '; Domain=' + opts.domain;
  if (opts.path) attrs += '; Path=' + opts.path;
  if (opts.expires) attrs += '; Expires=' + new Date(opts.expires).toUTCString();
  if (opts.httpOnly) attrs += '; HttpOnly';
  if (opts.partitioned) attrs += '; Partitioned';
  if (opts.priority) attrs += '; Priority=' + opts.priority[0].toUpperCase() + opts.priority.slice(1).toLowerCase();
  if (opts.sameSite) {
    const s = opts.sameSite === true ? 'strict' : String(opts.sameSite).toLowerCase();
    attrs += '; SameSite=' + s[0].toUpperCase() + s.slice(1);
  }
  if (opts.secure) attrs += '; Secure';
  return attrs;
}

function list(v) {
  if (v === undefined || v === null) return undefined;
  return Array.isArray(v) ? v.join(',') : String(v);
}

function corsOptions(cors) {
  if (!cors) return undefined;
  const c = cors === true ? {} : cors;
  const out = {};
  const origin = c.origin === undefined ? '*' : c.origin;
  if (origin === false) return undefined;
  if (origin === '*') out.originMode = 'any';
  else if (origin === true) out.originMode = 'reflect';
  else if (typeof origin === 'string') {
    out.originMode = 'fixed';
    out.origin = origin;
  } else if (origin instanceof RegExp || Array.isArray(origin)) {
    out.originMode = 'list';
    out.allowed = [];
    out.patterns = [];
    for (const o of Array.isArray(origin) ? origin : [origin]) {
      if (o instanceof RegExp) out.patterns.push(o.source);
      else out.allowed.push(String(o));
    }
  } else if (typeof origin === 'function') {
    // Attached mode only: lib/attach.js asks the function per request (as the `cors` package does)
    // and trims what the core's reflected headers say; Server#listen refuses it.
    out.originMode = 'reflect';
  } else {
    throw new TypeError('collabio: cors.origin may be "*", true, a string, a RegExp, an array of them or a function');
  }
  if (c.methods !== undefined) out.methods = list(c.methods);
  if (c.allowedHeaders !== undefined || c.headers !== undefined) out.allowedHeaders = list(c.allowedHeaders ?? c.headers);
  if (c.exposedHeaders !== undefined) out.exposedHeaders = list(c.exposedHeaders);
  if (c.credentials) out.credentials = true;
  if (typeof c.maxAge === 'number') out.maxAge = c.maxAge;
  return out;
}

function clientBundle() {
  try {
    const pkgFile = require.resolve('socket.io-client/package.json');
    const { version } = require(pkgFile);
    return { dir: path.join(path.dirname(pkgFile), 'dist'), etag: `"${version}"` };
  } catch {
    return null; // socket.io-client is not installed: nothing to serve
  }
}

/**
 * permessage-deflate options for the native core from ws/engine.io's `perMessageDeflate` (false by
 * default; true or an object turns it on). Used: threshold (engine.io's default 1024),
 * zlibDeflateOptions.level, serverMaxWindowBits, and serverNoContextTakeover: false, which gives
 * each connection its own deflate stream. By default the server answers with
 * server_no_context_takeover (a broadcast is compressed once and shared; docs/architecture.md),
 * and always with client_no_context_takeover, so clientNoContextTakeover, clientMaxWindowBits and
 * concurrencyLimit have nothing to choose.
 */
function nativeDeflateOptions(pmd) {
  if (!pmd) return undefined;
  const o = pmd === true ? {} : pmd;
  const out = { threshold: 1024 };
  if (o.threshold !== undefined) out.threshold = Number(o.threshold);
  if (o.zlibDeflateOptions && o.zlibDeflateOptions.level !== undefined) out.level = Number(o.zlibDeflateOptions.level);
  if (typeof o.serverMaxWindowBits === 'number') out.maxWindowBits = o.serverMaxWindowBits;
  // ws's option: false keeps a deflate context per connection (opt-in here; see the doc above).
  if (o.serverNoContextTakeover === false) out.serverContextTakeover = true;
  if (!(out.threshold >= 0)) throw new TypeError('perMessageDeflate.threshold must be a number >= 0');
  if (out.level !== undefined && !(Number.isInteger(out.level) && out.level >= -1 && out.level <= 9)) {
    throw new TypeError('perMessageDeflate.zlibDeflateOptions.level must be an integer from -1 to 9');
  }
  if (out.maxWindowBits !== undefined && !(Number.isInteger(out.maxWindowBits) && out.maxWindowBits >= 9 && out.maxWindowBits <= 15)) {
    throw new TypeError('perMessageDeflate.serverMaxWindowBits must be an integer from 9 to 15');
  }
  return out;
}

/** The native core's `engine` options from socket.io/engine.io options. */
function nativeEngineOptions(opts) {
  const transports = opts.transports || ['polling', 'websocket'];
  const out = {
    polling: transports.includes('polling'),
    websocket: transports.includes('websocket'),
    upgradeTimeout: opts.upgradeTimeout,
    echo: !!opts._engineEcho,
  };
  const pmd = nativeDeflateOptions(opts.perMessageDeflate);
  if (pmd) out.perMessageDeflate = pmd;
  if (opts.cookie) {
    const c = Object.assign(
      { name: 'io', path: '/', httpOnly: opts.cookie.path !== false, sameSite: 'lax' },
      opts.cookie === true ? {} : opts.cookie,
    );
    out.cookieName = c.name;
    out.cookieAttributes = serializeCookie(c);
  }
  if (opts.serveClient !== false) {
    const bundle = clientBundle();
    if (bundle) {
      out.clientDir = bundle.dir;
      out.clientEtag = bundle.etag;
    }
  }
  const cors = corsOptions(opts.cors);
  if (cors) out.cors = cors;
  return out;
}

// Node-style header object -> flat [name, value, ...]; arrays become repeated headers.
function flatHeaders(h) {
  const out = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || v === null) continue;
    for (const x of Array.isArray(v) ? v : [v]) out.push(k, String(x));
  }
  return out;
}

/**
 * An IncomingMessage-like request from a native handshake: what JavaScript gets as `req` in
 * allowRequest, the headers hooks, connection_error and socket.request.
 */
function requestFrom(hs, method = 'GET') {
  const peer = { remoteAddress: hs.address, encrypted: !!hs.secure };
  return {
    method,
    url: hs.url,
    httpVersion: '1.1',
    headers: hs.headers,
    // A native handshake's query is text; socket.handshake's (socket.request) is parsed already.
    _query: typeof hs.query === 'string' ? parseQuery(hs.query) : { ...hs.query },
    connection: peer,
    socket: peer,
  };
}

/** `socket.conn`: the Engine.IO connection shared by the namespace sockets of one client. */
class EngineConnection extends EventEmitter {
  constructor(engine, conn, transport) {
    super();
    this._engine = engine;
    this._conn = conn;
    this.id = conn;
    this.transport = { name: transport };
    this.readyState = 'open';
    this.upgraded = transport === 'websocket';
  }

  close() {
    const first = this._engine._server._connSockets(this._conn)[0];
    if (first) first.disconnect(true);
    return this;
  }
}

class Engine extends EventEmitter {
  constructor(server) {
    super();
    this._server = server;
    /** @type {Map<number, EngineConnection>} */
    this._conns = new Map();
    this._hook = false;
    this.on('newListener', (ev) => {
      if (ev === 'initial_headers' || ev === 'headers') this._setHook();
    });
    if (typeof server.opts.allowRequest === 'function') this._setHook();
  }

  /** Open Engine.IO sessions (all transports). */
  get clientsCount() {
    return this._server._native.stats().engineClients;
  }

  get opts() {
    return this._server.opts;
  }

  _setHook() {
    if (this._hook) return;
    this._hook = true;
    this._server._native.setHandshakeHook(true);
  }

  /** The `socket.conn` of native connection `conn` (created on first use). */
  _connection(conn, transport) {
    let c = this._conns.get(conn);
    if (!c) {
      c = new EngineConnection(this, conn, transport || 'websocket');
      this._conns.set(conn, c);
    }
    return c;
  }

  _closed(conn, reason) {
    const c = this._conns.get(conn);
    if (!c) return;
    this._conns.delete(conn);
    c.readyState = 'closed';
    c.emit('close', reason);
  }

  _onEvent(kind, conn, nsp, data, ackId, attachments, hs, extra) {
    switch (kind) {
      case EV.HANDSHAKE:
        this._onHandshake(conn, nsp, data, hs);
        return;
      case EV.CONNECTION_ERROR: {
        // What each slot holds for this kind: the table in native/core/host_protocol.h.
        const [method, code, message] = [nsp, ackId, data];
        let context;
        try {
          context = extra ? JSON.parse(extra) : undefined;
        } catch {
          context = undefined;
        }
        this.emit('connection_error', { req: requestFrom(hs, method), code, message, context });
        return;
      }
      case EV.UPGRADE: {
        const c = this._connection(conn, 'polling');
        c.transport = { name: data };
        c.upgraded = true;
        c.emit('upgrade', c.transport);
        return;
      }
      default:
        debug('unknown engine event %d', kind);
    }
  }

  _onHandshake(requestId, transport, method, hs) {
    const req = requestFrom(hs, method);
    const finish = (allowed, message) => {
      const initial = {};
      const headers = {};
      if (allowed) {
        EventEmitter.prototype.emit.call(this, 'initial_headers', initial, req);
        EventEmitter.prototype.emit.call(this, 'headers', headers, req);
      }
      this._server._native.handshakeReply(requestId, allowed ? handshakeAllowed : engineErrors.FORBIDDEN, message || '', flatHeaders(initial), flatHeaders(headers));
    };
    const allow = this._server.opts.allowRequest;
    // Attached, lib/attach.js has asked allowRequest with the real request already.
    if (typeof allow !== 'function' || this._server._attachment) {
      finish(true);
      return;
    }
    let answered = false;
    try {
      allow(req, (err, success) => {
        if (answered) return;
        answered = true;
        if (success) finish(true);
        else finish(false, typeof err === 'string' ? err : err && err.message);
      });
    } catch (err) {
      if (!answered) {
        answered = true;
        finish(false, err && err.message);
      }
    }
  }
}

module.exports = { Engine, nativeEngineOptions, nativeDeflateOptions, requestFrom };
