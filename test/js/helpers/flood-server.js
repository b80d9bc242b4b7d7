'use strict';
// A collabio server in a child process for the inbound backpressure tests
// (test/js/hardening-backpressure.test.js): its memory is read from /proc/<pid> and holds nothing of
// the test's clients.
//
//   node flood-server.js '<options JSON>'
// Sends { ready: true, port, pid } once listening. Every socket:
// - 'flood' (seq, payload): checks that seq is the next one of that socket, counts it, and relays
//   the payload to an empty room (io.to('nobody').emit), a trivial handler that still costs the
//   work of an emit;
//   with `stallEvery` in the options, every stallEvery-th event blocks the JS thread for stallMs (a
//   slow handler, a GC pause: what makes a backlog pile up);
// - 'relay' (seq, payload): sends both to the other members of the room 'room', which every
//   socket joins when it connects;
// - 'echo' (...args, ack): answers at once.
// Answers { cmd: 'stats', ask } (ask: the request's number, echoed in the answer) with { stats: io.stats(), floods, floodBytes, outOfOrder, breaks } and
// { cmd: 'close' } with { closed: true } (then exits 0). `breaks` lists the first sequence breaks,
// { socket (in connection order), at (that socket's event count), expected, got, pauses
// (io.stats().inboundPauses then) }, so that a failed order check shows the shape of the disorder:
// two events swapped, a block moved, a repeat, another socket's events, right after a pause or not.
const { Server } = require('../../..');

const { stallEvery = 0, stallMs = 0, ...opts } = JSON.parse(process.argv[2] || '{}');
const io = new Server(opts);
let floods = 0;
let floodBytes = 0;
let outOfOrder = 0;
const breaks = [];
const MAX_BREAKS = 40;
let sockets = 0;
io.on('connection', (socket) => {
  let next = 0;
  let received = 0;
  const index = sockets++;
  socket.join('room');
  socket.on('error', () => {});
  socket.on('relay', (seq, payload) => socket.to('room').emit('relay', seq, payload));
  socket.on('flood', (seq, payload) => {
    if (seq !== next) {
      outOfOrder++;
      if (breaks.length < MAX_BREAKS) breaks.push({ socket: index, at: received, expected: next, got: seq, pauses: io.stats().inboundPauses });
    }
    received++;
    next = seq + 1;
    floods++;
    floodBytes += payload.length;
    io.to('nobody').emit('flood', seq, payload);
    if (stallEvery && floods % stallEvery === 0) {
      for (const until = Date.now() + stallMs; Date.now() < until; );
    }
  });
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});
io.listen(0, '127.0.0.1');

process.on('message', (m) => {
  if (m.cmd === 'stats') {
    process.send({ ask: m.ask, stats: io.stats(), floods, floodBytes, outOfOrder, breaks, memory: process.memoryUsage() });
  } else if (m.cmd === 'close') {
    io.close().then(() => process.send({ ask: m.ask, closed: true }, () => process.exit(0)));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port: io.address().port, pid: process.pid });
