'use strict';
// Failures the server handles with no client to tell: a failed compaction of a stored document, an
// exception that escaped a native I/O handler, a CONNECT auth payload JSON.parse refused, a write of
// connection state recovery to Redis (lib/redis-recovery.js). Each one is counted (io.stats(), the
// metrics) and logged as a process warning: Node prints it to stderr ("(node:PID) CollabioWarning:
// ..."), and an application can route it with process.on('warning'). A failure that repeats logs at
// most one line per code every WARN_INTERVAL_MS, saying how many were not logged since.

const debug = require('./debug')('collabio:warnings');

const WARN_INTERVAL_MS = 10000;

class Warnings {
  constructor() {
    this._last = new Map(); // code -> { at: ms of the last line, quiet: failures not logged since }
  }

  /**
   * Logs `message` under `code` (e.g. 'COLLABIO_COMPACTION_FAILED') unless a line with that code
   * was logged within WARN_INTERVAL_MS.
   * @param {string} code
   * @param {string} message
   */
  warn(code, message) {
    debug('%s: %s', code, message);
    const now = Date.now();
    const last = this._last.get(code);
    if (last && now - last.at < WARN_INTERVAL_MS) {
      last.quiet++;
      return;
    }
    const quiet = last ? last.quiet : 0;
    this._last.set(code, { at: now, quiet: 0 });
    const more = quiet ? ` (${quiet} more since the last warning)` : '';
    process.emitWarning(`collabio: ${message}${more}`, { type: 'CollabioWarning', code });
  }
}

module.exports = { Warnings, WARN_INTERVAL_MS };
