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
//   it also records the most bytes io.stats() showed waiting for JavaScript when one ran
//   (`floodMaxWaiting`: those of its batch and those queued, which a sample taken between tasks
//   may miss);
//   with `stallEvery` in the options, every stallEvery-th event blocks the JS thread for stallMs (a
//   slow handler, a GC pause: what makes a backlog pile up); with `stallUntilPausedMs` as well, the
//   stall goes on past stallMs until the server has stopped reading some connection
//   (io.stats().pausedConnections > 0), or nothing more arrives for 500 ms (the clients are done),
//   or stallUntilPausedMs have passed: the backlog then reaches
//   the limits however slowly the clients send (under AddressSanitizer they send several times
//   slower, and 100 ms of stall may not let 50 of them fill 16 MiB). While a stall runs it records
//   how long the longest took (`stalls.longestMs`) and the most io.stats() showed waiting
//   (`stalls.maxInboundBytes`, `stalls.maxPausedConnections`):
//   the backlog peaks while JavaScript is blocked, when the test's sampler gets no answer;
// - 'relay' (seq, payload): sends both to the other members of the room 'room', which every
//   socket joins when it connects;
// - 'echo' (...args, ack): answers at once, and counts in `echoes` { count, whilePaused (how many
//   ran while a connection was paused for backpressure), maxWaiting (the most events waiting for
//   JavaScript, io.stats().inboundEvents, when one ran: those of its batch and those queued) }.
// With `watch` in the options ({ document, busyEveryMs, busyMs }), the application listens to the
// document's 'update' events (io.documents.get(document).on('update')): it counts each update and
// checks, per Yjs client, that its structs start where the previous update's ended (nothing lost,
// nothing reordered; `docs.breaks` lists the first breaks) and the most io.stats() showed waiting
// when a batch ran (`docs.maxInboundBytes`, `docs.maxDocumentInboundBytes`), and a timer keeps the
// JS thread busy for busyMs every busyEveryMs (a busy main thread the document connections must
// not outrun).
// Answers { cmd: 'stats', ask } (ask: the request's number, echoed in the answer) with { stats: io.stats(), floods, floodBytes, floodMaxWaiting, outOfOrder, breaks, docs, echoes, stalls } and
// { cmd: 'close' } with { closed: true } (then exits 0). `breaks` lists the first sequence breaks,
// { socket (in connection order), at (that socket's event count), expected, got, pauses
// (io.stats().inboundPauses then) }, so that a failed order check shows the shape of the disorder:
// two events swapped, a block moved, a repeat, another socket's events, right after a pause or not.
const { Server } = require('../../..');

const Y = require('yjs');

const { stallEvery = 0, stallMs = 0, stallUntilPausedMs = 0, watch, ...opts } = JSON.parse(process.argv[2] || '{}');
const io = new Server(opts);
let floods = 0;
let floodBytes = 0;
let floodMaxWaiting = 0;
let outOfOrder = 0;
const breaks = [];
const MAX_BREAKS = 40;
let sockets = 0;
const echoes = { count: 0, whilePaused: 0, maxWaiting: 0 };
const stalls = { count: 0, untilPaused: 0, longestMs: 0, maxInboundBytes: 0, maxPausedConnections: 0 };
const tick = new Int32Array(new SharedArrayBuffer(4));
const STALL_QUIET_MS = 500;

/**
 * Blocks the JS thread for stallMs; with stallUntilPausedMs, then on until a connection is paused,
 * or nothing more has arrived for STALL_QUIET_MS (the clients had no more to send: the last stall of
 * a flood), or stallUntilPausedMs have passed.
 */
function stall() {
  stalls.count++;
  const start = Date.now();
  let lastBytes = -1;
  let grewAt = start;
  for (;;) {
    const { inboundBytes, pausedConnections } = io.stats();
    stalls.maxInboundBytes = Math.max(stalls.maxInboundBytes, inboundBytes);
    stalls.maxPausedConnections = Math.max(stalls.maxPausedConnections, pausedConnections);
    const now = Date.now();
    if (inboundBytes > lastBytes) {
      lastBytes = inboundBytes;
      grewAt = now;
    }
    const elapsed = now - start;
    const quiet = now - grewAt >= STALL_QUIET_MS;
    if (elapsed >= stallMs && (!stallUntilPausedMs || pausedConnections > 0 || quiet || elapsed >= stallUntilPausedMs)) {
      if (elapsed > stallMs) stalls.untilPaused++;
      stalls.longestMs = Math.max(stalls.longestMs, elapsed);
      return;
    }
    Atomics.wait(tick, 0, 0, 1); // sleeps 1 ms: the thread stays blocked, the I/O threads read on
  }
}

const docs = { updates: 0, bytes: 0, outOfOrder: 0, breaks: [], clocks: {}, maxInboundBytes: 0, maxDocumentInboundBytes: 0 };
if (watch) {
  const handle = io.documents.get(watch.document);
  handle.on('update', (updates) => {
    // What waits for JavaScript while it runs this batch (this batch included): the backlog the
    // busy thread found, which a sample taken between tasks may miss.
    const { inboundBytes, documentInboundBytes } = io.stats();
    docs.maxInboundBytes = Math.max(docs.maxInboundBytes, inboundBytes);
    docs.maxDocumentInboundBytes = Math.max(docs.maxDocumentInboundBytes, documentInboundBytes);
    for (const u of updates) {
      const { from, to } = Y.parseUpdateMeta(u);
      for (const [client, end] of to) {
        const expected = docs.clocks[client] || 0;
        const start = from.get(client);
        if (start !== expected) {
          docs.outOfOrder++;
          if (docs.breaks.length < MAX_BREAKS) docs.breaks.push({ client, at: docs.updates, expected, got: start });
        }
        docs.clocks[client] = end;
      }
      docs.updates++;
      docs.bytes += u.length;
    }
  });
  setInterval(() => {
    for (const until = Date.now() + watch.busyMs; Date.now() < until; );
  }, watch.busyEveryMs);
}
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
    floodMaxWaiting = Math.max(floodMaxWaiting, io.stats().inboundBytes);
    io.to('nobody').emit('flood', seq, payload);
    if (stallEvery && floods % stallEvery === 0) stall();
  });
  socket.on('echo', (...args) => {
    const { inboundEvents, pausedConnections } = io.stats();
    echoes.count++;
    if (pausedConnections > 0) echoes.whilePaused++;
    echoes.maxWaiting = Math.max(echoes.maxWaiting, inboundEvents);
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
});
io.listen(0, '127.0.0.1');

process.on('message', (m) => {
  if (m.cmd === 'stats') {
    process.send({ ask: m.ask, stats: io.stats(), floods, floodBytes, floodMaxWaiting, outOfOrder, breaks, docs, echoes, stalls, memory: process.memoryUsage() });
  } else if (m.cmd === 'close') {
    io.close().then(() => process.send({ ask: m.ask, closed: true }, () => process.exit(0)));
  }
});
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port: io.address().port, pid: process.pid });
