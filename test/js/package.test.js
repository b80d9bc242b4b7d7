'use strict';
// The package as users get it: `npm pack`, then `npm install <tarball>` in a fresh project in a
// temporary folder, exactly as a user would (the tarball's dependencies come from the registry).
//
//  1. default npm settings: the prebuilt addon is used (nothing is compiled), and a collabio server
//     from that project talks to socket.io-client and to the y-websocket provider;
//  2. install scripts denied (npm 11's allowScripts policy): the prebuilt addon still loads; with
//     the prebuild removed, require('collabio') throws the one clear COLLABIO_NO_ADDON message;
//  3. a tarball without a prebuild and install scripts allowed: the addon is built from source
//     (slow: skipped with COLLABIO_SKIP_SLOW=1).
//
// npm 11.19 runs dependency install scripts by default and prints the ones not yet reviewed;
// `allowScripts` in the project's package.json records approvals (true) and denials (false), keyed
// by the dependency's resolved identity, which for a tarball is `file:<absolute path>`.

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const tag = `${process.platform}-${process.arch}`;
const SKIP_SLOW = process.env.COLLABIO_SKIP_SLOW === '1' ? 'COLLABIO_SKIP_SLOW=1' : false;
// The client packages the smoke test needs, at the versions the repository tests with.
const CLIENT_DEPS = ['socket.io-client@4.8', 'y-websocket@3', 'yjs@13.6', 'ws@8'];
const NPM_TIMEOUT = 240000;

let work; // temporary folder for the tarballs and the projects
let tarball; // the packed tarball
let packInfo; // `npm pack --json` output for it

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: NPM_TIMEOUT, maxBuffer: 64 << 20, ...opts });
  return { status: r.status, stdout: r.stdout || '', stderr: r.stderr || '', error: r.error, out: (r.stdout || '') + (r.stderr || '') };
}

function npm(args, cwd, env = {}, timeout = NPM_TIMEOUT) {
  // NODE_ENV and npm_config_* from an outer `npm test` must not leak into the user's project.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'NODE_ENV'));
  return run('npm', args, { cwd, env: { ...clean, ...env }, timeout });
}

/** A fresh project folder with a package.json (plus `extra` fields). */
function project(name, extra = {}) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `collabio-user-${name}`, version: '1.0.0', private: true, ...extra }, null, 2));
  return dir;
}

// The user's program: a collabio server, a socket.io-client round trip (JSON, binary, acks, a
// server-initiated event), then the y-websocket round trip if the server answers a document
// connection with SyncStep1. Prints one JSON line with the results.
const SMOKE = String.raw`
'use strict';
const { Server } = require('collabio');
const { io: connect } = require('socket.io-client');
const WebSocket = require('ws');
const Y = require('yjs');
const { WebsocketProvider } = require('y-websocket');

const timeout = (p, ms, what) => Promise.race([p, new Promise((_, rej) => setTimeout(() => rej(new Error('timed out: ' + what)), ms).unref())]);

async function socketio(url, server) {
  server.on('connection', (socket) => {
    socket.on('echo', (value, ack) => ack(value));
    socket.emit('welcome', 'hello ' + socket.id);
  });
  const client = connect(url, { transports: ['websocket'], reconnection: false });
  try {
    const welcome = await timeout(new Promise((r) => client.once('welcome', r)), 10000, 'welcome');
    const value = { text: 'héllo', n: 42, bin: Buffer.from([1, 2, 3]) };
    const back = await timeout(client.emitWithAck('echo', value), 10000, 'echo');
    return { welcome: welcome.startsWith('hello '), text: back.text, n: back.n, bin: [...new Uint8Array(back.bin)] };
  } finally {
    client.disconnect();
  }
}

// Does ws://host/<doc> answer like a y-websocket server (a sync message, SyncStep1 first)?
function probeDocuments(wsUrl) {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl + '/probe-doc');
    ws.binaryType = 'arraybuffer';
    const done = (r) => { clearTimeout(timer); ws.terminate(); resolve(r); };
    const timer = setTimeout(() => done({ ok: false, reason: 'no message within 3 s of connecting to ws://host/<doc>' }), 3000);
    ws.on('message', (data) => {
      const b = new Uint8Array(data);
      done(b[0] === 0 && b[1] === 0 ? { ok: true } : { ok: false, reason: 'first message is not SyncStep1: ' + [...b.slice(0, 4)] });
    });
    ws.on('error', (err) => done({ ok: false, reason: 'ws://host/<doc> failed: ' + err.message }));
    ws.on('close', (code, reason) => done({ ok: false, reason: 'ws://host/<doc> closed: ' + code + ' ' + reason }));
  });
}

async function yjs(wsUrl) {
  const probe = await probeDocuments(wsUrl);
  if (!probe.ok) return { failed: probe.reason };
  const a = new Y.Doc();
  const b = new Y.Doc();
  const opts = { WebSocketPolyfill: WebSocket, disableBc: true };
  const pa = new WebsocketProvider(wsUrl, 'smoke-doc', a, opts);
  const pb = new WebsocketProvider(wsUrl, 'smoke-doc', b, opts);
  try {
    await timeout(new Promise((r) => pa.once('sync', r)), 10000, 'provider A sync');
    a.getText('t').insert(0, 'typed in A');
    await timeout(new Promise((r) => { const check = () => b.getText('t').toString() === 'typed in A' && r(); b.on('update', check); check(); }), 10000, 'B sees A');
    return { text: b.getText('t').toString() };
  } finally {
    pa.destroy();
    pb.destroy();
  }
}

(async () => {
  const server = new Server();
  server.listen(0, '127.0.0.1');
  const port = server.address().port;
  const result = {};
  try {
    result.socketio = await socketio('http://127.0.0.1:' + port, server);
    result.yjs = await yjs('ws://127.0.0.1:' + port);
  } catch (err) {
    result.error = err.stack;
  }
  await server.close();
  console.log('SMOKE ' + JSON.stringify(result));
  process.exit(0);
})();
`;

function smoke(dir) {
  fs.writeFileSync(path.join(dir, 'smoke.js'), SMOKE);
  const r = run(process.execPath, ['smoke.js'], { cwd: dir, timeout: 60000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('SMOKE '));
  assert.ok(line, `smoke.js printed no result (exit ${r.status}):\n${r.out}`);
  const result = JSON.parse(line.slice(6));
  assert.equal(result.error, undefined, result.error);
  assert.deepEqual(result.socketio, { welcome: true, text: 'héllo', n: 42, bin: [1, 2, 3] });
  return result;
}

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'collabio-package-'));
  // prepack builds the prebuild when it is missing or stale; postpack removes it from the tree.
  // Compiling the prebuild takes minutes on a busy machine when ccache cannot help.
  const r = npm(['pack', '--json', '--foreground-scripts=false', '--pack-destination', work], root, {}, 1200000);
  assert.equal(r.status, 0, `npm pack failed (${r.error ? r.error.message : 'exit ' + r.status}):\n${r.out}`);
  [packInfo] = JSON.parse(r.stdout.slice(r.stdout.indexOf('[')));
  tarball = path.join(work, packInfo.filename);
  assert.ok(fs.existsSync(tarball));
}, { timeout: 1500000 });

after(() => {
  if (work && !process.env.COLLABIO_KEEP_TMP) fs.rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the prebuild, the sources and CMake files, and nothing else', (t) => {
  const files = packInfo.files.map((f) => f.path);
  t.diagnostic(`${packInfo.filename}: ${packInfo.size} bytes packed, ${packInfo.unpackedSize} unpacked, ${files.length} files`);
  for (const f of [`prebuilds/${tag}/collabio.napi.node`, 'package.json', 'lib/index.js', 'lib/index.mjs', 'lib/index.d.ts', 'lib/native.js', 'lib/metrics.js', 'CMakeLists.txt', 'scripts/install.js']) {
    assert.ok(files.includes(f), `missing ${f}`);
  }
  assert.ok(files.some((f) => /^native\/core\/.+\.cpp$/.test(f)), 'native sources are missing');
  assert.ok(files.some((f) => /^native\/addon\/.+\.cpp$/.test(f)), 'addon sources are missing');
  const unwanted = files.filter((f) => /^(test|bench|build[^/]*|examples|scratch|node_modules|test-artifacts|docs)\//.test(f) || /^scripts\/(?!install\.js$)/.test(f));
  assert.deepEqual(unwanted, []);
  assert.ok(!fs.existsSync(path.join(root, 'prebuilds', tag)), 'postpack leaves no prebuild in the working tree');
});

test('npm install with default settings uses the prebuild; socket.io-client and y-websocket round trips work', async (t) => {
  const dir = project('default');
  const r = npm(['install', tarball, ...CLIENT_DEPS], dir);
  assert.equal(r.status, 0, `npm install failed (${r.error ? r.error.message : 'exit ' + r.status}):\n${r.out}`);
  const pkg = path.join(dir, 'node_modules', 'collabio');
  assert.ok(fs.existsSync(path.join(pkg, 'prebuilds', tag, 'collabio.napi.node')));
  assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'nothing is compiled when a prebuild matches');
  const result = smoke(dir);

  const esm = run(process.execPath, ['--input-type=module', '-e', "import { Server, metricsHandler } from 'collabio'; import c from 'collabio'; console.log(typeof Server, typeof metricsHandler, c.Server === Server);"], { cwd: dir });
  assert.equal(esm.stdout.trim(), 'function function true', esm.out);

  await t.test('y-websocket provider round trip through ws://host/<doc>', () => {
    assert.equal(result.yjs.failed, undefined, `the packed server does not serve documents: ${result.yjs.failed}`);
    assert.equal(result.yjs.text, 'typed in A');
  });
});

test('with install scripts denied the prebuild loads; without it the error says what to do', () => {
  const dir = project('blocked', { allowScripts: { [`file:${tarball}`]: false } });
  const r = npm(['install', tarball], dir);
  assert.equal(r.status, 0, `npm install failed (${r.error ? r.error.message : 'exit ' + r.status}):\n${r.out}`);
  const pkg = path.join(dir, 'node_modules', 'collabio');
  const load = "try { const c = require('collabio'); console.log('LOADED', typeof c.Server); } catch (e) { console.log('ERROR ' + JSON.stringify({ code: e.code, message: e.message })); }";
  const ok = run(process.execPath, ['-e', load], { cwd: dir });
  assert.equal(ok.stdout.trim(), 'LOADED function', ok.out);

  fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true });
  const bad = run(process.execPath, ['-e', load], { cwd: dir });
  const line = bad.stdout.split('\n').find((l) => l.startsWith('ERROR '));
  assert.ok(line, bad.out);
  const err = JSON.parse(line.slice(6));
  assert.equal(err.code, 'COLLABIO_NO_ADDON');
  assert.match(err.message, new RegExp(`no native addon for ${tag}`));
  assert.match(err.message, /npm rebuild collabio/);
  assert.match(err.message, /allow/);
  assert.match(err.message, /apt-get install/);
  assert.doesNotMatch(err.message, /dlopen|cannot open shared object|MODULE_NOT_FOUND/);
});

test('with install scripts allowed and no prebuild, npm install builds the addon from source', { skip: SKIP_SLOW, timeout: 900000 }, async () => {
  // The same tarball minus prebuilds/: what a platform without a prebuild gets.
  const unpacked = path.join(work, 'unpacked');
  fs.mkdirSync(unpacked);
  let r = run('tar', ['-xzf', tarball, '-C', unpacked]);
  assert.equal(r.status, 0, r.out);
  fs.rmSync(path.join(unpacked, 'package', 'prebuilds'), { recursive: true });
  const source = path.join(work, 'collabio-source.tgz');
  r = run('tar', ['-czf', source, '-C', unpacked, 'package']);
  assert.equal(r.status, 0, r.out);

  const dir = project('source', { allowScripts: { [`file:${source}`]: true } });
  // ccache (when present) keys on preprocessed sources; with the project folder as base dir the
  // absolute temp paths do not defeat it.
  r = npm(['install', '--foreground-scripts', source, ...CLIENT_DEPS], dir, { CCACHE_BASEDIR: dir, CCACHE_NOHASHDIR: '1' }, 900000);
  assert.equal(r.status, 0, `npm install failed:\n${r.out.slice(-4000)}`);
  assert.doesNotMatch(r.out, /install scripts not yet covered/);
  const built = path.join(dir, 'node_modules', 'collabio', 'build', 'Release', 'collabio.node');
  assert.ok(fs.existsSync(built), `no ${built}:\n${r.out.slice(-4000)}`);
  smoke(dir);
});
