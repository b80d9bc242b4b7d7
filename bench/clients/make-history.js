'use strict';
// Builds a Yjs document with a long editing history and writes it as one update v1:
//   node make-history.js <edits> <out-file>
// Four simulated authors take turns of 50 edits (each catches up on the others' updates first); 85% of
// edits type 1-24 characters at a cursor, 15% backspace 1-5 characters, and the cursor jumps to a
// random place every 25 edits. Deterministic (seeded) so every run and every server gets the same document.

const fs = require('node:fs');
const Y = require('yjs');

const edits = Number(process.argv[2] || 100000);
const outFile = process.argv[3];

let seed = 0x9e3779b9;
function rand() {
  // xorshift32
  seed ^= seed << 13;
  seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  seed >>>= 0;
  return seed / 4294967296;
}
const words = 'lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore'.split(' ');

const authors = [1, 2, 3, 4].map((id) => {
  const d = new Y.Doc();
  d.clientID = id;
  return d;
});
// Each author's updates wait in the other authors' inboxes until it is their turn.
const inbox = authors.map(() => []);
authors.forEach((a, i) =>
  a.on('update', (u, origin) => {
    if (origin === 'remote') return;
    inbox.forEach((box, j) => j !== i && box.push(u));
  }),
);
function catchUp(j) {
  for (const u of inbox[j]) Y.applyUpdate(authors[j], u, 'remote');
  inbox[j].length = 0;
}
function syncAll() {
  authors.forEach((_, j) => catchUp(j));
}
let cursor = 0;
for (let i = 0; i < edits; i++) {
  const turn = Math.floor(i / 50) % authors.length;
  const d = authors[turn];
  if (i % 50 === 0) catchUp(turn);
  const t = d.getText('t');
  const len = t.length;
  // Like a person typing: words at a cursor, some backspacing, and every 25 edits a jump elsewhere.
  if (i % 25 === 0 || cursor > len) cursor = Math.floor(rand() * (len + 1));
  if (cursor > 8 && rand() < 0.15) {
    const n = 1 + Math.floor(rand() * 5);
    t.delete(cursor - n, n);
    cursor -= n;
  } else {
    const s = (words[Math.floor(rand() * words.length)] + ' ').repeat(2).slice(0, 1 + Math.floor(rand() * 24));
    t.insert(cursor, s);
    cursor += s.length;
  }
}
syncAll();
const update = Y.encodeStateAsUpdate(authors[0]);
fs.writeFileSync(outFile, update);
process.stdout.write(JSON.stringify({ edits, bytes: update.length, textLength: authors[0].getText('t').length }) + '\n');
