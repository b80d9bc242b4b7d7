'use strict'
// Writes the seed corpus for yjs_fuzz (corpus/yjs/): real updates recorded from small yjs editing
// sessions (text with emoji and formatting, maps, arrays, nested types, XML, subdocuments),
// framed as yjs_fuzz.cpp expects (mode byte, then 16-bit little-endian length-prefixed chunks).
//   node test/fuzz/make-corpus.js
const fs = require('node:fs')
const path = require('node:path')
const Y = require(path.join(__dirname, '..', '..', 'node_modules', 'yjs'))

let seed = 12345
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed / 0x80000000 }
const int = n => Math.floor(rnd() * n)
const STR = ['a', 'hello', '😀', 'é', '中', 'x👍🏽y']

function session (n) {
  const docs = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
  docs.forEach((d, i) => { d.clientID = i === 0 ? 3 : 100000 + int(1e9) })
  const updates = []
  docs.forEach(d => d.on('update', (u, origin) => { if (origin !== 'sync') updates.push(u) }))
  for (let i = 0; i < n; i++) {
    const d = docs[int(3)]
    const t = d.getText('text')
    switch (int(8)) {
      case 0: t.insert(int(t.length + 1), STR[int(STR.length)], rnd() < 0.3 ? { bold: true } : undefined); break
      case 1: if (t.length) t.delete(int(t.length), 1); break
      case 2: d.getMap('map').set('k' + int(3), rnd() < 0.5 ? { v: int(9), s: 'x' } : new Y.Map()); break
      case 3: d.getArray('array').insert(0, [int(100), 'y', new Uint8Array([1, 2])]); break
      case 4: { const a = d.getArray('array'); if (a.length) a.delete(0, 1); break }
      case 5: { const el = new Y.XmlElement('p'); el.setAttribute('a', 'b'); el.insert(0, [new Y.XmlText('t')]); d.getXmlFragment('xml').insert(0, [el]); break }
      case 6: d.getMap('map').set('doc', new Y.Doc()); break
      default: { const a = docs[int(3)]; const b = docs[int(3)]; Y.applyUpdate(b, Y.encodeStateAsUpdate(a, Y.encodeStateVector(b)), 'sync') }
    }
  }
  return { docs, updates }
}

const frame = (mode, list) => {
  const parts = [Buffer.from([mode])]
  for (const u of list) {
    const len = Buffer.alloc(2)
    len.writeUInt16LE(Math.min(u.length, 0xffff))
    parts.push(len, Buffer.from(u).subarray(0, 0xffff))
  }
  return Buffer.concat(parts)
}

const dir = path.join(__dirname, 'corpus', 'yjs')
fs.mkdirSync(dir, { recursive: true })
let k = 0
for (let s = 0; s < 24; s++) {
  const { docs, updates } = session(5 + int(30))
  const shuffled = updates.slice().sort(() => rnd() - 0.5)
  fs.writeFileSync(path.join(dir, `session-${s}-ordered`), frame(1, updates.slice(0, 40)))
  fs.writeFileSync(path.join(dir, `session-${s}-shuffled`), frame(2, shuffled.slice(0, 40)))
  if (s % 3 === 0) {
    fs.writeFileSync(path.join(dir, `session-${s}-full`), frame(1, [Y.encodeStateAsUpdate(docs[0]), Y.encodeStateVector(docs[1])]))
    fs.writeFileSync(path.join(dir, `session-${s}-merge`), frame(3, [Y.encodeStateVector(docs[2]), ...updates.slice(0, 8)]))
  }
  k++
}
fs.writeFileSync(path.join(dir, 'lib0-any'), frame(0, [Buffer.from([4, 118, 2, 1, 97, 125, 5, 1, 98, 117, 1, 119, 1, 120])]))
console.log('wrote', fs.readdirSync(dir).length, 'files to', dir)
