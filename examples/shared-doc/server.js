'use strict';
// The shared-document demo server: collaborative documents (Yjs, handled entirely by the C++ core)
// and a per-document chat written in JavaScript against the Socket.IO-compatible API.
//
//   PORT=1234 COLLABIO_DATA=./my-data node examples/shared-doc/server.js
//
// Run `npm run demo` instead to build the browser bundle first (see start.js).

const fs = require('node:fs');
const path = require('node:path');
const { Server } = require('../..'); // outside this repo: require('collabio')
const { bridgeTextViews } = require('./text-bridge');

const PORT = process.env.PORT !== undefined && process.env.PORT !== '' ? Number(process.env.PORT) : 1234;
const HOST = process.env.HOST || '0.0.0.0';
const DATA_DIR = process.env.COLLABIO_DATA || path.join(__dirname, '.data');

const MAX_TEXT = 500;
const HISTORY = 50; // chat messages kept per document, in memory

const io = new Server({
  // GET / and the bundle come from public/; ws://host/<name> is the Yjs document <name> for
  // y-websocket (the CodeMirror page), ws://host/collab serves Hocuspocus providers (tiptap.html).
  serveStatic: path.join(__dirname, 'public'),
  documents: {
    persistence: { dir: DATA_DIR },
    hocuspocus: { path: '/collab' },
    // Every connection of either protocol passes here: the document gets its text bridge.
    authorize: ({ name }) => {
      textViews.ensure(name);
      return true;
    },
  },
});
// Keeps the CodeMirror text and the Tiptap rich text of each open document in step (text-bridge.js).
const textViews = bridgeTextViews(io);

/** Chat history per document room: room -> [{ id, name, color, text, ts }] (main thread only). */
const histories = new Map();

/** Keeps what a client sends within bounds: it is untrusted input. */
function clean(value, fallback, max) {
  const text = typeof value === 'string' ? value.trim().slice(0, max) : '';
  return text || fallback;
}
const cleanColor = (value) => (/^#[0-9a-f]{6}$/i.test(String(value)) ? String(value) : '#6b7280');
const cleanDoc = (value) => clean(value, 'welcome', 64).toLowerCase().replace(/[^a-z0-9._-]/g, '-');

let nextId = 1;

io.on('connection', (socket) => {
  // The page connects with ?doc=<document>&name=<user>&color=<#rrggbb>: one chat room per document.
  const query = socket.handshake.query;
  const doc = cleanDoc(query.doc);
  const room = `doc:${doc}`;
  const user = { name: clean(query.name, 'Anonymous', 32), color: cleanColor(query.color) };

  socket.join(room);
  socket.emit('history', histories.get(room) || []);
  socket.to(room).emit('activity', { type: 'join', name: user.name, color: user.color, ts: Date.now() });

  socket.on('rename', (name) => {
    const next = clean(name, user.name, 32);
    if (next === user.name) return;
    socket.to(room).emit('activity', { type: 'rename', from: user.name, name: next, color: user.color, ts: Date.now() });
    user.name = next;
  });

  // A chat message goes to everyone else in the room; the ack tells the sender it was delivered
  // and to how many people.
  socket.on('chat', async (payload, ack) => {
    const text = clean(payload && payload.text, '', MAX_TEXT);
    if (typeof ack !== 'function') return;
    if (!text) {
      ack({ ok: false, error: 'empty message' });
      return;
    }
    const message = { id: nextId++, name: user.name, color: user.color, text, ts: Date.now() };
    const list = histories.get(room) || [];
    list.push(message);
    if (list.length > HISTORY) list.shift();
    histories.set(room, list);
    socket.to(room).emit('chat', message);
    let delivered = null; // how many others are in the room, when the count is available
    try {
      delivered = Math.max(0, (await io.in(room).fetchSockets()).length - 1);
    } catch {
      // the message went out all the same
    }
    ack({ ok: true, id: message.id, ts: message.ts, delivered });
  });

  socket.on('disconnect', () => {
    // The socket has already left its rooms here, so this reaches everyone who is still there.
    io.to(room).emit('activity', { type: 'leave', name: user.name, color: user.color, ts: Date.now() });
  });
});

async function main() {
  if (!fs.existsSync(path.join(__dirname, 'public', 'dist', 'app.js'))) {
    console.warn('the page bundle is missing: run `npm run demo` (or node examples/shared-doc/build.js) first');
  }
  await io.listen(PORT, HOST);
  const { port } = io.address();
  const shown = HOST === '0.0.0.0' || HOST === '::' ? 'localhost' : HOST;
  console.log(`collabio shared-doc demo: http://${shown}:${port}/`);
  console.log(`the same documents in Tiptap: http://${shown}:${port}/tiptap.html`);
  console.log(`documents are stored in ${DATA_DIR}`);
}

let closing = false;
async function shutdown() {
  if (closing) return;
  closing = true;
  textViews.close();
  await io.close();
  process.exit(0);
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
