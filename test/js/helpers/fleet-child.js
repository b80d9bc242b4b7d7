'use strict';
// A node in its own process:
//   node fleet-child.js <redis url> <classic|sharded> [socket.io|collabio] [maxDisconnectionDuration ms]
// (the last: a collabio node with connection state recovery; see fleet.js collabioNode).
// Prints "port N" once listening. Its sockets are set up by joinFromAuth, and it answers
// serverSideEmit 'ping' with its pid, so the killed-node tests can tell it is part of the fleet.
// Over IPC, { cmd: 'emit', room, event, args } broadcasts from this node; the parent going away
// ends it.
const { stockNode, collabioNode, joinFromAuth } = require('./fleet');

(async () => {
  const [url, mode, kind = 'socket.io', recovery] = process.argv.slice(2);
  const node =
    kind === 'collabio'
      ? await collabioNode(url, { mode, maxDisconnectionDuration: recovery === undefined ? undefined : Number(recovery) })
      : await stockNode(url, { mode });
  joinFromAuth(node.io);
  node.io.on('ping', (ack) => ack(process.pid));
  process.on('message', (m) => {
    if (m.cmd === 'emit') node.io.to(m.room).emit(m.event, ...m.args);
  });
  process.on('disconnect', () => process.exit(0));
  process.stdout.write(`port ${new URL(node.url).port}\n`);
})().catch((err) => {
  console.error(err);
  process.exit(1);
});
