'use strict';
// A collabio node with connection state recovery on the Redis adapter, in its own process (so that
// a test can SIGKILL it): node recovery-node.js <redis url> <maxDisconnectionDuration ms>.
// Prints "port N" once listening. A new socket joins the room its auth names and keeps auth.data
// as socket.data; 'emit' { room, event, args } from the parent (IPC) broadcasts from this node.
const { Server, createRedisAdapter } = require('../../..');

const [url, maxDisconnectionDuration] = process.argv.slice(2);
const io = new Server({
  documents: false,
  connectionStateRecovery: { maxDisconnectionDuration: Number(maxDisconnectionDuration) },
  adapter: createRedisAdapter({ url }),
});
io.listen(0, '127.0.0.1');
io.on('connection', (socket) => {
  if (socket.recovered) return;
  const { room, data } = socket.handshake.auth;
  if (data !== undefined) socket.data = data;
  if (room) socket.join(room);
});
process.on('message', (m) => {
  if (m.cmd === 'emit') io.to(m.room).emit(m.event, ...m.args);
});
process.stdout.write(`port ${io.address().port}\n`);
