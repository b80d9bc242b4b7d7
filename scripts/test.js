#!/usr/bin/env node
'use strict';
// `npm test`: the whole suite.
//  1. builds the addon if needed (scripts/install.js),
//  2. builds and runs the native GoogleTest suites through CTest (build/native),
//  3. runs the JavaScript tests with node:test (test/js, then test/browser).
// Options: --native-only, --js-only, --filter <regex> (node --test-name-pattern),
//          --sanitize: the sanitizer runs instead of the plain ones (docs/SANITIZERS.md):
//            native tests under ASan+UBSan (build/native-asan), the core's multithreaded tests
//            under ThreadSanitizer (build/native-tsan, core_tests), and the JS suite against an
//            ASan+UBSan build of the addon loaded into Node with LD_PRELOAD of libasan, then every
//            libFuzzer target for COLLABIO_FUZZ_SECONDS (default 15) each on its seed corpus
//            (test/fuzz/run-all.sh; needs clang).
//          --sanitize --ci-subset: the same, but the sanitized JS suite runs only SANITIZED_CI_FILES,
//            so that the pass fits CI's budget (.ci/run).
// Chromium (CHROMIUM_PATH, default /usr/bin/chromium) is required: without it the run fails before
// testing anything, unless COLLABIO_SKIP_BROWSER=1 asks to skip the browser tests (printed loudly).
// As root on Debian, missing test prerequisites (GoogleTest, Chromium) are installed with apt-get.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const has = (f) => argv.includes(f);
const jobs = String(Math.min(os.cpus().length, 4));
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SKIP_BROWSER = process.env.COLLABIO_SKIP_BROWSER === '1';
const SKIP_BROWSER_NOTICE =
  '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' +
  '!!! COLLABIO_SKIP_BROWSER=1: the browser tests (test/browser and the Chromium test of\n' +
  '!!! test/js/sio-client-bundle.test.js) are NOT run. This run proves nothing about browsers.\n' +
  '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n';

// The JS files the CI sanitizer pass runs against the ASan+UBSan addon (--ci-subset): those whose
// clients send what the native parsers and the threading are most exposed to (hostile and
// malformed input, binary, long-polling, disconnects and shutdown, documents and their store, the
// Redis adapter's channels).
// The rest exercise the same code paths with well-formed traffic; run them all with --sanitize.
const SANITIZED_CI_FILES = [
  'hardening-accept.test.js', 'hardening-docs.test.js', 'hardening-origin.test.js', 'hardening-polling.test.js',
  'hardening-shutdown.test.js', 'hardening-ws.test.js', 'sio-bad-input.test.js', 'sio-binary.test.js',
  'sio-polling.test.js', 'sio-disconnect.test.js', 'docs-sync.test.js', 'persistence.test.js',
  'redis-adapter.test.js', // hostile messages on the Redis adapter's channels, Redis going away
  'docs-cluster-awareness.test.js', // hostile awareness messages between nodes, a node SIGKILLed
  'docs-cluster.test.js', // document streams: hostile entries, node and Redis killed, compaction
  'docs-cluster-bootstrap.test.js', // seeding Redis from SQLite / persistence.load, a hostile load answer
  'docs-rcluster.test.js', // a Redis Cluster: routing, a node SIGKILLed, a slot resharded while editing
  'attach-fallback.test.js', // attached mode: relayed streams, bytes buffered before the hand-off, EMFILE, closing
  'hardening-backpressure.test.js', // inbound backpressure: reads paused and resumed under floods (RSS bounds not checked under ASan)
];

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    console.error(`\nFAILED: ${cmd} ${args.join(' ')} (exit ${r.status}${r.signal ? ', ' + r.signal : ''})`);
    process.exit(r.status || 1);
  }
}

function aptInstall(pkgs) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!isRoot || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) return false;
  run('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkgs.join(' ')}`]);
  return true;
}

// Chromium is needed when the plain JS suite runs (the sanitized one leaves the browser out).
function ensureTestPrereqs(needBrowser) {
  const missing = [];
  if (!fs.existsSync('/usr/include/gtest/gtest.h')) missing.push('libgtest-dev');
  if (!fs.existsSync('/usr/bin/sqlite3')) missing.push('sqlite3'); // persistence tests inspect the store
  // The Redis tests start their own redis-server; the TLS tests make certificates with openssl.
  if (!fs.existsSync('/usr/bin/redis-server')) missing.push('redis-server');
  if (!fs.existsSync('/usr/bin/openssl')) missing.push('openssl');
  // Debian's package provides /usr/bin/chromium; a CHROMIUM_PATH elsewhere is the user's to install.
  if (needBrowser && !fs.existsSync(CHROMIUM) && CHROMIUM === '/usr/bin/chromium') missing.push('chromium');
  if (missing.length && !aptInstall(missing)) {
    console.error(`collabio tests need: ${missing.join(' ')} (sudo apt-get install -y ${missing.join(' ')})`);
    if (missing.includes('libgtest-dev')) process.exit(1);
  }
  if (needBrowser && !fs.existsSync(CHROMIUM)) {
    console.error(`\nFAILED: Chromium not found at ${CHROMIUM}. The browser tests need it: apt-get install chromium, ` +
      'or point CHROMIUM_PATH at a Chromium binary, or skip them explicitly with COLLABIO_SKIP_BROWSER=1.');
    process.exit(1);
  }
}

function nativeTests(sanitize) {
  const dir = path.join(root, 'build', sanitize ? 'native-asan' : 'native');
  const cfg = ['-S', root, '-B', dir, '-DCOLLABIO_TESTS=ON', '-DCMAKE_BUILD_TYPE=' + (sanitize ? 'RelWithDebInfo' : 'Release')];
  if (sanitize) cfg.push('-DCOLLABIO_SANITIZE=address,undefined');
  run('cmake', cfg, { stdio: ['inherit', 'ignore', 'inherit'] });
  run('cmake', ['--build', dir, '-j', jobs]);
  run('ctest', ['--test-dir', dir, '--output-on-failure', '-j', jobs, '--timeout', '600']);
  return dir;
}

// ThreadSanitizer over the core's multithreaded tests (test/native/core: a core::Server on several
// I/O threads with real TCP clients) and the Redis ones (test/native/redis: connections on two I/O
// threads, the Redis adapter posting from its subscriber to the command strand). The other suites
// are single-threaded.
function tsanTests() {
  const dir = path.join(root, 'build', 'native-tsan');
  // g++ prints -Wtsan warnings for the fences in Asio's handler invocation (std_fenced_block, a
  // system header): TSan does not model fences; the scheduler's mutex orders handlers anyway.
  run('cmake', ['-S', root, '-B', dir, '-DCOLLABIO_TESTS=ON', '-DCMAKE_BUILD_TYPE=RelWithDebInfo', '-DCOLLABIO_SANITIZE=thread'],
    { stdio: ['inherit', 'ignore', 'inherit'] });
  run('cmake', ['--build', dir, '-j', jobs, '--target', 'core_tests', 'redis_tests']);
  for (const suite of ['core_tests', 'redis_tests']) {
    run(path.join(dir, suite), [], {
      env: { ...process.env, TSAN_OPTIONS: 'halt_on_error=1 second_deadlock_stack=1 history_size=4' },
    });
  }
}

// Environment that loads the ASan+UBSan addon into Node: the ASan runtime must come first in the
// process (LD_PRELOAD); leak checking is off because Node itself does not free everything at exit.
function sanitizedAddonEnv() {
  const r = spawnSync('sh', ['-c', 'gcc -print-file-name=libasan.so'], { encoding: 'utf8' });
  const libasan = r.stdout.trim();
  if (r.status !== 0 || !fs.existsSync(libasan)) {
    console.error('libasan.so not found (gcc -print-file-name=libasan.so)');
    process.exit(1);
  }
  return {
    LD_PRELOAD: libasan,
    ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0',
    UBSAN_OPTIONS: 'halt_on_error=1:print_stacktrace=1',
    COLLABIO_ADDON: path.join(root, 'build', 'addon-sanitize', 'RelWithDebInfo', 'collabio.node'),
  };
}

function jsTests(toolsDir, extraEnv = {}) {
  // Every test process (and the servers the tests spawn) fails on a forced shutdown
  // (test/js/helpers/shutdown-guard.js).
  const guard = `--require="${path.join(root, 'test/js/helpers/shutdown-guard.js')}"`;
  const nodeOptions = [process.env.NODE_OPTIONS, guard].filter(Boolean).join(' ');
  const env = { ...process.env, COLLABIO_TOOLS_DIR: toolsDir, ...extraEnv, NODE_OPTIONS: nodeOptions };
  const files = ['test/js'];
  // Browser tests are left out under LD_PRELOAD (Chromium would inherit the ASan runtime).
  if (!SKIP_BROWSER && !extraEnv.LD_PRELOAD) files.push('test/browser');
  const args = ['--test', '--test-concurrency=1', '--test-timeout=300000'];
  const i = argv.indexOf('--filter');
  if (i >= 0) args.push(`--test-name-pattern=${argv[i + 1]}`);
  const found = [];
  // Under sanitizers two files are skipped: the packaging tests install the packed tarball and load
  // its own (unsanitized) addon, which COLLABIO_ADDON would override; the client-bundle test starts
  // Chromium, which would inherit LD_PRELOAD of the ASan runtime and hang.
  const skip = extraEnv.COLLABIO_ADDON ? new Set(['package.test.js', 'sio-client-bundle.test.js']) : new Set();
  const only = extraEnv.COLLABIO_ADDON && has('--ci-subset') ? new Set(SANITIZED_CI_FILES) : null;
  for (const d of files) {
    for (const f of fs.readdirSync(path.join(root, d)).sort()) {
      if (f.endsWith('.test.js') && !skip.has(f) && (!only || only.has(f))) found.push(path.join(d, f));
    }
  }
  if (only && found.length !== only.size) {
    console.error(`SANITIZED_CI_FILES names files that do not exist: ${[...only].filter((f) => !found.includes(path.join('test/js', f))).join(', ')}`);
    process.exit(1);
  }
  run(process.execPath, [...args, ...found], { env });
}

function main() {
  const sanitize = has('--sanitize');
  const browser = !sanitize && !has('--native-only') && !SKIP_BROWSER;
  if (SKIP_BROWSER && !sanitize && !has('--native-only')) {
    console.log(SKIP_BROWSER_NOTICE);
    process.on('exit', () => console.log(SKIP_BROWSER_NOTICE));
  }
  ensureTestPrereqs(browser);
  if (sanitize) {
    const t = (label, fn) => {
      const start = Date.now();
      const out = fn();
      console.log(`\n[sanitize] ${label}: ${((Date.now() - start) / 1000).toFixed(0)} s`);
      return out;
    };
    let toolsDir = path.join(root, 'build', 'native-asan');
    if (!has('--js-only')) {
      toolsDir = t('native tests under ASan+UBSan', () => nativeTests(true));
      t('core tests under TSan', tsanTests);
    }
    if (has('--native-only')) return;
    // The plain addon too: the descriptor-exhaustion child of attach-fallback.test.js runs it (the
    // sanitizer runtimes need free descriptors of their own). After `npm test` this is a no-op.
    t('plain addon build', () => run(process.execPath, [path.join(root, 'scripts/install.js'), '--force']));
    t('addon build under ASan+UBSan', () =>
      run(process.execPath, [path.join(root, 'scripts/install.js'), '--force'], {
        env: { ...process.env, COLLABIO_SANITIZE: 'address,undefined' },
      }));
    t('JS tests against the ASan+UBSan addon', () => jsTests(toolsDir, sanitizedAddonEnv()));
    if (has('--js-only')) return;
    const fuzzSeconds = process.env.COLLABIO_FUZZ_SECONDS || '15';
    t(`fuzz targets, ${fuzzSeconds} s each`, () => run('sh', [path.join(root, 'test/fuzz/run-all.sh'), fuzzSeconds]));
    return;
  }
  let toolsDir = path.join(root, 'build', 'native');
  if (!has('--js-only')) toolsDir = nativeTests(false);
  if (has('--native-only')) return;
  // --force: in a checkout the tests must run against the sources, never a stale prebuild.
  run(process.execPath, [path.join(root, 'scripts/install.js'), '--force']);
  jsTests(toolsDir);
}

main();
