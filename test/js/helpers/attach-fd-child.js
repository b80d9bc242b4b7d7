'use strict';
// A child process for attach-fallback.test.js: an http.Server with collabio attached, whose
// descriptors the parent can exhaust and release on command, so that the hand-off's dup() and
// socketpair() really fail (EMFILE). Started under a lowered RLIMIT_NOFILE (`ulimit -n`), so that
// exhausting the table takes a few hundred opens, not a million.
//
// Messages from the parent: 'exhaust' (open /dev/null until EMFILE), 'release' (close them all).
// Messages to the parent: { port }, { exhausted: errorCode, held }, { released: true },
// { connections } after each accepted connection.
const fs = require('node:fs');
const http = require('node:http');
const { Server } = require('../../..');

const server = http.createServer((req, res) => res.end('app'));
const io = new Server(server);
io.on('connection', (s) => s.on('echo', (m, ack) => ack(m)));
let connections = 0;
server.on('connection', () => process.send({ connections: ++connections }));
server.listen(0, '127.0.0.1', () => process.send({ port: server.address().port }));

const held = [];
process.on('message', (m) => {
  if (m === 'exhaust') {
    try {
      for (;;) held.push(fs.openSync('/dev/null', 'r'));
    } catch (err) {
      process.send({ exhausted: err.code, held: held.length });
    }
  } else if (m === 'release') {
    for (const fd of held.splice(0)) fs.closeSync(fd);
    process.send({ released: true });
  }
});
process.on('disconnect', () => process.exit(0));
