'use strict';
// Documents survive restarts and crashes: real y-websocket clients, a real SQLite store, and the
// server run as a separate process where a crash (SIGKILL) is part of the test.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { spawn } = require('node:child_process');
const { Server } = require('../..');
const { docServer, waitFor, synced, sleep, Y } = require('./helpers/docs');
const { WebsocketProvider } = require('y-websocket');
const WebSocket = require('ws');

const CLI = path.join(__dirname, '..', '..', 'lib', 'cli.js');

function tmpdir(t) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-persist-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the CLI as a child process; resolves with { child, port } once it prints its address. */
function startCli(t, args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on ws:\/\/\S+:(\d+)/);
      if (m && !child.port) {
        child.port = Number(m[1]);
        resolve({ child, port: child.port, output: () => out, errors: () => err });
      }
    });
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => {
      if (!child.port) reject(new Error(`collabio exited with ${code}: ${err}`));
    });
    t.after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  });
}

function exited(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve({ code: child.exitCode, signal: child.signalCode });
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
}

function provider(port, name, doc = new Y.Doc()) {
  const p = new WebsocketProvider(`ws://127.0.0.1:${port}`, name, doc, { WebSocketPolyfill: WebSocket, disableBc: true });
  // The provider leaves its awareness (and that one's interval timer) alive: end it with the doc.
  const destroy = p.destroy.bind(p);
  p.destroy = () => {
    destroy();
    p.awareness.destroy();
    doc.destroy();
  };
  return p;
}

test('edits survive a clean restart of the server', async (t) => {
  const dir = tmpdir(t);
  {
    const { connect, close } = await docServer(null, { documents: { persistence: { dir } } });
    const a = connect('notes');
    await synced(a);
    a.doc.getText('t').insert(0, 'remember me');
    a.doc.getMap('m').set('answer', 42);
    await sleep(100);
    await close();
  }
  const { connect } = await docServer(t, { documents: { persistence: { dir } } });
  const b = connect('notes');
  await synced(b);
  await waitFor(() => b.doc.getText('t').toString() === 'remember me', 'text after restart');
  assert.equal(b.doc.getMap('m').get('answer'), 42);
});

test('every edit a peer has observed survives SIGKILL of the server', async (t) => {
  const dir = tmpdir(t);
  const first = await startCli(t, ['--port', '0', '--host', '127.0.0.1', '--data', dir]);
  const a = provider(first.port, 'crash');
  const b = provider(first.port, 'crash');
  t.after(() => {
    a.destroy();
    b.destroy();
  });
  await Promise.all([synced(a), synced(b)]);
  const text = a.doc.getText('t');
  for (let i = 0; i < 200; i++) text.insert(text.length, `${i},`);
  const expected = text.toString();
  // b observing the last edit means the server relayed it, which it does only once it is durable.
  await waitFor(() => b.doc.getText('t').toString() === expected, 'peer to observe the last edit');
  first.child.kill('SIGKILL');
  await exited(first.child);
  a.destroy();
  b.destroy();

  const second = await startCli(t, ['--port', '0', '--host', '127.0.0.1', '--data', dir]);
  const c = provider(second.port, 'crash');
  t.after(() => c.destroy());
  await synced(c);
  await waitFor(() => c.doc.getText('t').toString() === expected, 'every observed edit after the crash');
  second.child.kill('SIGTERM');
  assert.deepEqual(await exited(second.child), { code: 0, signal: null });
});

test('a long history is compacted: storage stays proportional to content', async (t) => {
  const dir = tmpdir(t);
  const { connect, io, close } = await docServer(null, {
    documents: { persistence: { dir }, compactAfterEntries: 50 },
  });
  const a = connect('history');
  await synced(a);
  const text = a.doc.getText('t');
  for (let i = 0; i < 2000; i++) {
    text.insert(0, 'x');
    text.delete(0, 1);
    if (i % 100 === 0) await sleep(1);
  }
  text.insert(0, 'final');
  await sleep(300);
  const file = io.documents.file;
  await close();
  const size = fs.statSync(file).size + (fs.existsSync(file + '-wal') ? fs.statSync(file + '-wal').size : 0);
  const { connect: connect2 } = await docServer(t, { documents: { persistence: { dir } } });
  const b = connect2('history');
  await synced(b);
  await waitFor(() => b.doc.getText('t').toString() === 'final', 'content after reopen');
  // 4000 single-character updates would take far more than this without compaction (and GC).
  const rows = await countRows(file);
  assert.ok(rows <= 60, `${rows} stored rows for 4001 updates`);
  assert.ok(size < 4 * 1024 * 1024, `store is ${size} bytes`);
});

// Rows of the document log and compact states, read with Debian's sqlite3 shell.
async function countRows(file) {
  const { execFileSync } = require('node:child_process');
  const q = 'SELECT (SELECT count(*) FROM collabio_log) + (SELECT count(*) FROM collabio_state);';
  return Number(execFileSync('sqlite3', [file, q], { encoding: 'utf8' }).trim());
}

test('two documents do not mix in the store', async (t) => {
  const dir = tmpdir(t);
  {
    const { connect, close } = await docServer(null, { documents: { persistence: { dir } } });
    const a = connect('doc-a');
    const b = connect('doc-b');
    await Promise.all([synced(a), synced(b)]);
    a.doc.getText('t').insert(0, 'AAA');
    b.doc.getText('t').insert(0, 'BBB');
    await sleep(100);
    await close();
  }
  const { io } = await docServer(t, { documents: { persistence: { dir } } });
  const ha = io.documents.open('doc-a');
  const hb = io.documents.open('doc-b');
  assert.equal(await ha.getText('t'), 'AAA');
  assert.equal(await hb.getText('t'), 'BBB');
  ha.close();
  hb.close();
});

test('an unreadable database file gives a clear error and is left untouched', async (t) => {
  const dir = tmpdir(t);
  const file = path.join(dir, 'collabio.sqlite');
  const garbage = crypto.randomBytes(8192);
  fs.writeFileSync(file, garbage);
  const io = new Server({ documents: { persistence: { dir } } });
  assert.throws(() => io.listen(0, '127.0.0.1'), /database|not a|collabio/i);
  await io.close();
  assert.deepEqual(fs.readFileSync(file), garbage);
});

test('a corrupt stored row refuses the document with a clear reason and keeps the file', async (t) => {
  const dir = tmpdir(t);
  {
    const { connect, close } = await docServer(null, { documents: { persistence: { dir } } });
    const a = connect('fragile');
    await synced(a);
    a.doc.getText('t').insert(0, 'precious');
    await sleep(100);
    await close();
  }
  const file = path.join(dir, 'collabio.sqlite');
  const { execFileSync } = require('node:child_process');
  // Flip the stored bytes behind the store's back.
  execFileSync('sqlite3', [file, "UPDATE collabio_log SET data = X'DEADBEEF'; UPDATE collabio_state SET data = X'DEADBEEF';"]);
  const before = fs.readFileSync(file);
  const { connect, io } = await docServer(t, { documents: { persistence: { dir } } });
  const closes = [];
  const p = connect('fragile');
  p.on('connection-close', (ev) => closes.push(ev && ev.code));
  await waitFor(() => closes.length > 0, 'refused connection');
  assert.equal(closes[0], 1011);
  const h = io.documents.open('fragile');
  await assert.rejects(h.getText('t'), /corrupt|checksum|could not be loaded/);
  h.close();
  p.destroy();
  await io.close();
  assert.ok(fs.readFileSync(file).equals(before), 'database file unchanged');
});

test('the CLI starts, serves, stops on SIGTERM with exit 0 and restarts with the same data', async (t) => {
  const dir = tmpdir(t);
  const run = await startCli(t, ['--host', '127.0.0.1', '--data', dir], { PORT: '0' });
  assert.match(run.output(), /documents stored in .*collabio\.sqlite/);
  const a = provider(run.port, 'cli-doc');
  await synced(a);
  a.doc.getText('t').insert(0, 'via cli');
  await sleep(200);
  a.destroy();
  run.child.kill('SIGTERM');
  assert.deepEqual(await exited(run.child), { code: 0, signal: null });
  const again = await startCli(t, ['--port', '0', '--host', '127.0.0.1', '--data', dir]);
  const b = provider(again.port, 'cli-doc');
  t.after(() => b.destroy());
  await synced(b);
  await waitFor(() => b.doc.getText('t').toString() === 'via cli', 'document after CLI restart');
  again.child.kill('SIGINT');
  assert.deepEqual(await exited(again.child), { code: 0, signal: null });
});

test('application persistence hooks load documents and store them, debounced', async (t) => {
  const stored = new Map();
  const loads = [];
  const seed = new Y.Doc();
  seed.getText('t').insert(0, 'from the app');
  stored.set('app-doc', Y.encodeStateAsUpdate(seed));
  let stores = 0;
  const { connect, io } = await docServer(t, {
    documents: {
      persistence: {
        load: async (name) => {
          loads.push(name);
          await sleep(50); // the document must not be served before this resolves
          return stored.get(name) || null;
        },
        store: async (name, state) => {
          stores++;
          stored.set(name, state);
        },
        debounce: 50,
      },
    },
  });
  const a = connect('app-doc');
  await synced(a);
  assert.equal(a.doc.getText('t').toString(), 'from the app');
  for (let i = 0; i < 20; i++) a.doc.getText('t').insert(0, '*');
  await waitFor(() => {
    const d = new Y.Doc();
    Y.applyUpdate(d, stored.get('app-doc'));
    return d.getText('t').toString() === '*'.repeat(20) + 'from the app';
  }, 'debounced store');
  assert.ok(stores >= 1 && stores < 20, `${stores} stores for 20 edits`);
  assert.deepEqual(loads, ['app-doc']);
  assert.ok(io.documents);
});
