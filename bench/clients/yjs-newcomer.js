'use strict';
// Yjs newcomer workload, two roles (argument: one JSON object):
//   {role:"load", protocol, url, docs:[names], history}  opens each document with the history file's
//       content so that the server holds it, prints {"event":"ready"} when synced, stays connected
//       until stdin closes (so that no server unloads the documents).
//   {role:"join", protocol, url, doc, expectedLength, count, pauseMs, probe}  `count` times, `pauseMs`
//       apart: a fresh Y.Doc connects and waits until it holds the whole text; prints, for each
//       join, the time until the server's SyncStep2 arrived, the time until the text was complete,
//       and the bytes received. probe (default true): first join untimed until the server serves
//       the whole document.

const fs = require('node:fs');
const { Y, connect, counters, withTimeout, nowMs } = require('./yjs-common');

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function load() {
  const update = new Uint8Array(fs.readFileSync(cfg.history));
  const conns = [];
  for (const name of cfg.docs) {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, update);
    const c = connect(cfg.protocol, cfg.url, name, doc);
    conns.push(c);
    await withTimeout(c.whenSynced, 60000, `loader ${name} synced`);
  }
  out({ event: 'ready', length: new Y.Doc().getText('t').length });
  process.stdin.resume();
  await new Promise((r) => process.stdin.on('end', r));
  for (const c of conns) c.destroy();
}

/** Connects a fresh doc; resolves with {ms, bytes} once its text has `expectedLength` characters. */
async function joinOnce(timeoutMs) {
  const doc = new Y.Doc();
  const text = doc.getText('t');
  const bytes0 = counters.bytesIn;
  counters.lastStep2At = 0;
  const t0 = nowMs();
  const c = connect(cfg.protocol, cfg.url, cfg.doc, doc);
  try {
    await withTimeout(
      new Promise((resolve) => {
        const check = () => {
          if (text.length >= cfg.expectedLength) resolve();
        };
        text.observe(check);
        check();
      }),
      timeoutMs,
      'newcomer full text',
    );
    const ms = nowMs() - t0;
    // replyMs: until the server's SyncStep2 arrived (before this client integrates it).
    const replyMs = counters.lastStep2At ? counters.lastStep2At - t0 : null;
    return { ms, replyMs, bytes: counters.bytesIn - bytes0, ok: text.length === cfg.expectedLength };
  } finally {
    c.destroy();
    doc.destroy();
  }
}

async function join() {
  // Untimed probe first: the loader's state may still be on its way into the server.
  let probe = cfg.probe === false ? {} : null;
  const deadline = nowMs() + 30000;
  while (!probe && nowMs() < deadline) {
    try {
      probe = await joinOnce(5000);
    } catch {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  if (!probe) throw new Error('the server never served the whole document');
  const runs = [];
  for (let i = 0; i < cfg.count; i++) {
    await new Promise((r) => setTimeout(r, cfg.pauseMs ?? 300));
    runs.push(await joinOnce(30000));
  }
  out({ event: 'result', runs });
}

(cfg.role === 'load' ? load() : join())
  .then(() => setTimeout(() => process.exit(0), 100))
  .catch((err) => {
    out({ event: 'error', message: String(err && err.stack ? err.stack : err) });
    process.exit(1);
  });
