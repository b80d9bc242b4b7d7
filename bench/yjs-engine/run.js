'use strict'
// Micro benchmark: the C++ Yjs engine (native/yjs, driven by `yjs_tool bench`) next to yjs in
// Node on the same machine.
//
// Trace: 260k single-character edits (typing with occasional cursor jumps and ~15% backspaces)
// by one client into Y.Text 'text', generated deterministically with yjs; every transaction's
// update is recorded. Measured on both sides:
//   apply   - applying the trace's updates one by one to a fresh document (best of 3)
//   encode  - encodeStateAsUpdate() of the final document (average of 20)
//   load    - applying the whole document as one update to a fresh document
//   memory  - bytes held by the final document (yjs: V8 heap growth after gc; C++: memoryUsage())
//
//   node bench/yjs-engine/run.js [--ops 260000] [--json]
const { findYjsTool, frames, mulberry32 } = require('../../test/tools/yjs-tool')
const { execFileSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const Y = require('yjs')

const TOOL = findYjsTool()

const args = process.argv.slice(2)
const OPS = Number(args[args.indexOf('--ops') + 1] || 0) || 260000
const JSON_OUT = args.includes('--json')

// A full, synchronous gc is needed for the memory figure: re-run with --expose-gc if missing.
if (typeof global.gc !== 'function') {
  const { status } = require('node:child_process').spawnSync(process.execPath, ['--expose-gc', __filename, ...args], { stdio: 'inherit' })
  process.exit(status === null ? 1 : status)
}
const gc = () => global.gc()

function editingTrace (numOps, seed = 42) {
  const rnd = mulberry32(seed)
  const doc = new Y.Doc()
  doc.clientID = 1
  const text = doc.getText('text')
  const updates = []
  doc.on('update', u => updates.push(u))
  let cursor = 0
  const alphabet = 'abcdefghijklmnopqrstuvwxyz      .,\n'
  for (let i = 0; i < numOps; i++) {
    const len = text.length
    const r = rnd()
    if (r < 0.02) cursor = Math.floor(rnd() * (len + 1))
    if (r > 0.85 && cursor > 0) {
      text.delete(cursor - 1, 1)
      cursor--
    } else {
      text.insert(Math.min(cursor, len), alphabet[Math.floor(rnd() * alphabet.length)])
      cursor = Math.min(cursor, len) + 1
    }
  }
  return { doc, updates }
}

const now = () => Number(process.hrtime.bigint()) / 1e6

function benchYjs (updates) {
  let bestApply = Infinity
  let doc
  for (let r = 0; r < 3; r++) {
    gc()
    const d = new Y.Doc()
    const t0 = now()
    for (const u of updates) Y.applyUpdate(d, u)
    bestApply = Math.min(bestApply, now() - t0)
    doc = d
  }
  const rounds = 20
  let encoded
  const t1 = now()
  for (let k = 0; k < rounds; k++) encoded = Y.encodeStateAsUpdate(doc)
  const encodeMs = (now() - t1) / rounds
  const t2 = now()
  const loaded = new Y.Doc()
  Y.applyUpdate(loaded, encoded)
  const loadMs = now() - t2
  return { applyMs: bestApply, encodeMs, loadMs, encodedBytes: encoded.length, textLength: Buffer.byteLength(loaded.getText('text').toString()) }
}

// Heap growth caused by one yjs document built from the trace, measured in a fresh process so that
// no other document (or promise job still holding one) is alive.
const MEMORY_SCRIPT = `
const Y = require(${JSON.stringify(require.resolve('yjs'))})
const data = require('fs').readFileSync(process.argv[1])
const updates = []
for (let i = 0; i < data.length;) { const n = data.readUInt32LE(i); updates.push(data.subarray(i + 4, i + 4 + n)); i += 4 + n }
const settle = () => new Promise(resolve => setImmediate(resolve))
;(async () => {
  await settle(); global.gc(); global.gc()
  const base = process.memoryUsage().heapUsed
  const doc = new Y.Doc()
  for (const u of updates) Y.applyUpdate(doc, u)
  await settle(); global.gc(); global.gc()
  console.log(process.memoryUsage().heapUsed - base, doc.getText('text').length)
})()
`

function yjsMemory (traceFile) {
  const out = execFileSync(process.execPath, ['--expose-gc', '-e', MEMORY_SCRIPT, traceFile], { encoding: 'utf8' })
  return Number(out.trim().split(' ')[0])
}

function main () {
  if (!TOOL) {
    console.error('yjs_tool not found: build it (cmake --build build-yjs --target yjs_tool) or set COLLABIO_YJS_TOOL')
    process.exit(1)
  }
  const t0 = now()
  const { doc: source, updates } = editingTrace(OPS)
  const genMs = now() - t0
  const expected = Buffer.from(Y.encodeStateAsUpdate(source))
  const traceFile = path.join(os.tmpdir(), `collabio-yjs-trace-${process.pid}.bin`)
  fs.writeFileSync(traceFile, frames(updates))
  let native
  let js
  try {
    native = JSON.parse(execFileSync(TOOL, ['bench', traceFile, '3'], { encoding: 'utf8' }))
    js = benchYjs(updates)
    js.memoryBytes = yjsMemory(traceFile)
  } finally {
    fs.rmSync(traceFile, { force: true })
  }
  const result = {
    trace: { ops: OPS, updates: updates.length, generateMs: Math.round(genMs), finalTextBytes: js.textLength, encodedBytes: expected.length },
    yjs: js,
    native,
    ratios: {
      apply: js.applyMs / native.applyMs,
      encode: js.encodeMs / native.encodeMs,
      load: js.loadMs / native.loadMs,
      memory: js.memoryBytes / native.memoryBytes
    },
    sameEncodedSize: native.encodedBytes === expected.length && native.textLength === js.textLength
  }
  if (JSON_OUT) {
    console.log(JSON.stringify(result, null, 2))
    return
  }
  const f = x => x.toFixed(1)
  console.log(`Yjs engine benchmark: ${OPS} single-character edits, ${updates.length} updates, final text ${js.textLength} bytes, ` +
    `encoded document ${expected.length} bytes (C++ ${native.encodedBytes})`)
  console.log('                       yjs (Node)      C++        yjs/C++')
  console.log(`apply updates 1 by 1  ${f(js.applyMs).padStart(9)} ms ${f(native.applyMs).padStart(9)} ms ${f(result.ratios.apply).padStart(8)}x`)
  console.log(`encodeStateAsUpdate   ${js.encodeMs.toFixed(2).padStart(9)} ms ${native.encodeMs.toFixed(2).padStart(9)} ms ${f(result.ratios.encode).padStart(8)}x`)
  console.log(`load whole document   ${js.loadMs.toFixed(2).padStart(9)} ms ${native.loadMs.toFixed(2).padStart(9)} ms ${f(result.ratios.load).padStart(8)}x`)
  console.log(`document memory       ${(js.memoryBytes / 1e6).toFixed(2).padStart(9)} MB ${(native.memoryBytes / 1e6).toFixed(2).padStart(9)} MB ${f(result.ratios.memory).padStart(8)}x` +
    `   (C++ RSS growth while building: ${(native.rssGrowthBytes / 1e6).toFixed(2)} MB)`)
  console.log(`throughput (apply): yjs ${Math.round(updates.length / js.applyMs * 1000)} updates/s, C++ ${Math.round(updates.length / native.applyMs * 1000)} updates/s`)
  if (!result.sameEncodedSize) console.log('WARNING: encoded size or text differs between yjs and C++')
}

main()
