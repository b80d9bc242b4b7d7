'use strict';
// Writes the seed corpus of hocuspocus_message_fuzz (test/fuzz/corpus/hocuspocus_message/): the
// messages a real @hocuspocus/provider 4.x sends (captured from its 'outgoingMessage' event, with a
// socket that never connects), plus a few a client must not send.
//   node test/fuzz/hardening/make-hocuspocus-corpus.js
const fs = require('node:fs');
const path = require('node:path');
const WebSocket = require('ws');
const encoding = require('lib0/encoding');
const { HocuspocusProvider, HocuspocusProviderWebsocket } = require('@hocuspocus/provider');

const dir = path.join(__dirname, '..', 'corpus', 'hocuspocus_message');
fs.mkdirSync(dir, { recursive: true });
const write = (name, bytes) => fs.writeFileSync(path.join(dir, name), Buffer.from(bytes));

const socket = new HocuspocusProviderWebsocket({ url: 'ws://127.0.0.1:9', WebSocketPolyfill: WebSocket, autoConnect: false });
const captured = [];
const provider = new HocuspocusProvider({ websocketProvider: socket, name: 'notes 😀', token: 'secret-token' });
provider.on('outgoingMessage', ({ message }) => captured.push([message.description, encoding.toUint8Array(message.encoder)]));
provider.attach();

(async () => {
  await provider.sendToken();
  provider.startSync();
  provider.document.getText('t').insert(0, 'hello tiptap');
  provider.document.getXmlFragment('default').insert(0, [new (require('yjs').XmlElement)('paragraph')]);
  provider.setAwarenessField('user', { name: 'ana', color: '#f00' });
  provider.sendStateless(JSON.stringify({ event: 'ping' }));
  const seen = new Map();
  for (const [description, bytes] of captured) {
    const base = description.toLowerCase().replace(/[^a-z0-9]+/g, '-');
    const n = seen.get(base) || 0;
    seen.set(base, n + 1);
    write(n ? `${base}-${n}` : base, bytes);
  }
  const msg = (name, type, fn = () => {}) => {
    const e = encoding.createEncoder();
    encoding.writeVarString(e, name);
    encoding.writeVarUint(e, type);
    fn(e);
    return encoding.toUint8Array(e);
  };
  write('session-address', msg('doc\0abc123', 3));
  write('close', msg('doc', 7));
  write('pong', [10]);
  write('broadcast-stateless', msg('doc', 6, (e) => encoding.writeVarString(e, 'x')));
  write('sync-status', msg('doc', 8, (e) => encoding.writeVarUint(e, 1)));
  write('token-3x', msg('doc', 2, (e) => {
    encoding.writeVarUint(e, 0);
    encoding.writeVarString(e, 'token');
  }));
  provider.destroy();
  socket.destroy();
  console.log(`wrote ${fs.readdirSync(dir).length} seeds to ${dir}`);
})();
