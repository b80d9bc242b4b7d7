#!/usr/bin/env node
'use strict';
// `npm install` hook: builds the native addon with cmake-js, after checking the native
// prerequisites. As root on Debian/Ubuntu the missing ones are installed with apt-get; otherwise
// the script stops with one message naming the exact command to run.
//
// Flags: --force rebuilds even if an addon is present; --debug builds with symbols;
// env COLLABIO_SANITIZE=address,undefined builds the addon with sanitizers, in its own folder
// (build/addon-sanitize/RelWithDebInfo/collabio.node, never build/Release), loaded with
// COLLABIO_ADDON=<that file> and LD_PRELOAD of the sanitizer runtime (docs/SANITIZERS.md).

const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = new Set(process.argv.slice(2));

// Debian package -> a file that proves it is installed.
const PREREQS = [
  { pkg: 'g++', check: () => which('c++') || which('g++') },
  { pkg: 'cmake', check: () => which('cmake') },
  { pkg: 'make', check: () => which('make') || which('ninja') },
  { pkg: 'libboost-dev', check: () => fs.existsSync('/usr/include/boost/beast.hpp') || fs.existsSync('/usr/local/include/boost/beast.hpp') },
  { pkg: 'rapidjson-dev', check: () => fs.existsSync('/usr/include/rapidjson/document.h') || fs.existsSync('/usr/local/include/rapidjson/document.h') },
  { pkg: 'libsqlite3-dev', check: () => fs.existsSync('/usr/include/sqlite3.h') || fs.existsSync('/usr/local/include/sqlite3.h') },
  // The Redis client (native/redis): hiredis's RESP reader found through pkg-config; OpenSSL for
  // rediss:// and the standalone TLS listener (native/core/tls_front.cpp).
  { pkg: 'pkg-config', check: () => which('pkg-config') },
  { pkg: 'libhiredis-dev', check: () => fs.existsSync('/usr/include/hiredis/read.h') || fs.existsSync('/usr/local/include/hiredis/read.h') },
  { pkg: 'libssl-dev', check: () => fs.existsSync('/usr/include/openssl/ssl.h') || fs.existsSync('/usr/local/include/openssl/ssl.h') },
  { pkg: 'zlib1g-dev', check: () => fs.existsSync('/usr/include/zlib.h') || fs.existsSync('/usr/local/include/zlib.h') },
];

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim().length > 0;
}

function addonBuilt() {
  return fs.existsSync(path.join(root, 'build', 'Release', 'collabio.node'));
}

function prebuildPresent() {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.endsWith('.node'));
}

function ensurePrereqs() {
  const missing = PREREQS.filter((p) => !p.check()).map((p) => p.pkg);
  if (missing.length === 0) return;
  const cmd = `apt-get install -y ${missing.join(' ')}`;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && which('apt-get')) {
    console.log(`collabio: installing build prerequisites: ${missing.join(' ')}`);
    execFileSync('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive ${cmd}`], { stdio: 'inherit' });
    return;
  }
  console.error(
    `\ncollabio: cannot build the native addon, missing: ${missing.join(', ')}.\n` +
      `Install them, then run \`npm rebuild collabio\`:\n\n    sudo ${cmd}\n`,
  );
  process.exit(1);
}

function main() {
  if (!args.has('--force') && process.env.COLLABIO_SANITIZE === undefined) {
    if (prebuildPresent()) {
      console.log('collabio: using the prebuilt addon for ' + `${process.platform}-${process.arch}`);
      return;
    }
  }
  ensurePrereqs();
  const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
  // A sanitized build gets its own CMake cache: the sanitizer flags must never leak into the
  // normal addon that build/Release holds.
  const outDir = process.env.COLLABIO_SANITIZE ? path.join(root, 'build', 'addon-sanitize') : path.join(root, 'build');
  const cmakeArgs = [cmakeJs, 'compile', '-T', 'collabio_addon', '-d', root, '-O', outDir, '--parallel', String(Math.min(require('node:os').cpus().length, 4))];
  if (args.has('--debug')) cmakeArgs.push('-B', 'RelWithDebInfo');
  if (process.env.COLLABIO_SANITIZE) cmakeArgs.push(`--CDCOLLABIO_SANITIZE=${process.env.COLLABIO_SANITIZE}`, '-B', 'RelWithDebInfo');
  const r = spawnSync(process.execPath, cmakeArgs, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error('\ncollabio: the native build failed (see the compiler output above).');
    process.exit(r.status || 1);
  }
}

main();
