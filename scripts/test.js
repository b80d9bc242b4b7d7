#!/usr/bin/env node
'use strict';
// `npm test`: the whole suite.
//  1. builds the addon if needed (scripts/install.js),
//  2. builds and runs the native GoogleTest suites through CTest (build/native),
//  3. runs the JavaScript tests with node:test (test/js, then test/browser when Chromium is present).
// Options: --native-only, --js-only, --sanitize (native tests and the addon under ASan+UBSan),
//          --filter <regex> (node --test-name-pattern).
// As root on Debian, missing test prerequisites (GoogleTest, Chromium) are installed with apt-get.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const argv = process.argv.slice(2);
const has = (f) => argv.includes(f);
const jobs = String(Math.min(os.cpus().length, 4));

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

function ensureTestPrereqs() {
  const missing = [];
  if (!fs.existsSync('/usr/include/gtest/gtest.h')) missing.push('libgtest-dev');
  if (!fs.existsSync('/usr/bin/sqlite3')) missing.push('sqlite3'); // persistence tests inspect the store
  if (!fs.existsSync('/usr/bin/chromium') && !process.env.COLLABIO_SKIP_BROWSER) missing.push('chromium');
  if (missing.length && !aptInstall(missing)) {
    console.error(`collabio tests need: ${missing.join(' ')} (sudo apt-get install -y ${missing.join(' ')})`);
    if (missing.includes('libgtest-dev')) process.exit(1);
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

function jsTests(toolsDir) {
  const env = { ...process.env, COLLABIO_TOOLS_DIR: toolsDir };
  const files = ['test/js'];
  if (fs.existsSync(path.join(root, 'test/browser')) && fs.existsSync('/usr/bin/chromium') && !process.env.COLLABIO_SKIP_BROWSER) {
    files.push('test/browser');
  }
  const args = ['--test', '--test-concurrency=1', '--test-timeout=300000'];
  const i = argv.indexOf('--filter');
  if (i >= 0) args.push(`--test-name-pattern=${argv[i + 1]}`);
  const found = [];
  for (const d of files) {
    for (const f of fs.readdirSync(path.join(root, d)).sort()) if (f.endsWith('.test.js')) found.push(path.join(d, f));
  }
  run(process.execPath, [...args, ...found], { env });
}

function main() {
  const sanitize = has('--sanitize');
  ensureTestPrereqs();
  let toolsDir = path.join(root, 'build', 'native');
  if (!has('--js-only')) toolsDir = nativeTests(false);
  if (sanitize) nativeTests(true);
  if (has('--native-only')) return;
  // --force: in a checkout the tests must run against the sources, never a stale prebuild.
  run(process.execPath, [path.join(root, 'scripts/install.js'), '--force']);
  jsTests(toolsDir);
}

main();
