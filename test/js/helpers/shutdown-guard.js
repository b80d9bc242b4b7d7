'use strict';
// Loaded into every test process by scripts/test.js (NODE_OPTIONS=--require): a collabio server
// whose close() had to stop I/O threads that still had work (an asynchronous operation that the
// shutdown did not end: a bug) fails the file that closed it, whichever test that was. The core
// reports it as the process warning COLLABIO_SHUTDOWN_FORCED (lib/warnings.js).
process.on('warning', (w) => {
  if (w.code !== 'COLLABIO_SHUTDOWN_FORCED') return;
  process.exitCode = 1;
  process.stderr.write(`shutdown-guard: ${w.message}\n  (this file fails: a server's close() did not end by itself)\n`);
});
