'use strict';
// A loopback TCP front, as a load balancer would be: each connection goes to the first backend
// (in the front's order) that accepts it, and is cut when that backend goes away, so a client
// that reconnects lands on the next live one. Bytes are piped unchanged (WebSocket upgrade
// included). Closed when the test ends.
const net = require('node:net');

/**
 * @param {import('node:test').TestContext} t
 * @param {() => number[]} backends ports to try, in order, for each new connection
 * @returns {Promise<{ port: number, url: string, landed: number[] }>} `landed`: the backend port of
 *   each connection, in order of arrival
 */
function startFront(t, backends) {
  const sockets = new Set();
  const landed = [];
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    const ports = backends();
    const attempt = (i) => {
      if (i >= ports.length || client.destroyed) {
        client.destroy();
        return;
      }
      const upstream = net.connect(ports[i], '127.0.0.1');
      let connected = false;
      upstream.on('error', () => {
        if (connected) return; // the 'close' below cuts the client
        upstream.destroy();
        attempt(i + 1);
      });
      upstream.once('connect', () => {
        connected = true;
        landed.push(ports[i]);
        sockets.add(upstream);
        upstream.on('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        client.on('close', () => upstream.destroy());
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    attempt(0);
  });
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => server.close(resolve));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({ port, url: `ws://127.0.0.1:${port}`, landed });
    });
  });
}

module.exports = { startFront };
