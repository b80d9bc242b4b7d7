#!/usr/bin/env node
'use strict';
// `npm run soak [-- --minutes 5 --sio 400 --yjs 100 --docs 20]`: an opt-in endurance run.
//
// A collabio server runs in a child process (so its RSS is its own). This process keeps a churning
// population of real clients against it for N minutes: socket.io-client sockets that join a room
// and emit (the server relays to the room), and y-websocket providers that edit shared documents.
// Every client lives a few seconds, then disconnects; every few seconds a separate process full of
// clients is killed with SIGKILL mid-traffic. Afterwards it checks:
//   - no leaked connections: io.stats().connections and io.engine.clientsCount return to 0 and
//     every document unloads;
//   - documents converge: the server's text, a provider that stayed connected throughout, and a
//     fresh provider agree for every document;
//   - RSS: the server's RSS after the clients left stays near its level after warm-up.
// Prints the figures; exits 1 when a check fails.
const { fork } = require('node:child_process');
const path = require('node:path');

const argv = process.argv.slice(2);
const flag = (name, def) => {
  const i = argv.indexOf('--' + name);
  return i >= 0 ? Number(argv[i + 1]) : def;
};

// ---------------------------------------------------------------------------------------------
// Server child

if (argv[0] === '--server-child') {
  const { Server } = require('..');
  const io = new Server({ documents: { unloadDelay: 1000 } });
  io.on('connection', (socket) => {
    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack();
    });
    socket.on('msg', (room, data) => io.to(room).emit('msg', data));
  });
  io.listen(0, '127.0.0.1');
  process.on('message', async (m) => {
    if (m.cmd === 'stats') {
      process.send({ id: m.id, stats: io.stats(), clients: io.engine.clientsCount, docs: io.documents.loaded, rss: process.memoryUsage().rss });
    } else if (m.cmd === 'text') {
      const h = io.documents.open(m.name);
      const text = await h.getText('t');
      h.close();
      process.send({ id: m.id, text });
    } else if (m.cmd === 'close') {
      await io.close();
      process.send({ id: m.id });
      process.exit(0);
    }
  });
  process.send({ port: io.address().port });
  return;
}

// ---------------------------------------------------------------------------------------------
// Victim child: clients that are killed with SIGKILL while they work

const { io: ioClient } = require('socket.io-client');
const Y = require('yjs');
const { WebsocketProvider } = require('y-websocket');
const WebSocket = require('ws');

const rnd = (n) => Math.floor(Math.random() * n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function sioClient(port, room, counters) {
  const s = ioClient(`http://127.0.0.1:${port}`, { transports: ['websocket'], forceNew: true, reconnection: false });
  s.on('connect', () => {
    counters.sioConnected++;
    s.emit('join', room, () => {
      s.timer = setInterval(() => {
        s.emit('msg', room, { t: Date.now(), pad: 'x'.repeat(rnd(200)) });
        counters.emitted++;
      }, 1000 + rnd(2000));
    });
  });
  s.on('msg', () => counters.received++);
  s.on('connect_error', () => counters.errors++);
  s.stop = () => {
    clearInterval(s.timer);
    s.disconnect();
  };
  return s;
}

function provider(port, name, counters) {
  const doc = new Y.Doc();
  const p = new WebsocketProvider(`ws://127.0.0.1:${port}`, name, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
  p.on('sync', (synced) => {
    if (!synced || p.timer) return;
    counters.yjsSynced++;
    p.timer = setInterval(() => {
      const t = doc.getText('t');
      if (t.length > 2000 && Math.random() < 0.5) t.delete(rnd(t.length - 10), 5);
      else t.insert(rnd(t.length + 1), String.fromCharCode(97 + rnd(26)).repeat(1 + rnd(4)));
      counters.edits++;
    }, 500 + rnd(2500));
  });
  p.stop = () => {
    clearInterval(p.timer);
    p.destroy();
    doc.destroy();
  };
  return p;
}

const docName = (i) => `soak-doc-${i}`;

if (argv[0] === '--victim') {
  const port = Number(argv[1]);
  const docs = Number(argv[2]);
  const counters = { sioConnected: 0, emitted: 0, received: 0, errors: 0, yjsSynced: 0, edits: 0 };
  for (let i = 0; i < 20; i++) sioClient(port, 'room-' + rnd(40), counters);
  for (let i = 0; i < 5; i++) provider(port, docName(rnd(docs)), counters);
  setInterval(() => process.send && process.send(counters), 500);
  return;
}

// ---------------------------------------------------------------------------------------------
// Driver

async function main() {
  process.setMaxListeners(0); // every y-websocket provider adds an 'exit' listener
  const minutes = flag('minutes', 2);
  const nSio = flag('sio', 400);
  const nYjs = flag('yjs', 100);
  const nDocs = flag('docs', 20);
  const t0 = Date.now();
  const server = fork(__filename, ['--server-child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const pending = new Map();
  let nextId = 1;
  const port = await new Promise((resolve) => server.once('message', (m) => resolve(m.port)));
  server.on('message', (m) => {
    const p = pending.get(m.id);
    if (p) {
      pending.delete(m.id);
      p(m);
    }
  });
  const ask = (cmd, extra = {}) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      server.send({ cmd, id, ...extra });
    });

  console.log(`soak: ${minutes} min, ${nSio} socket.io + ${nYjs} y-websocket clients at a time, ${nDocs} documents, port ${port}`);
  const counters = { sioConnected: 0, emitted: 0, received: 0, errors: 0, yjsSynced: 0, edits: 0 };
  const victims = { spawned: 0, killed: 0, sioConnected: 0, yjsSynced: 0, edits: 0 };

  // Observers: one provider per document that stays for the whole run.
  const observers = [];
  for (let d = 0; d < nDocs; d++) {
    const doc = new Y.Doc();
    observers.push(new WebsocketProvider(`ws://127.0.0.1:${port}`, docName(d), doc, { WebSocketPolyfill: WebSocket, disableBc: true }));
  }

  const live = new Set();
  const spawnSio = () => {
    const s = sioClient(port, 'room-' + rnd(40), counters);
    live.add(s);
    setTimeout(() => {
      s.stop();
      live.delete(s);
      if (running) spawnSio();
    }, 3000 + rnd(12000));
  };
  const spawnYjs = () => {
    const p = provider(port, docName(rnd(nDocs)), counters);
    live.add(p);
    setTimeout(() => {
      p.stop();
      live.delete(p);
      if (running) spawnYjs();
    }, 3000 + rnd(12000));
  };
  let running = true;
  // Ramp up over ~5 s so the population starts staggered.
  for (let i = 0; i < nSio; i++) setTimeout(spawnSio, rnd(5000));
  for (let i = 0; i < nYjs; i++) setTimeout(spawnYjs, rnd(5000));

  // Abrupt deaths: a process of 25 clients killed with SIGKILL every ~8 s.
  const victimTimer = setInterval(() => {
    const v = fork(__filename, ['--victim', String(port), String(nDocs)], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    victims.spawned++;
    let last = null;
    v.on('message', (m) => (last = m));
    setTimeout(() => {
      v.kill('SIGKILL');
      victims.killed++;
      if (last) {
        victims.sioConnected += last.sioConnected;
        victims.yjsSynced += last.yjsSynced;
        victims.edits += last.edits;
      }
    }, 2000 + rnd(3000));
  }, 8000);

  const samples = [];
  let warmRss = null;
  const endAt = t0 + minutes * 60000;
  while (Date.now() < endAt) {
    await sleep(5000);
    const s = await ask('stats');
    samples.push(s.rss);
    if (warmRss === null && Date.now() - t0 > 20000) warmRss = s.rss;
    const mb = (s.rss / 1048576).toFixed(0);
    console.log(
      `  t=${((Date.now() - t0) / 1000).toFixed(0)}s connections=${s.stats.connections} docs=${s.docs} ` +
        `rss=${mb}MB queued=${s.stats.bytesQueued} sio=${counters.sioConnected} yjs=${counters.yjsSynced} ` +
        `edits=${counters.edits} emitted=${counters.emitted} received=${counters.received} killed=${victims.killed}`,
    );
  }

  // Wind down: stop churn, let the last victim die, disconnect everyone but the observers.
  running = false;
  clearInterval(victimTimer);
  await sleep(6000);
  for (const c of live) c.stop();
  live.clear();
  const failures = [];

  // Convergence: observers vs server vs a fresh provider, per document.
  const serverTexts = [];
  const converged = await (async () => {
    const deadline = Date.now() + 30000;
    for (;;) {
      let ok = true;
      for (let d = 0; d < nDocs; d++) {
        const { text } = await ask('text', { name: docName(d) });
        serverTexts[d] = text;
        if (observers[d].doc.getText('t').toString() !== text) ok = false;
      }
      if (ok || Date.now() > deadline) return ok;
      await sleep(500);
    }
  })();
  if (!converged) failures.push('observers did not converge with the server');
  let freshOk = 0;
  for (let d = 0; d < nDocs; d++) {
    const doc = new Y.Doc();
    const p = new WebsocketProvider(`ws://127.0.0.1:${port}`, docName(d), doc, { WebSocketPolyfill: WebSocket, disableBc: true });
    const start = Date.now();
    while (!p.synced && Date.now() - start < 10000) await sleep(20);
    if (doc.getText('t').toString() === serverTexts[d]) freshOk++;
    p.destroy();
    doc.destroy();
  }
  if (freshOk !== nDocs) failures.push(`fresh providers agreed on ${freshOk}/${nDocs} documents`);
  const totalChars = serverTexts.reduce((n, t) => n + t.length, 0);
  for (const o of observers) {
    o.destroy();
    o.doc.destroy();
  }

  // Leaks: connections and documents back to zero.
  let final;
  const drainStart = Date.now();
  for (;;) {
    final = await ask('stats');
    if ((final.stats.connections === 0 && final.clients === 0 && final.docs === 0) || Date.now() - drainStart > 30000) break;
    await sleep(250);
  }
  if (final.stats.connections !== 0) failures.push(`${final.stats.connections} connections left open`);
  if (final.clients !== 0) failures.push(`${final.clients} Engine.IO clients left`);
  if (final.docs !== 0) failures.push(`${final.docs} documents still loaded`);
  if (final.stats.bytesQueued !== 0) failures.push(`${final.stats.bytesQueued} bytes still queued`);
  await sleep(3000);
  const idle = await ask('stats');
  const peak = Math.max(...samples);
  const mb = (b) => (b / 1048576).toFixed(0) + ' MB';
  // Generous: allocator caches and the store's page cache may keep some of the peak.
  if (warmRss !== null && idle.rss > warmRss * 2 + 64 * 1048576) failures.push(`RSS after the run ${mb(idle.rss)} vs ${mb(warmRss)} after warm-up`);

  console.log('\nsoak figures');
  console.log(`  duration                ${((Date.now() - t0) / 60000).toFixed(1)} min`);
  console.log(`  socket.io connections   ${counters.sioConnected + victims.sioConnected} (${victims.sioConnected} in killed processes)`);
  console.log(`  y-websocket syncs       ${counters.yjsSynced + victims.yjsSynced + nDocs * 2} (${victims.yjsSynced} in killed processes)`);
  console.log(`  processes SIGKILLed     ${victims.killed}`);
  console.log(`  edits                   ${counters.edits + victims.edits}`);
  console.log(`  emits / deliveries      ${counters.emitted} / ${counters.received}`);
  console.log(`  connect errors          ${counters.errors}`);
  console.log(`  documents converged     ${converged ? 'yes' : 'NO'} (${nDocs} docs, ${totalChars} chars; fresh providers agree on ${freshOk})`);
  console.log(`  connections after       ${final.stats.connections}, engine clients ${final.clients}, documents loaded ${final.docs}`);
  console.log(`  server RSS              warm-up ${warmRss ? mb(warmRss) : '-'}, peak ${mb(peak)}, after ${mb(idle.rss)}`);
  await ask('close');
  if (failures.length) {
    console.log('\nFAILED:\n  ' + failures.join('\n  '));
    process.exit(1);
  }
  console.log('\nsoak passed');
  process.exit(0);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
