'use strict';
// One collabio node of a documents cluster, in a child process (test/js/docs-cluster*.test.js).
// argv: redisUrl ('-': single-node mode) port [optionsJSON] (documents options, plus the helper's
// own: `readOnlyQuery`, `storeHook`, `loadHook`, `hocuspocusPath`). Over IPC it sends
// { ready, port, pid } once listening and answers { cmd: 'stats' } with { stats },
// { cmd: 'apply', name, update (base64) } with { applied: true | error }, and { cmd: 'close' }
// with { closed } before exiting.
const Y = require('yjs');
const { Server } = require('../../..');

const [redisUrl, port, json] = process.argv.slice(2);
const { readOnlyQuery, storeHook, loadHook, hocuspocusPath, ...extra } = json ? JSON.parse(json) : {};
// Application persistence hooks:
// - storeHook: store() reports each call ({ stored: { name, state } }, the state in base64).
// - loadHook { text }: load() reports each call ({ loaded: { name } }) and answers with a Y.Doc
//   built afresh (a new client id each call) holding `text` in the text `t`, as an application
//   that keeps its documents as text or JSON would. Two calls give two divergent states; without
//   loadHook, load() has nothing. loadHook { garbage: true }: bytes that are not a Yjs update.
const persistence =
  storeHook || loadHook
    ? {
        load: async (name) => {
          if (!loadHook) return null;
          process.send({ loaded: { name } });
          if (loadHook.garbage) return Uint8Array.from([0, 255, 255, 255, 255, 7, 1, 2]);
          const d = new Y.Doc();
          d.getText('t').insert(0, loadHook.text);
          return Y.encodeStateAsUpdate(d);
        },
        ...(storeHook && { store: async (name, state) => process.send({ stored: { name, state: Buffer.from(state).toString('base64') } }) }),
        debounce: 0,
        maxDebounce: 0,
      }
    : undefined;
// readOnlyQuery: connections whose URL has this query parameter are read-only, others read-write.
const authorize = readOnlyQuery ? ({ query }) => (query[readOnlyQuery] ? 'read-only' : true) : undefined;
const io = new Server({
  threads: 1,
  documents: {
    unloadDelay: 200,
    ...extra,
    ...(authorize && { authorize }),
    ...(persistence && { persistence }),
    ...(hocuspocusPath && { hocuspocus: { path: hocuspocusPath } }),
    ...(redisUrl !== '-' && { redis: { url: redisUrl, ...(extra.redis || {}) } }),
  },
});
io.on('error', () => {});
io.listen(Number(port), '127.0.0.1');
process.send({ ready: true, port: io.address().port, pid: process.pid });
process.on('message', async (m) => {
  if (m.cmd === 'stats') process.send({ ask: m.ask, stats: io.stats() });
  if (m.cmd === 'apply') {
    const doc = io.documents.open(m.name);
    try {
      await doc.applyUpdate(Buffer.from(m.update, 'base64'));
      process.send({ ask: m.ask, applied: true });
    } catch (err) {
      process.send({ ask: m.ask, applied: String(err.message || err) });
    } finally {
      doc.close();
    }
  }
  if (m.cmd === 'close') {
    await io.close();
    process.send({ ask: m.ask, closed: true });
    process.exit(0);
  }
});
