'use strict';
// Keeps two views of one document's text in step, on the server: the Y.Text 'codemirror' that the
// CodeMirror page edits (y-websocket) and the Y.XmlFragment 'default' that Tiptap's Collaboration
// extension edits (Hocuspocus). One line of text is one top-level block (a paragraph) of the
// fragment.
//
// Why on the server: a translation must be made exactly once. If every Tiptap page translated the
// CodeMirror edits it received into its fragment, n pages would insert the same text n times. Here
// one translator per document watches both sides through a document handle (io.documents.open,
// 'update' events), keeps a Y.Doc mirror, and writes its translation back with applyUpdate, which
// the C++ core relays to every client like any other edit.
//
// What is translated: plain text. Formatting made in Tiptap stays in the fragment; a paragraph
// whose text CodeMirror changes keeps its formatting outside the changed characters (the edit is
// applied as a character diff inside that paragraph's text node when it has one).

const Y = require('yjs');

const BRIDGE = Symbol('text-bridge');
const TEXT = 'codemirror';
const XML = 'default';

/** Plain text of a top-level block: the text of its XmlText descendants. */
function blockText(node) {
  if (node instanceof Y.XmlText) return node.toDelta().map((d) => (typeof d.insert === 'string' ? d.insert : '')).join('');
  if (node instanceof Y.XmlElement) return node.toArray().map(blockText).join('');
  return '';
}

const linesOfFragment = (fragment) => fragment.toArray().map(blockText);

/** [prefix, suffix] lengths two sequences have in common (suffix not overlapping the prefix). */
function commonEnds(a, b, eq = (x, y) => x === y) {
  let p = 0;
  while (p < a.length && p < b.length && eq(a[p], b[p])) p++;
  let s = 0;
  while (s < a.length - p && s < b.length - p && eq(a[a.length - 1 - s], b[b.length - 1 - s])) s++;
  return [p, s];
}

/** Applies the character difference from `from` to `to` to a Y.Text or Y.XmlText. */
function applyTextDiff(ytext, from, to) {
  const [p, s] = commonEnds(from, to);
  const removed = from.length - p - s;
  if (removed > 0) ytext.delete(p, removed);
  const added = to.slice(p, to.length - s);
  if (added) ytext.insert(p, added);
}

/**
 * Three-way merge of two edits of `base` (each one contiguous change, as typing makes): both are
 * kept when they touch different places; when they overlap, `b` wins.
 *   merge3('abc', 'Xabc', 'abcY') === 'XabcY'
 */
function merge3(base, a, b) {
  if (a === base) return b;
  if (b === base || a === b) return a;
  const region = (x) => {
    const [p, s] = commonEnds(base, x);
    return { start: p, end: base.length - s, insert: x.slice(p, x.length - s) };
  };
  const ra = region(a);
  const rb = region(b);
  const [first, second] = ra.start <= rb.start ? [ra, rb] : [rb, ra];
  if (first.end > second.start) return b;
  return base.slice(0, first.start) + first.insert + base.slice(first.end, second.start) + second.insert + base.slice(second.end);
}

function paragraph(text) {
  const el = new Y.XmlElement('paragraph');
  if (text) {
    const t = new Y.XmlText();
    t.insert(0, text);
    el.insert(0, [t]);
  }
  return el;
}

/** The fragment's blocks made to read `lines`, changing only the blocks that differ. */
function writeLines(fragment, lines) {
  const current = linesOfFragment(fragment);
  const [p, s] = commonEnds(current, lines);
  const oldMid = current.length - p - s;
  const newMid = lines.slice(p, lines.length - s);
  if (oldMid === newMid.length) {
    // Same number of lines: edit each changed paragraph's text in place (formatting elsewhere stays).
    for (let i = 0; i < oldMid; i++) {
      const block = fragment.get(p + i);
      const only = block instanceof Y.XmlElement && block.length === 1 ? block.get(0) : null;
      if (only instanceof Y.XmlText) {
        applyTextDiff(only, current[p + i], newMid[i]);
      } else {
        fragment.delete(p + i, 1);
        fragment.insert(p + i, [paragraph(newMid[i])]);
      }
    }
    return;
  }
  if (oldMid > 0) fragment.delete(p, oldMid);
  if (newMid.length) fragment.insert(p, newMid.map(paragraph));
}

/**
 * Bridges the documents of `io` that `ensure(name)` is called for, while clients use them.
 * Returns { ensure(name), close() }.
 * @param {import('../..').Server} io
 */
function bridgeTextViews(io, { debounce = 30 } = {}) {
  const bridges = new Map();

  function start(name) {
    if (bridges.has(name)) return;
    const handle = io.documents.open(name);
    const mirror = new Y.Doc();
    const text = mirror.getText(TEXT);
    const fragment = mirror.getXmlFragment(XML);
    // `base`: the text both views last agreed on (the reference of the three-way merge).
    const b = { handle, mirror, timer: null, dirty: false, ready: false, base: '', chain: Promise.resolve() };
    bridges.set(name, b);

    // What the bridge writes goes back to the server (and from there to every client).
    mirror.on('update', (update, origin) => {
      if (origin !== BRIDGE) return;
      b.chain = b.chain.then(() => handle.applyUpdate(update)).catch(() => {});
    });
    text.observe((_e, tr) => {
      if (tr.origin !== BRIDGE) schedule(b);
    });
    fragment.observeDeep((_e, tr) => {
      if (tr.origin !== BRIDGE) schedule(b);
    });
    handle.on('update', (updates) => {
      for (const u of updates) Y.applyUpdate(mirror, u, 'server');
    });
    handle.encodeState().then(
      (state) => {
        Y.applyUpdate(mirror, state, 'server');
        // A document edited by only one kind of editor so far fills the other view; when both
        // have text, the CodeMirror text is taken as the reference.
        b.base = fragment.length ? linesOfFragment(fragment).join('\n') : text.toString();
        if (text.length && fragment.length) b.base = text.toString();
        b.ready = true;
        schedule(b);
      },
      () => stop(name),
    );
  }

  function schedule(b) {
    b.dirty = true;
    if (b.timer || !b.ready) return;
    b.timer = setTimeout(() => {
      b.timer = null;
      translate(b);
    }, debounce);
  }

  function translate(b) {
    b.dirty = false;
    const text = b.mirror.getText(TEXT);
    const fragment = b.mirror.getXmlFragment(XML);
    const plain = text.toString();
    const fromXml = linesOfFragment(fragment).join('\n');
    const merged = merge3(b.base, plain, fromXml);
    b.base = merged;
    if (plain === merged && fromXml === merged) return;
    b.mirror.transact(() => {
      if (plain !== merged) applyTextDiff(text, plain, merged);
      if (fromXml !== merged) writeLines(fragment, merged.split('\n'));
    }, BRIDGE);
  }

  function stop(name) {
    const b = bridges.get(name);
    if (!b) return;
    bridges.delete(name);
    clearTimeout(b.timer);
    b.handle.close();
    b.mirror.destroy();
  }

  // A document is bridged while clients use it: ensure(name) from `authorize` (every connection of
  // either protocol passes there); the handle is released once the last client has left, so that
  // the document can unload.
  const onIdle = (name) => {
    const b = bridges.get(name);
    if (!b) return;
    b.handle.connections().then((conns) => {
      if (conns.length === 0 && bridges.get(name) === b) stop(name);
    }, () => stop(name));
  };
  io.documents.on('idle', onIdle);
  return {
    ensure: start,
    close() {
      io.documents.off('idle', onIdle);
      for (const name of [...bridges.keys()]) stop(name);
    },
  };
}

module.exports = { bridgeTextViews, linesOfFragment, writeLines, applyTextDiff, merge3 };
