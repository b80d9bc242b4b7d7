'use strict';
// One server plus the clients of one test, all closed when the test ends (t.after), so that the
// test process exits by itself.
const { startServer } = require('./servers');
const { Clients } = require('./clients');

/**
 * @param {import('node:test').TestContext} t
 * @param {object} [opts] server options
 * @returns {Promise<{io: any, url: string, port: number, clients: Clients, close: () => Promise<void>}>}
 *
 * Every server socket answers 'echo' (args..., ack) with ack(...args), which the tests use to
 * prove a connection still works. Server sockets get a no-op 'error' listener: socket.io emits
 * 'error' on the server socket for an invalid Socket.IO packet before closing the connection.
 */
async function setup(t, opts = {}) {
  const server = await startServer(opts);
  const clients = new Clients(server.url);
  server.io.on('connection', (socket) => {
    socket.on('error', () => {});
    socket.on('echo', (...args) => {
      const ack = args.pop();
      if (typeof ack === 'function') ack(...args);
    });
  });
  t.after(async () => {
    clients.closeAll();
    await server.close();
  });
  return { ...server, clients };
}

/** Resolves with the next server-side socket to connect. */
function nextConnection(io) {
  return new Promise((resolve) => io.once('connection', resolve));
}

module.exports = { setup, nextConnection };
