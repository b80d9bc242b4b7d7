#!/usr/bin/env node
'use strict';
// `npm run prebuild`: builds the addon in Release for this platform and copies it to
// prebuilds/<platform>-<arch>/collabio.napi.node (prebuildify's naming; lib/native.js loads it
// first), so that `npm pack` ships an addon users can run without a C++ toolchain.
//
// A prebuilt addon must run on machines that have only Node and its own runtime libraries, so on
// Linux SQLite, zlib, OpenSSL and hiredis are linked from libsqlite3.a, libz.a, libssl.a/libcrypto.a
// and libhiredis.a when the system has them (no .so needed at run time), with --exclude-libs,ALL, which keeps
// those copies private (their symbols are not exported, so they cannot clash with another
// addon's or Node's). libstdc++ and libgcc_s stay shared:
// Node itself needs them, and linking them statically raises the glibc floor (g++ 12's static
// libstdc++/libgcc_eh use arc4random and _dl_find_object: glibc 2.36 instead of 2.34).
// Afterwards the ELF's NEEDED entries are checked against the libraries every glibc system running
// Node has, the newest symbol versions it requires are printed, and the addon is loaded once.
//
// The build has its own folder (build-prebuild) so these flags never touch the developer build in
// build/ that `npm install` / `npm test` use (nor does cleaning build/ throw it away).
//
// Flags: --if-missing  only build when the prebuild is absent or older than native/ or CMakeLists.txt
//                      (what `prepack` runs);
//        --clean       remove prebuilds/<platform>-<arch> (what `postpack` runs: while present, the
//                      prebuild is what lib/native.js loads, even after build/Release is rebuilt).

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const os = require('node:os');

const root = path.resolve(__dirname, '..');
const tag = `${process.platform}-${process.arch}`;
const outDir = path.join(root, 'prebuilds', tag);
const outFile = path.join(outDir, 'collabio.napi.node');
const buildDir = path.join(root, 'build-prebuild');

// Shared objects any glibc Linux system provides; anything else in NEEDED fails the prebuild.
const ALLOWED_NEEDED = /^(libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libstdc\+\+\.so\.6|libgcc_s\.so\.1|ld-linux[-\w.]*\.so\.\d)$/;

function newestMtime(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const e of fs.readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, e)));
  return newest;
}

function upToDate() {
  if (!fs.existsSync(outFile)) return false;
  const built = fs.statSync(outFile).mtimeMs;
  const sources = Math.max(newestMtime(path.join(root, 'native')), newestMtime(path.join(root, 'CMakeLists.txt')));
  return built >= sources;
}

function capture(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : '';
}

// Where the C++ compiler would find a static library (libsqlite3.a, libssl.a, ...), or null.
function staticLib(name) {
  const cxx = process.env.CXX || 'c++';
  const p = capture(cxx, [`-print-file-name=${name}`]);
  return p && path.isAbsolute(p) && fs.existsSync(p) ? fs.realpathSync(p) : null;
}

function cmakeArgs() {
  const args = [
    require.resolve('cmake-js/bin/cmake-js'),
    'compile',
    '-T', 'collabio_addon',
    '-d', root,
    '-O', buildDir,
    '-B', 'Release',
    '--parallel', String(Math.min(os.cpus().length, 2)),
  ];
  if (process.platform === 'linux') {
    const sqlite = staticLib('libsqlite3.a');
    if (sqlite) args.push(`--CDSQLite3_LIBRARY=${sqlite}`);
    else console.warn('collabio prebuild: no libsqlite3.a found; the prebuild will need libsqlite3.so at run time');
    // OpenSSL (the standalone TLS listener) likewise from libssl.a / libcrypto.a, kept private by
    // --exclude-libs: no libssl.so.3 needed at run time, no clash with Node's own OpenSSL.
    const ssl = staticLib('libssl.a');
    const crypto = staticLib('libcrypto.a');
    if (ssl && crypto) {
      args.push('--CDOPENSSL_USE_STATIC_LIBS=TRUE', `--CDOPENSSL_SSL_LIBRARY=${ssl}`, `--CDOPENSSL_CRYPTO_LIBRARY=${crypto}`);
    } else {
      console.warn('collabio prebuild: no libssl.a/libcrypto.a found; the prebuild will need libssl.so.3 at run time');
    }
    // zlib (permessage-deflate): Node links its own copy, but does not export it to addons.
    const zlib = staticLib('libz.a');
    if (zlib) args.push(`--CDZLIB_LIBRARY=${zlib}`, `--CDZLIB_LIBRARY_RELEASE=${zlib}`);
    else console.warn('collabio prebuild: no libz.a found; the prebuild will need libz.so.1 at run time');
    // hiredis (the Redis adapter's RESP reader) from libhiredis.a: Debian's libhiredis.so.0.14 is
    // not on every machine.
    const hiredis = staticLib('libhiredis.a');
    if (hiredis) args.push(`--CDHIREDIS_STATIC_LIBRARY=${hiredis}`);
    else console.warn('collabio prebuild: no libhiredis.a found; the prebuild will need libhiredis.so.0.14 at run time');
    args.push('--CDCMAKE_SHARED_LINKER_FLAGS=-Wl,--exclude-libs,ALL -Wl,--as-needed');
    // libsqlite3.a's own dependencies, placed after it on the link line (no-ops on glibc >= 2.34).
    args.push('--CDCMAKE_CXX_STANDARD_LIBRARIES=-lm -ldl -lpthread');
  }
  return args;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root });
  if (r.status !== 0) {
    console.error(`collabio prebuild: ${path.basename(cmd)} failed (exit ${r.status})`);
    process.exit(r.status || 1);
  }
}

function checkElf(file) {
  if (process.platform !== 'linux') return;
  const dyn = capture('readelf', ['-d', file]);
  if (!dyn) {
    console.warn('collabio prebuild: readelf not found; runtime dependencies not checked');
    return;
  }
  const needed = [...dyn.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const unusual = needed.filter((n) => !ALLOWED_NEEDED.test(n));
  const syms = capture('objdump', ['-T', file]);
  const newest = (prefix) => {
    const v = [...new Set([...syms.matchAll(new RegExp(`\\(${prefix}_(\\d+(?:\\.\\d+)+)\\)`, 'g'))].map((m) => m[1]))];
    return v.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop() || 'none';
  };
  console.log(`collabio prebuild: NEEDED ${needed.join(', ')}; requires GLIBC_${newest('GLIBC')}, GLIBCXX_${newest('GLIBCXX')}`);
  if (unusual.length) {
    console.error(`collabio prebuild: unexpected runtime dependencies: ${unusual.join(', ')}`);
    process.exit(1);
  }
}

function checkLoads(file) {
  // LD_BIND_NOW resolves every symbol at load time: an addon linked from a half-updated tree (a
  // declared but undefined function) fails here instead of at its first call in a user's process.
  const code = `const a = require(${JSON.stringify(file)}); if (typeof a.NativeServer !== 'function') process.exit(2);`;
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, LD_BIND_NOW: '1' } });
  if (r.status !== 0) {
    console.error(`collabio prebuild: the built addon does not load:\n${r.stderr}`);
    process.exit(1);
  }
}

function main() {
  if (process.argv.includes('--clean')) {
    fs.rmSync(outDir, { recursive: true, force: true });
    if (fs.existsSync(path.dirname(outDir)) && fs.readdirSync(path.dirname(outDir)).length === 0) fs.rmdirSync(path.dirname(outDir));
    return;
  }
  if (process.argv.includes('--if-missing') && upToDate()) {
    console.log(`collabio prebuild: ${path.relative(root, outFile)} is up to date`);
    return;
  }
  // cmake-js compile configures only a build folder it has not configured before, so the static
  // library choices above would not reach a build-prebuild/ left by an older checkout: configure
  // anew every time (ccache keeps the compile itself cheap).
  fs.rmSync(path.join(buildDir, 'CMakeCache.txt'), { force: true });
  run(process.execPath, cmakeArgs());
  const built = path.join(buildDir, 'Release', 'collabio.node');
  if (!fs.existsSync(built)) {
    console.error(`collabio prebuild: ${built} was not produced`);
    process.exit(1);
  }
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = outFile + '.tmp';
  fs.copyFileSync(built, tmp);
  if (process.platform === 'linux' && capture('sh', ['-c', 'command -v strip'])) run('strip', ['--strip-unneeded', tmp]);
  fs.renameSync(tmp, outFile);
  checkElf(outFile);
  checkLoads(outFile);
  console.log(`collabio prebuild: wrote ${path.relative(root, outFile)} (${fs.statSync(outFile).size} bytes)`);
  if (!process.env.npm_lifecycle_event || process.env.npm_lifecycle_event !== 'prepack') {
    console.log('collabio prebuild: lib/native.js loads it before build/Release; `node scripts/prebuild.js --clean` removes it');
  }
}

main();
