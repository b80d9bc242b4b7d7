'use strict';
// The harness's side of bench/clients/yjs-editors.js's window protocol.

/**
 * Sends window edge `cmd` ("start", "latency-stop" or "stop") to every editors process in `editors`
 * (each with a `send(line)`), with one time for all of them, this process's Date.now(): an editors
 * process that reads the line late (its event loop busy) still cuts its deliveries, edits and
 * latency samples at that time.
 */
function sendEdge(editors, cmd) {
  const at = Date.now();
  for (const e of editors) e.send(`${cmd} ${at}`);
}

module.exports = { sendEdge };
