'use strict';
// Memory per document with Hocuspocus editors: opens `docs` documents, 50 per Hocuspocus socket
// (as a Tiptap app with many documents open does), writes into each a Tiptap-like content (the
// Y.XmlFragment 'default': `paragraphs` paragraphs typed in `edits` edits) and waits until the server
// has acknowledged every write (SyncStatus; the provider's hasUnsyncedChanges turns false).
//
// Argument: one JSON object {url, docs, paragraphs, edits}. Prints {"event":"ready"} once every
// document is saved, then stays connected until stdin closes.

const WebSocket = require('ws');
const Y = require('yjs');
const { HocuspocusProvider, HocuspocusProviderWebsocket } = require('@hocuspocus/provider');
const { withTimeout } = require('./yjs-common');

const cfg = JSON.parse(process.argv[2]);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function main() {
  // 50 documents per socket: below both servers' per-socket bounds (collabio's
  // maxDocumentsPerConnection and Hocuspocus's maxPendingDocuments are 100).
  const sockets = [];
  const providers = [];
  for (let d = 0; d < cfg.docs; d++) {
    if (d % 50 === 0) sockets.push(new HocuspocusProviderWebsocket({ url: cfg.url, WebSocketPolyfill: WebSocket }));
    const p = new HocuspocusProvider({ websocketProvider: sockets[sockets.length - 1], name: `mem-${d}` });
    p.attach();
    providers.push(p);
  }
  await withTimeout(Promise.all(providers.map((p) => new Promise((r) => (p.synced ? r() : p.on('synced', r))))), 120000, 'synced');
  const words = 'the quick brown fox jumps over the lazy dog while collaborative editors merge every keystroke'.split(' ');
  for (const p of providers) {
    const fragment = p.document.getXmlFragment('default');
    for (let i = 0; i < cfg.paragraphs; i++) {
      const para = new Y.XmlElement('paragraph');
      para.insert(0, [new Y.XmlText()]);
      fragment.insert(fragment.length, [para]);
    }
    const per = Math.ceil(cfg.edits / cfg.paragraphs);
    for (let i = 0; i < cfg.paragraphs; i++) {
      const text = fragment.get(i).get(0);
      for (let k = 0; k < per; k++) text.insert(text.length, `${words[(i + k) % words.length]} `);
    }
  }
  await withTimeout(
    new Promise((resolve) => {
      const check = setInterval(() => {
        if (providers.every((p) => p.synced && !p.hasUnsyncedChanges)) {
          clearInterval(check);
          resolve();
        }
      }, 50);
    }),
    120000,
    'every write acknowledged',
  );
  out({ event: 'ready', docs: providers.length, bytes: Y.encodeStateAsUpdate(providers[0].document).length });
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

main().catch((err) => {
  out({ event: 'error', message: String(err && err.stack ? err.stack : err) });
  process.exit(1);
});
