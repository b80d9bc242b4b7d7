'use strict';
// What every bench server process agrees on with its harness (bench/run.js `start`): it prints
// {"port":N} on stdout once it listens, and it stops when its stdin closes (the harness is gone) or
// on SIGTERM, whichever comes first.

/** Tells the harness that the server listens on 127.0.0.1:`port`. */
function ready(port) {
  process.stdout.write(JSON.stringify({ port }) + '\n');
}

/**
 * Exits the process after `stop()` (a server's own close, sync or async) when stdin ends or on
 * SIGTERM. A close that fails or takes longer than `graceMs` does not keep the process alive: the
 * harness reads the server's CPU up to its exit, and a hung close must not hang the run.
 * Safe to trigger twice (both signals may arrive); only the first one stops the server.
 */
function stopOnRequest(stop, graceMs = 3000) {
  let stopping = false;
  const quit = async () => {
    if (stopping) return;
    stopping = true;
    const closed = Promise.resolve()
      .then(stop)
      .catch(() => {});
    await Promise.race([closed, new Promise((r) => setTimeout(r, graceMs))]);
    process.exit(0);
  };
  process.on('SIGTERM', quit);
  process.stdin.on('end', quit);
  process.stdin.resume();
}

module.exports = { ready, stopOnRequest };
