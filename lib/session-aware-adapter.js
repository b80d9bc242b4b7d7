'use strict';
// Connection state recovery (socket.io 4.6+), as socket.io-adapter's in-memory
// SessionAwareAdapter: the adapter the server uses when `connectionStateRecovery` is set.
//
// - Every non-volatile event without an ack that goes through broadcast() (and, with recovery on,
//   every socket.emit of that kind) gets an offset appended as its last argument and is kept in a
//   packet log, encoded (the bytes that went to the wire).
// - A socket that goes away for one of socket.io's recoverable reasons leaves a session behind:
//   its id, pid, rooms and data (persistSession).
// - A client that comes back within maxDisconnectionDuration with its pid and last offset gets the
//   same id, rooms and data, and every logged packet after that offset that its rooms select
//   (restoreSession), in order.
//
// Bounds (docs/LIMITS.md): log entries older than maxDisconnectionDuration are dropped, and the
// oldest ones go as well while the log holds more than maxPacketLogBytes encoded bytes; a session
// lives maxDisconnectionDuration and is consumed by its recovery. An offset that fell out of the log
// is not recovered (the client connects as a new socket), as in socket.io.

const crypto = require('node:crypto');
const { Adapter } = require('./adapter');
const { TYPES, encode } = require('./parser');
const debug = require('./debug')('collabio:adapter');

class SessionAwareAdapter extends Adapter {
  constructor(nsp) {
    super(nsp);
    const o = nsp.server.opts.connectionStateRecovery;
    this.maxDisconnectionDuration = o.maxDisconnectionDuration;
    this.maxPacketLogBytes = o.maxPacketLogBytes;
    /** pid -> { sid, pid, rooms, data, disconnectedAt, since }. @type {Map<string, object>} */
    this.sessions = new Map();
    // The packet log: entries { seq, rooms, except, text, attachments, bytes, emittedAt } in
    // emission order; _log[_head] is the oldest live one (dropping from the front is O(1)).
    this._log = [];
    this._head = 0;
    this._bytes = 0;
    this._seq = 0; // sequence number of the newest logged packet
    // Offsets are this prefix and a sequence number: an offset from another process or an earlier
    // adapter of this namespace never matches.
    this._prefix = crypto.randomBytes(4).toString('base64url') + '.';
    this._timer = undefined;
  }

  init() {
    // Sessions of clients that never come back expire here; the log also expires on each append.
    const every = Math.max(1000, Math.min(60000, this.maxDisconnectionDuration / 2));
    this._timer = setInterval(() => {
      const now = Date.now();
      this._expireSessions(now);
      this._expireLog(now);
    }, every);
    this._timer.unref(); // never keeps the process alive
  }

  close() {
    clearInterval(this._timer);
    this.sessions.clear();
    this._log = [];
    this._head = 0;
    this._bytes = 0;
  }

  /** The offset a client holds after receiving the packet logged as `seq`. */
  _offset(seq) {
    return this._prefix + seq.toString(36);
  }

  /** The sequence number of `offset`, or -1 when it is not one of this adapter's. */
  _seqOf(offset) {
    if (typeof offset !== 'string' || !offset.startsWith(this._prefix)) return -1;
    const rest = offset.slice(this._prefix.length);
    if (!/^[0-9a-z]{1,11}$/.test(rest)) return -1;
    return parseInt(rest, 36);
  }

  /** The sequence number of the newest logged packet: where a socket connecting now starts. */
  currentSeq() {
    return this._seq;
  }

  /**
   * Keeps what a socket leaving for a recoverable reason needs to come back as itself.
   * @param {{ sid: string, pid: string, rooms: string[], data: any, since?: number }} session
   */
  persistSession(session) {
    session.disconnectedAt = Date.now();
    this.sessions.set(session.pid, session);
  }

  /**
   * The session `pid` with the packets its socket missed after `offset`, or null: unknown or
   * expired session, or an offset no longer in the log. The session is consumed. Without an
   * offset (a client that had received no logged packet yet; socket.io does not recover those)
   * the packets since the socket's connection are replayed.
   */
  restoreSession(pid, offset) {
    const session = this.sessions.get(pid);
    if (session === undefined) return null;
    this.sessions.delete(pid);
    const now = Date.now();
    if (session.disconnectedAt + this.maxDisconnectionDuration < now) return null;
    this._expireLog(now);
    let after;
    if (offset === undefined && typeof session.since === 'number') after = session.since;
    else after = this._seqOf(offset);
    if (after < 0 || after > this._seq) return null;
    const oldest = this._head < this._log.length ? this._log[this._head].seq : this._seq + 1;
    // Every packet after `after` must still be in the log.
    if (after + 1 < oldest) {
      debug('%s: offset of session %s fell out of the packet log', this.nsp.name, session.sid);
      return null;
    }
    return { ...session, missedPackets: this.missedAfter(after, session.rooms), seq: this._seq };
  }

  /**
   * The logged packets after `seq` that a socket in `rooms` would have received, oldest first:
   * { text, attachments } each, encoded with their offset.
   */
  missedAfter(seq, rooms) {
    const out = [];
    const mine = new Set(rooms);
    for (let i = this._head; i < this._log.length; i++) {
      const p = this._log[i];
      if (p.seq <= seq) continue;
      const included = p.rooms.length === 0 || p.rooms.some((r) => mine.has(r));
      const excluded = p.except.some((r) => mine.has(r));
      if (included && !excluded) out.push(p);
    }
    return out;
  }

  broadcast(packet, opts) {
    const flags = opts.flags || {};
    // As socket.io: events with an ack are not logged (the ack cannot follow the client to its
    // next connection), nor are volatile ones.
    if (packet.type !== TYPES.EVENT || packet.id !== undefined || flags.volatile) {
      super.broadcast(packet, opts);
      return;
    }
    const seq = ++this._seq;
    // The offset is the last argument, so the client knows the last packet it processed.
    const data = [...packet.data, this._offset(seq)];
    const [text, attachments] = encode(packet.type, this.nsp.name, undefined, data);
    let bytes = text.length;
    if (attachments) for (const a of attachments) bytes += a.length;
    const now = Date.now();
    this._log.push({ seq, rooms: [...opts.rooms], except: [...opts.except], text, attachments, bytes, emittedAt: now });
    this._bytes += bytes;
    this._expireLog(now);
    this._send(text, attachments, opts);
  }

  /** Drops log entries older than maxDisconnectionDuration, and the oldest past maxPacketLogBytes. */
  _expireLog(now) {
    const threshold = now - this.maxDisconnectionDuration;
    const log = this._log;
    while (this._head < log.length && (log[this._head].emittedAt < threshold || this._bytes > this.maxPacketLogBytes)) {
      this._bytes -= log[this._head].bytes;
      log[this._head] = undefined;
      this._head++;
    }
    // Compact once the dropped front is as long as what is left.
    if (this._head > 1024 && this._head * 2 > log.length) {
      this._log = log.slice(this._head);
      this._head = 0;
    }
  }

  /** Drops sessions older than maxDisconnectionDuration (a Map iterates oldest first). */
  _expireSessions(now) {
    const threshold = now - this.maxDisconnectionDuration;
    for (const [pid, s] of this.sessions) {
      if (s.disconnectedAt >= threshold) break;
      this.sessions.delete(pid);
    }
  }

  /** What the log holds: { packets, bytes, sessions } (tests and io.stats). */
  logStats() {
    return { packets: this._log.length - this._head, bytes: this._bytes, sessions: this.sessions.size };
  }
}

module.exports = { SessionAwareAdapter };
