'use strict';
// A collabio server in a child process, driven over the IPC channel by a test that needs a process
// of its own (resource limits such as `ulimit -n`, CPU accounting from /proc/<pid>/stat, signals).
//
//   node child-server.js '<options JSON>'
// Sends { ready: true, port, pid } once listening; answers { cmd: 'stats' } with { stats } and
// { cmd: 'close' } with { closed: true, ms } (then exits 0). Every socket answers 'echo' like
// test/js/helpers/harness.js.
const { Server } = require('../../..');

const opts = JSON.parse(process.argv[2] || '{}');
const io = new Server(opts);
io.on('connection', (socket) => {
  socket.on('error', () => {});
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});
io.listen(0, '127.0.0.1');

process.on('message', (m) => {
  if (m.cmd === 'stats') {
    process.send({ ask: m.ask, stats: io.stats() });
  } else if (m.cmd === 'close') {
    const start = Date.now();
    io.close().then(() => {
      process.send({ ask: m.ask, closed: true, ms: Date.now() - start }, () => process.exit(0));
    });
  }
});
// The test going away ends this process too.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port: io.address().port, pid: process.pid });
