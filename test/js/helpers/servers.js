'use strict';
// Starts the server under test. SIO_IMPL=socket.io runs the same tests against the reference
// socket.io server (this proves the tests right); the default runs them against collabio.
const http = require('node:http');

const IMPL = process.env.SIO_IMPL || 'collabio';

/**
 * @param {object} [opts] server options with socket.io names (pingInterval, pingTimeout,
 *   maxHttpBufferSize, connectTimeout, ...)
 * @returns {Promise<{io: any, url: string, port: number, close: () => Promise<void>}>}
 */
async function startServer(opts = {}) {
  let io;
  let port;
  if (IMPL === 'socket.io') {
    const { Server } = require('socket.io');
    const httpServer = http.createServer();
    io = new Server(opts);
    io.attach(httpServer);
    await new Promise((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen(0, '127.0.0.1', resolve);
    });
    port = httpServer.address().port;
  } else if (IMPL === 'collabio') {
    const { Server } = require('../../..');
    io = new Server(opts);
    await io.listen(0);
    port = io.address().port;
  } else {
    throw new Error(`unknown SIO_IMPL ${IMPL}`);
  }
  let closed = false;
  return {
    io,
    port,
    url: `http://127.0.0.1:${port}`,
    async close() {
      if (closed) return;
      closed = true;
      await io.close();
      // Every test that closes a collabio server also checks that its shutdown ended on its own:
      // the core stops I/O threads that still have work after closeTimeout + 1 s, which is a bug.
      if (IMPL === 'collabio' && io.stats().forcedShutdowns !== 0) {
        throw new Error('io.close() had to stop I/O threads that still had work (COLLABIO_SHUTDOWN_FORCED)');
      }
    },
  };
}

module.exports = { startServer, IMPL };
