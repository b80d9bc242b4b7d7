'use strict';
// Attached mode: collabio inside the application's own http.Server / https.Server (Express,
// Fastify, Koa, ...), as socket.io's `new Server(httpServer)` and engine.io's `attach()`.
//
// Node accepts the connections. What belongs to collabio goes to the native core:
// - a WebSocket upgrade on a plain TCP socket is handed over: the core adopts a duplicate of the
//   socket's descriptor together with the bytes Node has already read (the request head, `head`,
//   anything buffered), and Node's socket is destroyed without a byte sent. From then on the
//   connection is the core's, exactly like one it accepted itself.
// - what cannot be handed over (a TLS socket, which only Node can decrypt; a handle that is not TCP)
//   and every Engine.IO long-polling request from the `request` event are relayed: the core serves
//   one end of a socket pair and this module copies bytes between it and Node's socket / response.
//   A polling request is relayed alone, so the application's other requests on the same keep-alive
//   connection stay Node's.
//
// Threads: Node's main thread only. Owner of everything here: the attached Server.

const net = require('node:net');
const http = require('node:http');
const debug = require('./debug')('collabio:attach');
const { queryOf } = require('./query');

// Hop-by-hop headers (RFC 9110 7.6.1): never copied between the two legs of a relay.
const { engineErrors } = require('./constants');

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

/** The request head as the client sent it (method, target, version, raw headers in order). */
function requestHead(req) {
  let head = `${req.method} ${req.url} HTTP/${req.httpVersion}\r\n`;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return Buffer.from(head + '\r\n', 'latin1');
}

/** True when the socket is Node's plain TCP socket on a descriptor this process can duplicate. */
function adoptable(socket) {
  const handle = socket._handle; // a TCP wrap; there is no public API for its descriptor
  return (
    !socket.encrypted &&
    !socket.destroyed &&
    handle != null &&
    typeof handle.fd === 'number' &&
    handle.fd >= 0 &&
    typeof handle.readStop === 'function' &&
    handle.constructor &&
    handle.constructor.name === 'TCP'
  );
}

/**
 * Stops Node reading from `socket` and returns what it read but did not deliver. Synchronous: no
 * libuv read can run between the drain and readStop, so no byte is lost or read twice.
 */
function stopAndDrain(socket) {
  const chunks = [];
  let chunk;
  while ((chunk = socket.read()) !== null) chunks.push(chunk);
  socket._handle.readStop();
  socket._handle.reading = false; // net.Socket's own flag: a later resume() starts reading again
  return chunks;
}

class Attachment {
  /**
   * @param {import('./server').Server} io
   * @param {import('node:http').Server} httpServer
   */
  constructor(io, httpServer) {
    this.io = io;
    this.httpServer = httpServer;
    this.secure = typeof httpServer.setSecureContext === 'function' || httpServer instanceof require('node:https').Server;
    const path = io._path;
    this._isEngineIo = (url) => url.startsWith(path);
    this._isDocument = documentMatcher(io.opts.documents);
    this._relays = new Set(); // open relayed sockets (closed with the server)

    // engine.io's attach(): our listener sees every request first; the others run for the rest.
    const listeners = httpServer.listeners('request').slice(0);
    httpServer.removeAllListeners('request');
    this._restoreRequest = () => {
      httpServer.removeListener('request', this._onRequest);
      for (const l of listeners) httpServer.on('request', l);
    };
    this._onRequest = (req, res) => {
      if (this._isEngineIo(req.url)) {
        this.allow(req, (refusal) => {
          if (refusal) {
            res.writeHead(403, { 'content-type': 'application/json' });
            res.end(refusal);
          } else {
            this.relayRequest(req, res);
          }
        });
        return;
      }
      for (const l of listeners) l.call(httpServer, req, res);
    };
    this._onUpgrade = (req, socket, head) => this.onUpgrade(req, socket, head);
    this._onClose = () => io.close();
    httpServer.on('request', this._onRequest);
    httpServer.on('upgrade', this._onUpgrade);
    httpServer.on('close', this._onClose);
  }

  /** Removes the listeners (io.close()). */
  detach() {
    this._restoreRequest();
    this.httpServer.removeListener('upgrade', this._onUpgrade);
    this.httpServer.removeListener('close', this._onClose);
    for (const s of this._relays) s.destroy();
    this._relays.clear();
  }

  onUpgrade(req, socket, head) {
    if (this._isEngineIo(req.url)) {
      this.allow(req, (refusal) => {
        if (!refusal) {
          this.handOff(req, socket, head);
        } else if (socket.writable) {
          socket.end(
            `HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: application/json\r\n` +
              `Content-Length: ${Buffer.byteLength(refusal)}\r\n\r\n${refusal}`,
          );
        }
      });
      return;
    }
    let doc;
    try {
      doc = this._isDocument(req);
    } catch (err) {
      // The application's documents.path function threw: its bug, this upgrade's failure only.
      this.io._warnings.warn('COLLABIO_DOCUMENTS_PATH_FAILED', `documents.path threw: ${err && err.message}`);
      refuse(socket, 500, 'documents.path failed');
      return;
    }
    if (doc === true) {
      this.handOff(req, socket, head);
    } else if (doc === undefined) {
      // Default: a document unless another `upgrade` listener takes the socket. Listeners added
      // before or after ours run in this same emit; look once it is over.
      const errors = socket.listenerCount('error');
      const data = socket.listenerCount('data');
      setImmediate(() => {
        const taken =
          socket.destroyed ||
          socket.bytesWritten > 0 ||
          socket.listenerCount('error') !== errors ||
          socket.listenerCount('data') !== data ||
          socket.readableFlowing === true;
        if (taken) return;
        this.handOff(req, socket, head);
      });
    }
    // doc === false: another listener's business (or none: Node's default is then no answer,
    // as with socket.io; engine.io ends such sockets after destroyUpgradeTimeout).
    else if (this.io.opts.destroyUpgrade !== false) {
      const timeout = this.io.opts.destroyUpgradeTimeout || 1000;
      socket.on('error', () => {});
      setTimeout(() => {
        if (socket.writable && socket.bytesWritten <= 0) socket.end();
      }, timeout).unref();
    }
  }

  /**
   * allowRequest with the application's real request (engine.io's verify): asked for a new session
   * (a GET with a transport and no sid) before anything reaches the core. Calls done() when
   * allowed, else done(the Engine.IO error body) after emitting io.engine's 'connection_error'.
   * The core does not ask again for sessions of an attached server (Engine#_onHandshake).
   */
  allow(req, done) {
    const fn = this.io.opts.allowRequest;
    if (typeof fn !== 'function' || req.method !== 'GET') return done(null);
    const query = queryOf(req.url);
    const { transport } = query;
    if (query.sid !== undefined || (transport !== 'polling' && transport !== 'websocket')) return done(null);
    let answered = false;
    const answer = (err, success) => {
      if (answered) return;
      answered = true;
      if (success) return done(null);
      const message = typeof err === 'string' ? err : err && err.message;
      req._query = query;
      this.io.engine.emit('connection_error', { req, code: engineErrors.FORBIDDEN, message: 'Forbidden', context: { message } });
      done(JSON.stringify({ code: engineErrors.FORBIDDEN, message: message || 'Forbidden' }));
    };
    try {
      fn(req, answer);
    } catch (err) {
      answer(err, false);
    }
  }

  /**
   * Gives the connection behind an upgrade request to the core: adopted when it is a plain TCP
   * socket, else relayed. What the core cannot take (the server is closing, descriptors are
   * exhausted) is answered with a 503 and closed: never left hanging.
   */
  handOff(req, socket, head) {
    if (socket.destroyed) return;
    if (this.io._closing) {
      refuse(socket, 503, 'server shutting down');
      return;
    }
    const parts = [requestHead(req), head];
    if (adoptable(socket)) {
      parts.push(...stopAndDrain(socket));
      const prefix = Buffer.concat(parts);
      if (this.io._native.adopt(socket._handle.fd, prefix, '', false)) {
        // The core holds its own descriptor: closing Node's sends nothing (no shutdown, and the
        // connection lives on through the duplicate).
        socket.destroy();
        return;
      }
      // Could not duplicate (descriptors exhausted) or the server is closing: relay what was read.
      debug('adopt failed for %s: relaying', req.url);
      this.relaySocket(socket, prefix);
      return;
    }
    this.relaySocket(socket, Buffer.concat(parts));
  }

  /** Copies bytes both ways between `socket` and a socket pair the core serves. */
  relaySocket(socket, prefix) {
    let pair;
    try {
      pair = new net.Socket({ fd: this.io._native.relay(prefix, socket.remoteAddress || '', !!socket.encrypted), readable: true, writable: true });
    } catch (err) {
      this.handOffFailed(err);
      refuse(socket, 503, this.io._closing ? 'server shutting down' : 'cannot take the connection now');
      return;
    }
    this._relays.add(pair);
    const done = () => {
      this._relays.delete(pair);
      socket.destroy();
      pair.destroy();
    };
    pair.on('error', done);
    socket.on('error', done);
    pair.on('close', done);
    socket.on('close', done);
    socket.pipe(pair);
    pair.pipe(socket);
  }

  /**
   * A hand-off the core refused. While the server runs that is a resource failure (no descriptor
   * for the duplicate or the socket pair): the operator hears of it (a CollabioWarning), the
   * client gets a 503.
   */
  handOffFailed(err) {
    debug('hand-off refused: %s', err.message);
    if (!this.io._closing) this.io._warnings.warn('COLLABIO_HANDOFF_FAILED', `attached mode could not hand a connection to the core: ${err.message}`);
  }

  /**
   * An Engine.IO HTTP request (long-polling, handshake, client bundle, CORS preflight): relayed to
   * the core on its own socket pair, the response written back on `res`.
   */
  relayRequest(req, res) {
    const cors = this.io.opts.cors;
    if (cors && typeof cors.origin === 'function' && req.headers.origin !== undefined) {
      // The `cors` package's rule: origin(requestOrigin, cb(err, allowed)) for every request.
      let answered = false;
      const decide = (err, allowed) => {
        if (answered) return;
        answered = true;
        if (err) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('CORS origin check failed');
          return;
        }
        this.relayEngineRequest(req, res, allowedOrigin(allowed, req.headers.origin));
      };
      try {
        cors.origin(req.headers.origin, decide);
      } catch (err) {
        decide(err);
      }
      return;
    }
    this.relayEngineRequest(req, res, undefined);
  }

  /** relayRequest after the CORS decision: `origin` is the allowed origin, false, or undefined (as configured). */
  relayEngineRequest(req, res, origin) {
    let fd;
    try {
      fd = this.io._native.relay(null, req.socket.remoteAddress || '', !!req.socket.encrypted);
    } catch (err) {
      this.handOffFailed(err);
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end(`collabio: ${this.io._closing ? 'server shutting down' : 'cannot take the connection now'}`);
      return;
    }
    const pair = new net.Socket({ fd, readable: true, writable: true });
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
    headers.connection = 'close';
    const out = http.request({ createConnection: () => pair, method: req.method, path: req.url, headers, setHost: false });
    const fail = (err) => {
      debug('relay of %s failed: %s', req.url, err && err.message);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('Bad Gateway');
      } else {
        res.destroy();
      }
    };
    out.on('error', fail);
    out.on('response', (answer) => {
      const h = {};
      for (const [k, v] of Object.entries(answer.headers)) if (!HOP_BY_HOP.has(k)) h[k] = v;
      if (origin === false) {
        for (const k of Object.keys(h)) if (k.startsWith('access-control-')) delete h[k];
      } else if (typeof origin === 'string') {
        h['access-control-allow-origin'] = origin;
      }
      res.writeHead(answer.statusCode, h);
      answer.pipe(res);
      answer.on('error', fail);
    });
    // A client that goes away (a held GET, say) closes the core's side too.
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
    req.pipe(out);
  }
}

/**
 * Answers an upgrade request the core cannot take with `status` and closes the connection, unless
 * something was already written on it (then it is only closed).
 */
function refuse(socket, status, message) {
  if (socket.destroyed) return;
  if (!socket.writable || socket.bytesWritten > 0) {
    socket.destroy();
    return;
  }
  const body = `collabio: ${message}`;
  socket.on('error', () => {}); // the client may already be gone; the close below is all we owe it
  socket.resume(); // read (and drop) what the client still sends, so that its close is seen
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  // A client that never reads must not hold the socket: end() waits for the write to drain.
  socket.setTimeout(10000, () => socket.destroy());
}

/**
 * What a cors.origin function's callback value allows for `requestOrigin` (the `cors` package's
 * rules): the origin to send back, or false for no CORS headers.
 */
function allowedOrigin(allowed, requestOrigin) {
  if (allowed === true) return requestOrigin;
  if (typeof allowed === 'string') return allowed === '*' ? '*' : allowed;
  if (allowed instanceof RegExp) return allowed.test(requestOrigin) ? requestOrigin : false;
  if (Array.isArray(allowed)) {
    return allowed.some((o) => (o instanceof RegExp ? o.test(requestOrigin) : o === requestOrigin)) ? requestOrigin : false;
  }
  return false;
}

/**
 * documents.path: a prefix ("/docs"), a function(req) -> boolean, or unset (undefined is returned:
 * "a document unless another listener takes it"). false disables documents in attached mode.
 */
function documentMatcher(documents) {
  const d = documents || {};
  if (documents === false || d.enabled === false) return () => false;
  if (typeof d.path === 'function') return (req) => !!d.path(req);
  if (typeof d.path === 'string') {
    const prefix = d.path;
    return (req) => req.url === prefix || req.url.startsWith(prefix.endsWith('/') ? prefix : prefix + '/') || req.url.startsWith(prefix + '?');
  }
  return () => undefined;
}

module.exports = { Attachment, requestHead };
