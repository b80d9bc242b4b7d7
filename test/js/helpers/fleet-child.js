'use strict';
// A node in its own process: node fleet-child.js <redis url> <classic|sharded> [socket.io|collabio].
// Prints "port N" once listening. Its sockets join the room their auth names, and it answers
// serverSideEmit 'ping' with its pid, so the killed-node tests can tell it is part of the fleet.
const { stockNode, collabioNode } = require('./fleet');

(async () => {
  const [url, mode, kind = 'socket.io'] = process.argv.slice(2);
  const node = kind === 'collabio' ? await collabioNode(url, { mode }) : await stockNode(url, { mode });
  node.io.on('connection', (socket) => {
    if (socket.handshake.auth.room) socket.join(socket.handshake.auth.room);
  });
  node.io.on('ping', (ack) => ack(process.pid));
  process.stdout.write(`port ${new URL(node.url).port}\n`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
