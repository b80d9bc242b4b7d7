'use strict'
// Differential tests of the C++ Yjs engine (native/yjs) against the real yjs package.
//
// A deterministic generator drives random editing sessions on several real Y.Doc clients (text
// with emoji / surrogate pairs and formatting, maps, arrays, nested types, XML, subdocuments),
// records every local update and delivers them to a reference Y.Doc and to the C++ document
// (through `yjs_tool serve`, many requests per pipe write) out of order, duplicated, merged and
// with gaps. Both must end with the same content, state vector and delete set; the C++ encoding
// must be no larger than yjs's (byte-identical is the aim; the rate is printed).
//
//   node --test test/js/yjs-engine.test.js          (2000 sessions, about a minute)
//   YJS_SOAK=1 node --test test/js/yjs-engine.test.js   (long soak; YJS_SESSIONS=n to choose)
//
// Formatting is only used on the root Y.Text: a yjs document cleans up redundant formatting of
// nested Y.Text/XmlText types after remote transactions (YText._callObserver), which is a local
// edit of the receiving document that a pure CRDT store (and its root types) does not do.

const { spawn } = require('node:child_process')
const Y = require('yjs')

const assert = require('node:assert')
const { test } = require('node:test')

const { findYjsTool, buildYjsTool, le32, frames, mulberry32 } = require('../tools/yjs-tool')

// A missing tool is built (or the file fails), never skipped: the differential tests are the point.
const YJS_TOOL = findYjsTool() || buildYjsTool()
const SOAK = process.env.YJS_SOAK === '1'
const SESSIONS = Number(process.env.YJS_SESSIONS || (SOAK ? 30000 : 2000))

/** Talks to `yjs_tool serve`; requests are pipelined, answers come back in order. */
class NativeTool {
  constructor (toolPath) {
    this.proc = spawn(toolPath, ['serve'], { stdio: ['pipe', 'pipe', 'inherit'] })
    this.buf = Buffer.alloc(0)
    this.waiting = []
    this.proc.stdout.on('data', chunk => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
      while (this.buf.length >= 4) {
        const n = this.buf.readUInt32LE(0)
        if (this.buf.length < 4 + n) break
        const frame = this.buf.subarray(4, 4 + n)
        this.buf = this.buf.subarray(4 + n)
        const w = this.waiting.shift()
        w({ ok: frame[0] === 0, data: Buffer.from(frame.subarray(1)) })
      }
    })
    this.exited = new Promise(resolve => this.proc.on('exit', (code, signal) => {
      for (const w of this.waiting) w({ ok: false, data: Buffer.from('tool exited ' + code + ' ' + signal), crashed: true })
      this.waiting = []
      resolve({ code, signal })
    }))
  }

  /** Sends requests [[opcodeChar, Uint8Array payload], ...]; resolves to the answers. */
  batch (requests) {
    const parts = []
    const answers = []
    for (const [op, payload] of requests) {
      const body = payload ? Buffer.from(payload) : Buffer.alloc(0)
      parts.push(le32(body.length + 1), Buffer.from(op, 'latin1'), body)
      answers.push(new Promise(resolve => this.waiting.push(resolve)))
    }
    this.proc.stdin.write(Buffer.concat(parts))
    return Promise.all(answers)
  }

  async call (op, payload) {
    return (await this.batch([[op, payload]]))[0]
  }

  close () {
    this.proc.stdin.end()
    return this.exited
  }
}

// ---- deterministic random sessions ----


const REMOTE = Symbol('remote')
const STRINGS = ['a', 'b', 'xy', 'hello', ' ', '😀', '👍🏽', 'é', '中文', 'z😀z', '\n', 'abc🎉def', '𝄞', 'ok']
const KEYS = ['a', 'b', 'c', 'd', 'e', 'title', '']
const ATTRS = [{ bold: true }, { italic: true }, { bold: null }, { color: '#f00' }, { link: { href: 'x' } }]

class Session {
  constructor (seed, opts = {}) {
    this.rnd = mulberry32(seed)
    this.seed = seed
    this.opts = opts
    const n = 2 + this.int(3)
    this.docs = []
    this.updates = [] // local updates of all clients, in the order they happened
    const used = new Set()
    for (let i = 0; i < n; i++) {
      const doc = new Y.Doc()
      let id
      do { id = this.rnd() < 0.3 ? 1 + this.int(6) : this.int(0xFFFFFFFF) } while (used.has(id))
      used.add(id)
      doc.clientID = id
      doc.on('update', (u, origin) => { if (origin !== REMOTE) this.updates.push(u) })
      this.docs.push(doc)
    }
  }

  int (n) { return Math.floor(this.rnd() * n) }
  pick (arr) { return arr[this.int(arr.length)] }

  value (depth) {
    const r = this.int(depth > 2 ? 9 : 13)
    switch (r) {
      case 0: return this.int(1000) - 500
      case 1: return this.rnd() * 1e6
      case 2: return this.pick(STRINGS)
      case 3: return this.rnd() < 0.5
      case 4: return null
      case 5: return { x: this.int(10), s: this.pick(STRINGS), n: [1, { deep: true }] }
      case 6: return [this.int(5), 'q', null]
      case 7: return new Uint8Array([this.int(256), 1, 2])
      case 8: return 2 ** 40 + this.int(100)
      case 9: return new Y.Map()
      case 10: return new Y.Array()
      case 11: return new Y.Text()
      default: {
        const r2 = this.rnd()
        if (r2 < 0.25) return new Y.Doc()
        if (r2 < 0.35) return new Y.Doc({ autoLoad: true, meta: { name: this.pick(STRINGS) } })
        if (r2 < 0.45) return new Y.Doc({ gc: false })
        return new Y.XmlFragment()
      }
    }
  }

  nestedTypes (doc) {
    const out = []
    const visit = (t, depth) => {
      if (depth > 6) return
      if (t instanceof Y.Map) t.forEach(v => { if (v instanceof Y.AbstractType) { out.push(v); visit(v, depth + 1) } })
      else if (t instanceof Y.Array || t instanceof Y.XmlFragment || t instanceof Y.XmlElement) {
        t.toArray().forEach(v => { if (v instanceof Y.AbstractType) { out.push(v); visit(v, depth + 1) } })
      }
    }
    visit(doc.getMap('map'), 0)
    visit(doc.getArray('array'), 0)
    visit(doc.getXmlFragment('xml'), 0)
    return out
  }

  editText (text, rich) {
    const len = text.length
    const r = this.int(rich ? 10 : 6)
    if (r < 3 || len === 0) {
      const attrs = rich && this.rnd() < 0.3 ? this.pick(ATTRS) : undefined
      text.insert(this.int(len + 1), this.pick(STRINGS), attrs)
    } else if (r < 6) {
      const pos = this.int(len)
      text.delete(pos, 1 + this.int(Math.min(len - pos, 6)))
    } else if (r < 8) {
      const pos = this.int(len)
      text.format(pos, 1 + this.int(Math.min(len - pos, 5)), this.pick(ATTRS))
    } else {
      text.insertEmbed(this.int(len + 1), { image: this.pick(STRINGS) }, this.rnd() < 0.3 ? { bold: true } : undefined)
    }
  }

  editArray (arr, depth) {
    const len = arr.length
    if (this.rnd() < 0.65 || len === 0) {
      const n = 1 + this.int(3)
      const vals = []
      for (let i = 0; i < n; i++) vals.push(this.value(depth))
      arr.insert(this.int(len + 1), vals)
    } else {
      const pos = this.int(len)
      arr.delete(pos, 1 + this.int(Math.min(len - pos, 3)))
    }
  }

  editMap (map, depth) {
    if (this.rnd() < 0.75 || map.size === 0) map.set(this.pick(KEYS), this.value(depth))
    else map.delete(this.pick(Array.from(map.keys())))
  }

  editXml (frag) {
    const len = frag.length
    const r = this.int(4)
    if (r < 2 || len === 0) {
      const el = new Y.XmlElement(this.pick(['p', 'h1', 'li']))
      el.setAttribute('class', this.pick(STRINGS))
      const t = new Y.XmlText()
      t.insert(0, this.pick(STRINGS))
      el.insert(0, [t])
      const x = this.rnd()
      frag.insert(this.int(len + 1), [x < 0.75 ? el : x < 0.9 ? new Y.XmlText(this.pick(STRINGS)) : new Y.XmlHook('hook')])
    } else if (r === 2) {
      const pos = this.int(len)
      frag.delete(pos, 1 + this.int(Math.min(len - pos, 2)))
    } else {
      const child = frag.get(this.int(len))
      if (child instanceof Y.XmlElement) {
        if (this.rnd() < 0.5) child.setAttribute(this.pick(['class', 'id']), this.pick(STRINGS))
        else this.editXml(child)
      } else if (child instanceof Y.XmlText) {
        child.insert(this.int(child.length + 1), this.pick(STRINGS))
      }
    }
  }

  // One random local action on `doc`.
  action (doc) {
    const r = this.int(12)
    if (r < 4) this.editText(doc.getText('text'), true)
    else if (r < 6) this.editMap(doc.getMap('map'), 0)
    else if (r < 8) this.editArray(doc.getArray('array'), 0)
    else if (r < 9) this.editXml(doc.getXmlFragment('xml'))
    else {
      const nested = this.nestedTypes(doc)
      if (nested.length === 0) return this.editText(doc.getText('text'), true)
      const t = this.pick(nested)
      if (t instanceof Y.XmlText) t.insert(this.int(t.length + 1), this.pick(STRINGS))
      else if (t instanceof Y.Text) this.editText(t, false) // no formatting in nested text (see test)
      else if (t instanceof Y.Array) this.editArray(t, 3)
      else if (t instanceof Y.Map) this.editMap(t, 3)
      else if (t instanceof Y.XmlFragment) this.editXml(t)
    }
  }

  sync (a, b) {
    Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), REMOTE)
  }

  /** Runs the editing session; returns the list of local updates. */
  run (numOps) {
    for (let i = 0; i < numOps; i++) {
      const doc = this.pick(this.docs)
      if (this.rnd() < 0.2) {
        doc.transact(() => { const k = 2 + this.int(4); for (let j = 0; j < k; j++) this.action(doc) })
      } else {
        this.action(doc)
      }
      if (this.rnd() < 0.25) {
        const a = this.pick(this.docs)
        const b = this.pick(this.docs)
        if (a !== b) this.sync(a, b)
      }
    }
    return this.updates
  }

  /** A delivery order for the server: shuffled locally, some duplicated, some dropped, some
   * merged or replaced by a client's full state. */
  delivery ({ gaps = true } = {}) {
    const list = this.updates.slice()
    const shuffleWindow = this.pick([0, 1, 3, 8, list.length])
    for (let i = 0; i < list.length; i++) {
      const j = Math.min(list.length - 1, i + this.int(shuffleWindow + 1))
      const t = list[i]; list[i] = list[j]; list[j] = t
    }
    const out = []
    const dropRate = gaps ? this.pick([0, 0, 0.05, 0.15]) : 0
    for (let i = 0; i < list.length; i++) {
      const x = this.rnd()
      if (x < dropRate) continue
      if (x < 0.1 && i + 2 < list.length) {
        out.push(Y.mergeUpdates(list.slice(i, i + 2 + this.int(3))))
      } else {
        out.push(list[i])
      }
      if (this.rnd() < 0.08) out.splice(this.int(out.length + 1), 0, list[this.int(list.length)])
      if (this.rnd() < 0.03) out.push(Y.encodeStateAsUpdate(this.pick(this.docs)))
    }
    return out
  }
}

// ---- content comparison ----

function norm (v) {
  if (v instanceof Y.Doc) return { doc: v.guid }
  if (v instanceof Uint8Array) return { bytes: Array.from(v) }
  if (v instanceof Y.XmlElement || v instanceof Y.XmlFragment || v instanceof Y.XmlText) return { xml: v.toString() }
  if (v instanceof Y.Text) return { text: v.toDelta().map(norm) }
  if (v instanceof Y.Array) return v.toArray().map(norm)
  if (v instanceof Y.Map) {
    const o = {}
    for (const k of Array.from(v.keys()).sort()) o[k] = norm(v.get(k))
    return o
  }
  if (Array.isArray(v)) return v.map(norm)
  if (v && typeof v === 'object') {
    const o = {}
    for (const k of Object.keys(v).sort()) o[k] = norm(v[k])
    return o
  }
  return v
}

/** Visible content of a document holding the session's root types. */
function content (doc) {
  return {
    text: norm(doc.getText('text')),
    map: norm(doc.getMap('map')),
    array: norm(doc.getArray('array')),
    xml: doc.getXmlFragment('xml').toString()
  }
}

function docFrom (update) {
  const d = new Y.Doc()
  Y.applyUpdate(d, update)
  return d
}

/** Deleted ranges of an update, normalized (sorted, adjacent ranges joined). */
function deleteRanges (update) {
  const { ds } = Y.decodeUpdate(update)
  const out = {}
  for (const [client, items] of ds.clients) {
    const r = items.map(i => [i.clock, i.len]).sort((a, b) => a[0] - b[0])
    const joined = []
    for (const [c, l] of r) {
      const last = joined[joined.length - 1]
      if (last && last[0] + last[1] >= c) last[1] = Math.max(last[1], c + l - last[0])
      else joined.push([c, l])
    }
    out[client] = joined
  }
  return out
}


// ---- the tests ----

const svMap = sv => Y.decodeStateVector(sv)
const hex = b => Buffer.from(b).toString('hex')

/** Compares the C++ document (current state in `tool`) with the reference yjs document. */
async function compare (tool, ref, session, delivery, stats) {
  const clients = session.docs
  const svs = clients.map(c => Y.encodeStateVector(c))
  const answers = await tool.batch([['S'], ['E'], ...svs.map(sv => ['E', sv])])
  for (const a of answers) assert.ok(a.ok, 'tool error: ' + a.data.toString())
  const refSv = Y.encodeStateVector(ref)
  assert.strictEqual(hex(answers[0].data), hex(refSv), 'state vectors differ')
  const cppFull = answers[1].data
  const refFull = Y.encodeStateAsUpdate(ref)
  const sizeClass = Buffer.compare(cppFull, Buffer.from(refFull)) === 0
    ? 'identical'
    : cppFull.length < refFull.length ? 'smaller' : cppFull.length === refFull.length ? 'sameSize' : 'larger'
  if (sizeClass === 'larger') stats.larger++
  assert.ok(cppFull.length <= refFull.length, `encoding larger than yjs: ${cppFull.length} > ${refFull.length}`)
  const a = docFrom(cppFull)
  const b = docFrom(refFull)
  assert.deepStrictEqual(content(a), content(b), 'content differs')
  assert.strictEqual(hex(Y.encodeStateVector(a)), hex(Y.encodeStateVector(b)), 'state after reload differs')
  assert.deepStrictEqual(deleteRanges(cppFull), deleteRanges(refFull), 'delete sets differ')

  // encodeStateAsUpdate(sv): exactly what each client lacks.
  const ci = session.int(clients.length)
  for (let i = 0; i < clients.length; i++) {
    const cppDiff = answers[2 + i].data
    const have = svMap(svs[i])
    for (const st of Y.decodeUpdate(cppDiff).structs) {
      assert.ok(st.id.clock + st.length > (have.get(st.id.client) || 0), 'diff contains structs the peer has')
    }
    if (i !== ci && clients.length > 2) continue
    const base = Y.encodeStateAsUpdate(clients[i])
    const c1 = docFrom(base)
    Y.applyUpdate(c1, cppDiff)
    const c2 = docFrom(base)
    Y.applyUpdate(c2, Y.encodeStateAsUpdate(ref, svs[i]))
    assert.deepStrictEqual(content(c1), content(c2), 'client + diff differs')
    assert.strictEqual(hex(Y.encodeStateVector(c1)), hex(Y.encodeStateVector(c2)))
  }

  // Update-only helpers: diffUpdate, mergeUpdates, encodeStateVectorFromUpdate.
  const yMerged = Y.mergeUpdates(delivery.length ? delivery : [new Uint8Array([0, 0])])
  const [d, m, v1, v2] = await tool.batch([
    ['D', Buffer.concat([le32(cppFull.length), cppFull, Buffer.from(svs[ci])])],
    ['M', frames(delivery.length ? delivery : [new Uint8Array([0, 0])])],
    ['V', yMerged],
    ['V', cppFull]
  ])
  for (const x of [d, m, v1, v2]) assert.ok(x.ok, 'tool error: ' + x.data.toString())
  const base = Y.encodeStateAsUpdate(clients[ci])
  const c1 = docFrom(base)
  Y.applyUpdate(c1, d.data)
  const c2 = docFrom(base)
  Y.applyUpdate(c2, Y.diffUpdate(refFull, svs[ci]))
  assert.deepStrictEqual(content(c1), content(c2), 'diffUpdate differs')
  if (Buffer.compare(m.data, Buffer.from(yMerged)) === 0) stats.mergeIdentical++
  else if (process.env.YJS_DEBUG) console.log('mergeUpdates bytes differ, seed', session.seed)
  if (Buffer.compare(d.data, Buffer.from(Y.diffUpdate(refFull, svs[ci]))) === 0) stats.diffIdentical++
  const m1 = docFrom(m.data)
  const m2 = docFrom(yMerged)
  assert.deepStrictEqual(content(m1), content(m2), 'mergeUpdates content differs')
  assert.strictEqual(hex(Y.encodeStateVector(m1)), hex(Y.encodeStateVector(m2)), 'mergeUpdates state differs')
  assert.deepStrictEqual(deleteRanges(m.data), deleteRanges(yMerged), 'mergeUpdates delete sets differ')
  assert.strictEqual(hex(v1.data), hex(Y.encodeStateVectorFromUpdate(yMerged)), 'encodeStateVectorFromUpdate differs')
  assert.strictEqual(hex(v2.data), hex(Y.encodeStateVectorFromUpdate(cppFull)), 'encodeStateVectorFromUpdate differs')
  stats[sizeClass]++
  stats.compared++
}

async function runSession (tool, seed, stats) {
  const session = new Session(seed)
  session.run(5 + session.int(40))
  const delivery = session.delivery()
  const ref = new Y.Doc()
  const mid = session.rnd() < 0.3 ? session.int(delivery.length + 1) : -1
  await tool.call('N')
  const applied = []
  const apply = async (list) => {
    const answers = await tool.batch(list.map(u => ['A', u]))
    for (let i = 0; i < list.length; i++) {
      let refChanged = false
      const before = ref.store.pendingStructs || ref.store.pendingDs ? null : Y.encodeStateVector(ref)
      const onUpdate = () => { refChanged = true }
      ref.on('update', onUpdate)
      try {
        Y.applyUpdate(ref, list[i])
      } catch (e) {
        ref.off('update', onUpdate)
        stats.yjsThrew++
        return false
      }
      ref.off('update', onUpdate)
      assert.ok(answers[i].ok, 'apply failed: ' + answers[i].data.toString())
      const changed = answers[i].data[0] === 1
      // yjs emits an update event exactly when structs or deletions were integrated.
      if (refChanged) assert.ok(changed, 'C++ reported no change where yjs changed')
      if (before && !changed) assert.strictEqual(hex(Y.encodeStateVector(ref)), hex(before))
      applied.push(list[i])
    }
    return true
  }
  if (mid >= 0) {
    if (!await apply(delivery.slice(0, mid))) return
    await compare(tool, ref, session, applied, stats)
    if (!await apply(delivery.slice(mid))) return
  } else if (!await apply(delivery)) return
  await compare(tool, ref, session, applied, stats)
  if (ref.store.pendingStructs || ref.store.pendingDs) stats.pending++
}

test('C++ engine converges with yjs on random editing sessions', { timeout: SOAK ? Infinity : 600000 }, async (t) => {
  const tool = new NativeTool(YJS_TOOL)
  const stats = { sessions: 0, compared: 0, identical: 0, sameSize: 0, smaller: 0, larger: 0, pending: 0, yjsThrew: 0, mergeIdentical: 0, diffIdentical: 0 }
  const failures = []
  const firstSeed = Number(process.env.YJS_SEED || 1)
  const started = Date.now()
  try {
    for (let seed = firstSeed; seed < firstSeed + SESSIONS; seed++) {
      stats.sessions++
      try {
        await runSession(tool, seed, stats)
      } catch (e) {
        failures.push({ seed, message: e.message.split('\n')[0] })
        if (failures.length >= 10) break
      }
    }
  } finally {
    await tool.close()
  }
  const rate = stats.compared ? (100 * stats.identical / stats.compared).toFixed(1) : '0'
  t.diagnostic(`sessions ${stats.sessions}, comparisons ${stats.compared}, byte-identical ${stats.identical} (${rate}%), ` +
    `same size ${stats.sameSize}, smaller ${stats.smaller}, larger ${stats.larger}, ended with pending ${stats.pending}, ` +
    `yjs threw ${stats.yjsThrew}, mergeUpdates byte-identical ${stats.mergeIdentical}, diffUpdate byte-identical ${stats.diffIdentical}, ` +
    `${((Date.now() - started) / 1000).toFixed(1)} s`)
  console.log('yjs-engine stats', JSON.stringify(stats), `identical ${rate}%`)
  assert.deepStrictEqual(failures, [], 'failing seeds (rerun with YJS_SEED=<seed> YJS_SESSIONS=1)')
})

test('malformed updates are rejected and leave the document unchanged', async (t) => {
  const tool = new NativeTool(YJS_TOOL)
  try {
    const session = new Session(7)
    const updates = session.run(30)
    await tool.call('N')
    for (const u of updates) assert.ok((await tool.call('A', u)).ok)
    const before = (await tool.call('E')).data
    const rnd = mulberry32(99)
    for (const u of updates) {
      for (let cut = 0; cut < u.length; cut += 1 + Math.floor(rnd() * 4)) {
        const r = await tool.call('A', u.subarray(0, cut))
        if (!r.ok) assert.match(r.data.toString(), /./)
      }
    }
    const after = (await tool.call('E')).data
    assert.strictEqual(hex(after), hex(before))
    // Truncated and garbage inputs never crash the tool.
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 40)
      const junk = new Uint8Array(len).map(() => Math.floor(rnd() * 256))
      await tool.call(rnd() < 0.5 ? 'A' : 'E', junk)
    }
    assert.ok((await tool.call('S')).ok)
  } finally {
    const { signal } = await tool.close()
    assert.strictEqual(signal, null)
  }
})

/**
 * A value as the C++ engine renders it to JSON (Doc::rootMapToJson / rootArrayToJson), computed
 * from the yjs document: maps as objects, arrays and XML elements/fragments as arrays of their
 * children, texts as their plain string (formatting and embeds left out, as Y.Text#toString does),
 * binary as an array of bytes, a subdocument as { guid }, undefined as null.
 */
function readable (v) {
  if (v instanceof Y.Doc) return { guid: v.guid }
  if (v instanceof Uint8Array) return Array.from(v)
  if (v instanceof Y.Text) return v.toDelta().map(d => typeof d.insert === 'string' ? d.insert : '').join('')
  if (v instanceof Y.Map) {
    const o = {}
    for (const k of Array.from(v.keys()).sort()) o[k] = readable(v.get(k))
    return o
  }
  if (v instanceof Y.Array || v instanceof Y.XmlFragment) return v.toArray().map(readable)
  return v === undefined ? null : JSON.parse(JSON.stringify(v))
}

test('readable content matches yjs (root text, map and array)', async (t) => {
  const tool = new NativeTool(YJS_TOOL)
  try {
    for (let seed = 500; seed < 530; seed++) {
      const session = new Session(seed)
      const updates = session.run(40)
      await tool.call('N')
      const ref = new Y.Doc()
      for (const u of updates) { await tool.call('A', u); Y.applyUpdate(ref, u) }
      const [text, map, arr] = await tool.batch([['T', Buffer.from('text')], ['J', Buffer.from('map')], ['K', Buffer.from('array')]])
      assert.strictEqual(text.data.toString(), ref.getText('text').toString(), `seed ${seed}: root text`)
      assert.deepStrictEqual(JSON.parse(map.data.toString()), readable(ref.getMap('map')), `seed ${seed}: root map`)
      assert.deepStrictEqual(JSON.parse(arr.data.toString()), readable(ref.getArray('array')), `seed ${seed}: root array`)
    }
  } finally {
    await tool.close()
  }
})

test('long concurrent typing, big pastes and deletes stay byte-identical (text storage: joins, widening, compaction)', async (t) => {
  // Three authors type at their own cursors and see each other's keystrokes at once, so an author's
  // growing run is rarely adjacent to its previous text in the C++ text arena; Latin-1, CJK and
  // emoji runs mix one-byte and two-byte storage; pasted blocks deleted again leave enough garbage
  // for the arena to be compacted several times.
  const rnd = mulberry32(4242)
  const int = n => Math.floor(rnd() * n)
  const docs = [11, 22, 33].map(id => { const d = new Y.Doc(); d.clientID = id; return d })
  const ref = new Y.Doc()
  const updates = []
  docs.forEach(d => d.on('update', (u, origin) => {
    if (origin === REMOTE) return
    updates.push(u)
    for (const o of docs) if (o !== d) Y.applyUpdate(o, u, REMOTE)
  }))
  const cursors = [0, 0, 0]
  const alphabet = ['a', 'b', 'c', ' ', 'é', 'ü', '中', '文', '😀', '\n']
  const tool = new NativeTool(YJS_TOOL)
  try {
    await tool.call('N')
    const flush = async () => {
      const list = updates.splice(0)
      const answers = await tool.batch(list.map(u => ['A', u]))
      for (const a of answers) assert.ok(a.ok, 'apply failed: ' + a.data.toString())
      for (const u of list) Y.applyUpdate(ref, u)
    }
    const check = async (what) => {
      const [e, tx] = await tool.batch([['E'], ['T', Buffer.from('t')]])
      assert.strictEqual(hex(e.data), hex(Y.encodeStateAsUpdate(ref)), `${what}: encoding differs`)
      assert.strictEqual(tx.data.toString(), ref.getText('t').toString(), `${what}: text differs`)
    }
    for (let round = 0; round < 2500; round++) {
      const i = round % 3
      const text = docs[i].getText('t')
      cursors[i] = Math.min(cursors[i], text.length)
      const r = rnd()
      if (r < 0.004) {
        // Paste a block (mostly ASCII, sometimes Latin-1 or wide) at the cursor.
        const unit = ['lorem ipsum ', 'größe ', '漢字かな '][int(3)]
        const block = unit.repeat(500 + int(2000))
        text.insert(cursors[i], block)
        cursors[i] += block.length
      } else if (r < 0.02 && text.length > 0) {
        // Delete a large range around a random place.
        const pos = int(text.length)
        text.delete(pos, Math.min(text.length - pos, 1 + int(20000)))
        cursors[i] = Math.min(cursors[i], text.length)
      } else if (r < 0.06) {
        cursors[i] = int(text.length + 1) // jump
      } else if (r < 0.15 && cursors[i] > 0) {
        text.delete(cursors[i] - 1, 1) // backspace
        cursors[i]--
      } else {
        const s = alphabet[int(alphabet.length)]
        text.insert(cursors[i], s)
        cursors[i] += s.length
      }
      if (round % 50 === 49) await flush()
      if (round % 500 === 499) await check(`round ${round + 1}`)
    }
    await flush()
    await check('end')
    // The whole state loaded in one update (one large reservation) encodes the same.
    const full = Y.encodeStateAsUpdate(ref)
    await tool.call('N')
    assert.ok((await tool.call('A', full)).ok)
    await check('reloaded')
  } finally {
    await tool.close()
  }
})
