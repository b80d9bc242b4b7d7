'use strict';
// Failures the server handles with no client to tell are logged (a CollabioWarning on the process)
// and counted (io.stats(), the metrics), never swallowed: a failed compaction of a stored document,
// a CONNECT auth payload JSON.parse refuses. (An exception escaping a native I/O handler is
// test/native/core/failure_report_test.cpp.)
const test = require('node:test');
const assert = require('node:assert/strict');
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { docServer, waitFor, synced, sleep } = require('./helpers/docs');
const { Server } = require('../..');

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-warnings-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs `sql` on the store with Debian's sqlite3 shell (waiting up to 5 s for the server's lock). */
function sqlite(file, sql) {
  return execFileSync('sqlite3', ['-cmd', '.timeout 5000', file, sql], { encoding: 'utf8' }).trim();
}

/** Collects the CollabioWarnings the process emits while the test runs. */
function collectWarnings(t) {
  const seen = [];
  const on = (w) => {
    if (w.name === 'CollabioWarning') seen.push(w);
  };
  process.on('warning', on);
  t.after(() => process.off('warning', on));
  return seen;
}

test('a failed compaction is logged and counted, keeps every update, and the next update retries it', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'collabio.sqlite');
  const warnings = collectWarnings(t);
  const opts = { documents: { persistence: { dir }, compactAfterEntries: 5 } };
  {
    const { io, connect, close } = await docServer(null, opts);
    try {
      const a = connect('compacted');
      await synced(a);
      // Writing a compact state fails from now on; appending to the log still works.
      sqlite(file, `CREATE TRIGGER test_no_state BEFORE INSERT ON collabio_state BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;
                    CREATE TRIGGER test_no_state_update BEFORE UPDATE ON collabio_state BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;`);
      for (let i = 0; i < 8; i++) {
        a.doc.getText('t').insert(i, String(i));
        await sleep(20);
      }
      await waitFor(() => io.stats().compactionErrors >= 1, 'a failed compaction counted', 10000);
      await waitFor(() => warnings.some((w) => w.code === 'COLLABIO_COMPACTION_FAILED'), 'a COLLABIO_COMPACTION_FAILED warning', 5000);
      const w = warnings.find((x) => x.code === 'COLLABIO_COMPACTION_FAILED');
      assert.match(w.message, /compacting document "compacted" failed: .*refused by the test/);
      assert.match(io.metrics(), /^collabio_compaction_errors_total [1-9]\d*$/m);
      assert.equal(Number(sqlite(file, 'SELECT count(*) FROM collabio_state')), 0, 'no compact state was written');
      // The compaction fails as soon as the fifth update is in; the last ones may still be on their
      // way (a loaded machine), so wait for them. The log is never trimmed while compaction fails.
      await waitFor(() => Number(sqlite(file, 'SELECT count(*) FROM collabio_log')) >= 8, 'every update still in the log', 10000);

      // The failure gave its entries back: with the store healthy again, the very next update
      // compacts (the counters were not reset by the failure).
      sqlite(file, 'DROP TRIGGER test_no_state; DROP TRIGGER test_no_state_update;');
      const failed = io.stats().compactionErrors;
      a.doc.getText('t').insert(8, '8');
      await waitFor(() => Number(sqlite(file, 'SELECT count(*) FROM collabio_state')) === 1, 'the next update compacts', 10000);
      assert.equal(io.stats().compactionErrors, failed, 'the retried compaction succeeded');
    } finally {
      await close();
    }
  }
  const { connect } = await docServer(t, opts);
  const b = connect('compacted');
  await synced(b);
  await waitFor(() => b.doc.getText('t').toString() === '012345678', 'every update after a restart');
});

// Each setup reads the payload in a different place: a dynamic namespace parses it to match the
// name, session recovery to look for a pid, socket.handshake when the handler reads it.
for (const [setup, opts, nspName] of [
  ['a dynamic namespace', {}, '/dynamic-x'],
  ['session recovery', { connectionStateRecovery: {} }, '/'],
  ['a dynamic namespace with session recovery', { connectionStateRecovery: {} }, '/dynamic-x'],
]) {
  test(`a CONNECT auth payload JSON.parse refuses is logged and counted once, and handshake.auth is {} (${setup})`, async (t) => {
    // The core refuses such payloads before JavaScript sees them (native/socketio/packet.cpp checks
    // that CONNECT data is a JSON object), so the batch is handed to the server as the core would.
    const warnings = collectWarnings(t);
    const io = new Server({ documents: false, ...opts });
    io.listen(0, '127.0.0.1');
    t.after(() => io.close());
    const auths = [];
    const onConnection = (socket) => {
      auths.push(socket.handshake.auth);
      auths.push(socket.handshake.auth); // built once: reading it again parses nothing
    };
    if (nspName === '/') io.on('connection', onConnection);
    else io.of(/^\/dynamic-/).on('connection', onConnection);
    const { eventKinds, eventFields } = require('../../lib/constants');
    io._onEvents(new Float64Array([eventKinds.CONNECT, 424242, -1, eventFields.NSP | eventFields.DATA]), [nspName, '{"token":']);
    await waitFor(() => auths.length === 2 && warnings.length > 0, 'the connection and the warning', 5000);
    assert.deepEqual(auths, [{}, {}]);
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0].code, 'COLLABIO_AUTH_PARSE_FAILED');
    assert.match(warnings[0].message, /auth payload .* is not JSON/);
    assert.equal(io.stats().authParseErrors, 1, 'one refused payload, counted once');
    assert.match(io.metrics(), /^collabio_auth_parse_errors_total 1$/m);
  });
}

test('a failure that repeats logs one line per code every 10 s, counting the quiet ones', async () => {
  const { Warnings } = require('../../lib/warnings');
  const lines = [];
  const on = (w) => lines.push(w);
  process.on('warning', on);
  const w = new Warnings();
  for (let i = 0; i < 5; i++) w.warn('COLLABIO_TEST_REPEAT', `failure ${i}`);
  w.warn('COLLABIO_TEST_OTHER', 'another kind');
  w._last.get('COLLABIO_TEST_REPEAT').at -= 10001; // ten seconds later
  w.warn('COLLABIO_TEST_REPEAT', 'failure 5');
  await new Promise((resolve) => setImmediate(resolve)); // emitWarning delivers on the next tick
  process.off('warning', on);
  assert.deepEqual(lines.map((l) => [l.code, l.message]), [
    ['COLLABIO_TEST_REPEAT', 'collabio: failure 0'],
    ['COLLABIO_TEST_OTHER', 'collabio: another kind'],
    ['COLLABIO_TEST_REPEAT', 'collabio: failure 5 (4 more since the last warning)'],
  ]);
});
