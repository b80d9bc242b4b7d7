'use strict';
// After the Yjs throughput workload: a fresh Y.Doc per document must receive every update the load
// generator sent (the sum of the lengths of arrays a0..a<writers-1> equals what was sent).
// Argument: {url, writers, docs:[{name, expected}]}. Prints {"event":"result", ok, missing}.

const { Y, connect, withTimeout } = require('./yjs-common');

const cfg = JSON.parse(process.argv[2]);

async function check({ name, expected }) {
  const doc = new Y.Doc();
  const c = connect('yws', cfg.url, name, doc);
  const total = () => Array.from({ length: cfg.writers }, (_, w) => doc.getArray(`a${w}`).length).reduce((a, b) => a + b, 0);
  try {
    await withTimeout(
      new Promise((resolve) => {
        const chk = () => total() >= expected && resolve();
        doc.on('update', chk);
        chk();
      }),
      10000,
      `document ${name} complete`,
    );
    return 0;
  } catch {
    return expected - total();
  } finally {
    c.destroy();
  }
}

(async () => {
  let missing = 0;
  for (const d of cfg.docs) missing += await check(d);
  process.stdout.write(JSON.stringify({ event: 'result', ok: missing === 0, missing }) + '\n');
  setTimeout(() => process.exit(0), 100);
})();
