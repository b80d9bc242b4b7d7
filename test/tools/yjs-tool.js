'use strict'
// What the differential Yjs tests (test/js/yjs-engine.test.js) and the engine micro-benchmark
// (bench/yjs-engine/run.js) share: where the native driver `yjs_tool` is, its framing, and the
// seeded PRNG that makes their editing sessions reproducible.

const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '..', '..')

/**
 * The native driver: env COLLABIO_YJS_TOOL, else the one `npm test` built with the native tests
 * (COLLABIO_TOOLS_DIR, build/native), else build/Release/yjs_tool, else build-yjs/yjs_tool.
 * Undefined when none exists.
 */
function findYjsTool () {
  return process.env.COLLABIO_YJS_TOOL ||
    [
      process.env.COLLABIO_TOOLS_DIR && path.join(process.env.COLLABIO_TOOLS_DIR, 'yjs_tool'),
      path.join(ROOT, 'build', 'native', 'yjs_tool'),
      path.join(ROOT, 'build', 'Release', 'yjs_tool'),
      path.join(ROOT, 'build-yjs', 'yjs_tool')
    ].find(p => p && fs.existsSync(p))
}

/**
 * Builds `yjs_tool` in build/native (the folder `npm test` builds the native tests in) and returns
 * its path; throws, with CMake's output, when it cannot. For tests that need the tool: a missing
 * tool is built or the test fails, never skipped.
 */
function buildYjsTool () {
  const dir = path.join(ROOT, 'build', 'native')
  const jobs = String(Math.min(os.cpus().length, 4))
  const steps = [
    ['-S', ROOT, '-B', dir, '-DCOLLABIO_TESTS=ON', '-DCMAKE_BUILD_TYPE=Release'],
    ['--build', dir, '-j', jobs, '--target', 'yjs_tool']
  ]
  for (const args of steps) {
    const r = spawnSync('cmake', args, { encoding: 'utf8', maxBuffer: 64 << 20 })
    if (r.status !== 0) {
      const why = r.error ? r.error.message : `exit ${r.status}`
      throw new Error(`yjs_tool not found and building it failed (cmake ${args.join(' ')}: ${why}):\n${r.stdout}${r.stderr}`)
    }
  }
  const tool = path.join(dir, 'yjs_tool')
  if (!fs.existsSync(tool)) throw new Error(`yjs_tool not found: the build finished but ${tool} does not exist`)
  return tool
}

/** A 4-byte little-endian length, the prefix of every frame yjs_tool reads. */
function le32 (n) {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

/** Updates as yjs_tool's input: each one prefixed with its le32 length. */
const frames = list => Buffer.concat(list.flatMap(u => [le32(u.length), Buffer.from(u)]))

/** mulberry32: a tiny seeded PRNG returning floats in [0, 1). */
function mulberry32 (a) {
  return function () {
    a |= 0
    a = (a + 0x6D2B79F5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

module.exports = { findYjsTool, buildYjsTool, le32, frames, mulberry32 }
