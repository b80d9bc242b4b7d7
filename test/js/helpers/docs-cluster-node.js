'use strict';
// One collabio node of a documents cluster, in a child process (test/js/docs-cluster.test.js).
// argv: redisUrl port [optionsJSON] (documents options, plus `readOnlyQuery` and `storeHook`). Over IPC it sends { ready, port, pid } once listening and
// answers { cmd: 'stats' } with { stats }, { cmd: 'apply', name, update (base64) } with
// { applied: true | error }, and { cmd: 'close' } with { closed } before exiting.
const { Server } = require('../../..');

const [redisUrl, port, json] = process.argv.slice(2);
const { readOnlyQuery, storeHook, ...extra } = json ? JSON.parse(json) : {};
// storeHook: application persistence whose store() reports each call ({ stored: { name, state } },
// the state in base64) and whose load() has nothing (Redis is the source in cluster mode).
const persistence = storeHook
  ? {
      load: async () => null,
      store: async (name, state) => process.send({ stored: { name, state: Buffer.from(state).toString('base64') } }),
      debounce: 0,
      maxDebounce: 0,
    }
  : undefined;
// readOnlyQuery: connections whose URL has this query parameter are read-only, others read-write.
const authorize = readOnlyQuery ? ({ query }) => (query[readOnlyQuery] ? 'read-only' : true) : undefined;
const io = new Server({
  threads: 1,
  documents: { unloadDelay: 200, ...extra, ...(authorize && { authorize }), ...(persistence && { persistence }), redis: { url: redisUrl, ...(extra.redis || {}) } },
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
