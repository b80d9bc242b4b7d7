'use strict';
// Connection state recovery across the nodes of a Redis adapter (docs/architecture.md, "Recovery
// across nodes"): a client whose node went away, even by a crash, recovers on another node with its
// id, rooms, data and every event it missed, in order.
//
// - The packet log is a Redis stream per namespace, `<key>-log#<nsp>#`. A logged event (as in
//   socket.io: non-volatile, without an ack) is appended with XADD and delivered by no one at that
//   moment: every node, the one that emitted it included, reads the stream (XREAD BLOCK) and
//   delivers its entries to its own sockets in stream order, with the entry id as the offset. So
//   all clients of all nodes see logged events in one order, and "every entry after my offset" is
//   exactly what a client missed, whichever node it comes back to. (With each node publishing and
//   delivering its own events at once, two nodes emitting together could reach two clients in two
//   orders, and a client's last offset would then not say what it missed.)
// - Sessions are Redis strings `<key>-session#<nsp>#<pid>` (JSON: sid, pid, rooms, data, since),
//   written when the socket connects and each time it joins or leaves a room, with the expiry
//   maxDisconnectionDuration, which the node renews while the socket is connected. A node that
//   crashes leaves its sessions behind as they were last written; they expire at most
//   maxDisconnectionDuration after the crash. A clean disconnect rewrites the session (its data
//   as it is then), or deletes it when the reason is not a recoverable one.
// - Recovering (restoreSession) consumes the session (GETDEL), checks with XINFO STREAM that no
//   entry after the client's offset was trimmed, and reads the entries after it (XRANGE).
// - Bounds: the stream is trimmed by age on every append (XADD MINID ~: entries older than
//   maxDisconnectionDuration go), and, approximately, by count (`maxPacketLogEntries`).
//
// Redis is reached through the native adapter's connections (adapterCommand); blocking reads have
// a connection of their own.

const { TYPES, encode, deconstruct, reconstruct } = require('./parser');
const debug = require('./debug')('collabio:redis-recovery');

// Entries delivered here, kept in memory for a socket whose recovery read the stream while this
// node went on delivering (see missedAfter): the newest ones, this many at most.
const RECENT_ENTRIES = 10000;
const READ_COUNT = 1000; // entries per XREAD
const READ_BLOCK_MS = 1000; // an XREAD waits this long, then the set of streams is read again
const RETRY_MS = 500; // after a failed read

/** "1700000000000-3" -> [1700000000000n, 3n]; null for anything else. */
function parseId(id) {
  if (typeof id !== 'string') return null;
  const m = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  return m ? [BigInt(m[1]), BigInt(m[2])] : null;
}

/** Orders two valid stream ids as Redis does: <0, 0, >0. */
function compareIds(a, b) {
  const x = parseId(a);
  const y = parseId(b);
  if (x[0] !== y[0]) return x[0] < y[0] ? -1 : 1;
  if (x[1] !== y[1]) return x[1] < y[1] ? -1 : 1;
  return 0;
}

/** [field, value, field, value, ...] -> { field: value }. */
function fieldsOf(list) {
  const out = {};
  if (!Array.isArray(list)) return out;
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]] = list[i + 1];
  return out;
}

/**
 * The stream reader of one server: one XREAD over the streams of every namespace with recovery,
 * on the native adapter's blocking connection.
 */
class LogReader {
  constructor(cluster) {
    this.cluster = cluster;
    /** stream key -> RedisRecovery */
    this.logs = new Map();
    this.running = false;
    this.closed = false;
  }

  add(recovery) {
    this.logs.set(recovery.streamKey, recovery);
    if (!this.running) {
      this.running = true;
      this._loop();
    }
  }

  remove(recovery) {
    if (this.logs.get(recovery.streamKey) === recovery) this.logs.delete(recovery.streamKey);
  }

  close() {
    this.closed = true;
  }

  async _loop() {
    while (!this.closed) {
      const ready = [...this.logs.values()].filter((r) => r.lastId !== undefined);
      if (ready.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50).unref());
        continue;
      }
      const args = ['XREAD', 'COUNT', String(READ_COUNT), 'BLOCK', String(READ_BLOCK_MS), 'STREAMS'];
      for (const r of ready) args.push(r.streamKey);
      for (const r of ready) args.push(r.lastId);
      let reply;
      try {
        reply = await this.cluster.command(args, true);
      } catch (err) {
        if (this.closed) return;
        debug('reading the packet logs failed: %s', err.message);
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
        continue;
      }
      if (this.closed) return;
      if (!Array.isArray(reply)) continue; // nil: nothing new within READ_BLOCK_MS
      for (const batch of reply) {
        if (!Array.isArray(batch) || batch.length !== 2) continue;
        const r = this.logs.get(batch[0]);
        if (r !== undefined && Array.isArray(batch[1])) r._deliver(batch[1]);
      }
    }
  }
}

/** Recovery for one namespace of a Redis adapter. */
class RedisRecovery {
  /**
   * @param {import('./redis-adapter').RedisAdapter} adapter
   * @param {{ maxDisconnectionDuration: number, maxPacketLogEntries?: number }} opts
   */
  constructor(adapter, opts) {
    this.adapter = adapter;
    this.cluster = adapter._cluster;
    this.nsp = adapter.nsp;
    const key = this.cluster.config.key;
    this.streamKey = `${key}-log#${this.nsp.name}#`;
    this.sessionPrefix = `${key}-session#${this.nsp.name}#`;
    this.maxDisconnectionDuration = opts.maxDisconnectionDuration;
    this.maxEntries = opts.maxPacketLogEntries || 100000;
    this.lastId = undefined; // the newest entry delivered here (undefined until the stream was read once)
    this.recent = []; // { id, rooms, except, text, attachments } delivered here, oldest first
    this._appends = 0;
    this._timer = undefined;
    // Settles once this node knows where it reads the stream from (init): a recovery waits for it.
    this.ready = new Promise((resolve) => (this._ready = resolve));
  }

  init() {
    // Where this node starts reading: after the newest entry (older ones were for clients that
    // were elsewhere, or are replayed by restoreSession).
    this.cluster.command(['XREVRANGE', this.streamKey, '+', '-', 'COUNT', '1']).then(
      (reply) => {
        this.lastId = Array.isArray(reply) && reply.length > 0 && Array.isArray(reply[0]) ? reply[0][0] : '0-0';
        this.cluster.logReader().add(this);
        this._ready();
      },
      (err) => {
        debug('%s: cannot read the packet log: %s; retrying', this.nsp.name, err.message);
        setTimeout(() => this.init(), RETRY_MS).unref();
      },
    );
    // Sessions of connected sockets are renewed at half their lifetime, so that a crash leaves
    // each one at most maxDisconnectionDuration to live.
    const every = Math.max(500, Math.floor(this.maxDisconnectionDuration / 2));
    this._timer = setInterval(() => this._renewSessions(), every);
    this._timer.unref();
  }

  close() {
    clearInterval(this._timer);
    this.cluster.logReader().remove(this);
  }

  // ---- the packet log ----

  /** Appends a logged event to the stream; the reader delivers it (here too). */
  append(packet, opts) {
    const attachments = [];
    const plain = deconstruct(packet.data, attachments);
    const minId = `${Math.max(0, Date.now() - this.maxDisconnectionDuration)}-0`;
    const args = ['XADD', this.streamKey, 'MINID', '~', minId, '*', 'r', JSON.stringify([...opts.rooms]), 'x', JSON.stringify([...opts.except]), 'd', JSON.stringify(plain)];
    if (attachments.length > 0) args.push('b', JSON.stringify(attachments.map((a) => a.toString('base64'))));
    if (opts.flags && opts.flags.compress === false) args.push('c', '0');
    this.cluster.command(args).then(
      () => {
        // Bounded by count too, every 1000 appends of this node (XADD takes one trimming strategy
        // at a time).
        if (++this._appends % 1000 === 0) {
          this.cluster.command(['XTRIM', this.streamKey, 'MAXLEN', '~', String(this.maxEntries)]).catch((err) => {
            this._failed('trimming the packet log', err); // MINID still bounds it by age
          });
        }
      },
      (err) => {
        // Redis unreachable: the event still reaches this node's sockets, without an offset (it
        // cannot be replayed).
        this._failed('appending an event to the packet log (it is delivered on this node only, and cannot be replayed)', err);
        const [text, att] = encode(TYPES.EVENT, this.nsp.name, undefined, packet.data);
        this.adapter._send(text, att, { rooms: opts.rooms, except: opts.except, flags: { ...(opts.flags || {}), local: true } });
      },
    );
  }

  /** A stream entry as { id, rooms, except, text, attachments, compress }, or null when malformed. */
  _entry(raw) {
    if (!Array.isArray(raw) || raw.length !== 2 || parseId(raw[0]) === null) return null;
    const f = fieldsOf(raw[1]);
    try {
      const rooms = JSON.parse(f.r);
      const except = JSON.parse(f.x);
      let data = JSON.parse(f.d);
      if (!Array.isArray(rooms) || !Array.isArray(except) || !Array.isArray(data)) return null;
      if (f.b !== undefined) data = reconstruct(data, JSON.parse(f.b).map((s) => Buffer.from(s, 'base64')));
      // The offset is the last argument, as socket.io-client expects.
      const [text, attachments] = encode(TYPES.EVENT, this.nsp.name, undefined, [...data, raw[0]]);
      return { id: raw[0], rooms, except, text, attachments, compress: f.c !== '0' };
    } catch {
      return null;
    }
  }

  /** Entries the reader got: delivered to this node's sockets, in order. */
  _deliver(entries) {
    for (const raw of entries) {
      const e = this._entry(raw);
      if (e === null) {
        this.cluster.badMessages++;
        if (Array.isArray(raw) && parseId(raw[0])) this.lastId = raw[0];
        continue;
      }
      this.lastId = e.id;
      this.recent.push(e);
      if (this.recent.length > 2 * RECENT_ENTRIES) this.recent = this.recent.slice(-RECENT_ENTRIES);
      this.adapter._send(e.text, e.attachments, { rooms: new Set(e.rooms), except: new Set(e.except), flags: { local: true, compress: e.compress } });
    }
  }

  /** Where a socket connecting now starts: the newest entry delivered here. */
  currentSeq() {
    return this.lastId === undefined ? '0-0' : this.lastId;
  }

  /**
   * The entries after `id` that this node delivered and a socket in `rooms` would have received:
   * those a recovering socket missed while its session was read (see restoreSession).
   */
  missedAfter(id, rooms) {
    if (parseId(id) === null) return [];
    const mine = new Set(rooms);
    return this.recent.filter((e) => compareIds(e.id, id) > 0 && selects(e, mine));
  }

  // ---- sessions ----

  _sessionKey(pid) {
    return this.sessionPrefix + pid;
  }

  /**
   * A write to Redis that failed and is not retried: counted (io.stats().recoveryErrors) and logged
   * as a CollabioWarning (at most one line per 10 s, lib/warnings.js).
   */
  _failed(what, err) {
    this.cluster.recoveryErrors++;
    this.cluster.server._warnings.warn('COLLABIO_RECOVERY_FAILED', `connection state recovery on ${this.nsp.name}: ${what} failed: ${err.message}`);
  }

  /** Writes the session of a connected socket (at connect, join and leave). */
  writeSession(socket) {
    if (socket.pid === undefined || !socket.connected) return;
    const rooms = this.adapter.socketRooms(socket.id);
    const session = { sid: socket.id, pid: socket.pid, rooms: rooms ? [...rooms] : [], data: socket._data, since: socket._since };
    this._set(socket.pid, session);
  }

  _set(pid, session) {
    let json;
    try {
      json = JSON.stringify(session);
    } catch (err) {
      this._failed(`storing session ${session.sid} (socket.data is not JSON: it cannot be recovered on another node)`, err);
      return;
    }
    this.cluster.command(['SET', this._sessionKey(pid), json, 'PX', String(this.maxDisconnectionDuration)]).catch((err) => {
      this._failed(`storing session ${session.sid} (it cannot be recovered on another node)`, err);
    });
  }

  /** A socket left for a recoverable reason: its session as it is now, for maxDisconnectionDuration. */
  persistSession(session) {
    this._set(session.pid, session);
  }

  /** A socket left for good (a reason socket.io does not recover from). */
  dropSession(pid) {
    this.cluster.command(['DEL', this._sessionKey(pid)]).catch((err) => {
      this._failed('deleting a session (it expires after maxDisconnectionDuration)', err);
    });
  }

  _renewSessions() {
    for (const socket of this.nsp.sockets.values()) {
      if (socket.pid === undefined) continue;
      this.cluster.command(['PEXPIRE', this._sessionKey(socket.pid), String(this.maxDisconnectionDuration)]).catch((err) => {
        this._failed(`renewing session ${socket.id} (if it expires, a crash of this node makes it unrecoverable)`, err);
      });
    }
  }

  /**
   * Resolves with the session `pid` and the packets missed after `offset` (or after the socket's
   * connection without one), or null: no such session (expired, consumed, never written), an
   * offset that is not a stream id, or entries after it trimmed from the log.
   */
  async restoreSession(pid, offset) {
    await this.ready;
    const json = await this.cluster.command(['GETDEL', this._sessionKey(pid)]);
    if (typeof json !== 'string') return null;
    let session;
    try {
      session = JSON.parse(json);
    } catch {
      return null;
    }
    if (session === null || typeof session !== 'object' || typeof session.sid !== 'string') return null;
    const after = offset === undefined ? session.since : offset;
    if (parseId(after) === null) return null;
    // Both on one connection, in this order: if nothing after `after` had been trimmed when XINFO
    // ran, nothing had been when XRANGE ran either.
    const range = this.cluster.command(['XRANGE', this.streamKey, '(' + after, '+']);
    const info = this.cluster.command(['XINFO', 'STREAM', this.streamKey]).catch((err) => {
      if (/no such key/i.test(err.message)) return null; // nothing was ever logged, or it all expired
      throw err;
    });
    const [entries, streamInfo] = await Promise.all([range, info]);
    if (streamInfo !== null) {
      const deleted = fieldsOf(streamInfo)['max-deleted-entry-id'];
      if (typeof deleted === 'string' && parseId(deleted) && compareIds(deleted, after) > 0) {
        debug('%s: offset of session %s fell out of the packet log', this.nsp.name, session.sid);
        return null;
      }
    } else if (after !== '0-0' && (!Array.isArray(entries) || entries.length === 0)) {
      // The stream is gone (expired as a whole): only a client that had seen nothing can resume.
      return null;
    }
    // Entries this node has not delivered yet are left to the reader: the socket is registered by
    // then. Those it delivered after XRANGE ran come from missedAfter(seq).
    const delivered = this.currentSeq();
    const mine = new Set(session.rooms);
    const missedPackets = [];
    let seq = after;
    for (const raw of Array.isArray(entries) ? entries : []) {
      if (!Array.isArray(raw) || parseId(raw[0]) === null || compareIds(raw[0], delivered) > 0) break;
      seq = raw[0];
      const e = this._entry(raw);
      if (e !== null && selects(e, mine)) missedPackets.push(e);
    }
    return { sid: session.sid, pid: session.pid, rooms: session.rooms, data: session.data, missedPackets, seq };
  }
}

/** Whether a socket in rooms `mine` was a recipient of entry `e`. */
function selects(e, mine) {
  const included = e.rooms.length === 0 || e.rooms.some((r) => mine.has(r));
  return included && !e.except.some((r) => mine.has(r));
}

module.exports = { RedisRecovery, LogReader, compareIds, parseId };
