'use strict';
// permessage-deflate (RFC 7692) on the Socket.IO WebSocket: negotiated with the real
// socket.io-client (ws) and with raw clients, each compressed frame checked against Node's zlib,
// the threshold and compress(false) honoured, and bad compressed input closing only its own
// connection (1009 for a decompression bomb, 1007 for corrupt data).
const test = require('node:test');
const assert = require('node:assert/strict');
const zlib = require('node:zlib');
const { setup, nextConnection } = require('./helpers/harness');
const { once, withTimeout } = require('./helpers/clients');
const { frame, text, upgrade } = require('./helpers/raw-ws');
const { waitFor } = require('./helpers/docs');

const SIO_PATH = '/socket.io/?EIO=4&transport=websocket';
const BROWSER_OFFER = 'permessage-deflate; client_max_window_bits';
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** A chat-like JSON payload of about `n` bytes. */
function chat(n) {
  const out = [];
  for (let i = 0, size = 0; size < n; i++) {
    const m = { user: `user${i % 13}`, text: `message number ${i} in the room`, at: 1700000000000 + i };
    out.push(m);
    size += JSON.stringify(m).length + 1;
  }
  return out;
}

/** What a permessage-deflate peer puts in a frame: raw deflate, sync flush, tail dropped. */
function deflated(data) {
  const z = zlib.deflateRawSync(Buffer.from(data), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return z.subarray(0, z.length - 4);
}

/** Inflates a compressed frame's payload as a client does (RFC 7692 section 7.2.2). */
function inflated(payload, windowBits = 15) {
  return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
}

/** A raw WebSocket with the given offer, CONNECTed to "/" and known to the server as `socket`. */
async function rawSocketIo(ctx, offer) {
  const serverSide = nextConnection(ctx.io);
  const raw = await upgrade(ctx.port, SIO_PATH, { headers: offer ? { 'Sec-WebSocket-Extensions': offer } : {} });
  assert.equal(raw.status, 101);
  await raw.joinSocketIo();
  return { raw, socket: await serverSide };
}

const extensionHeader = (head) => (/^sec-websocket-extensions: (.*)$/im.exec(head) || [])[1];

test('perMessageDeflate is off by default: the offer goes unanswered and nothing is compressed', async (t) => {
  const ctx = await setup(t);
  const { raw, socket } = await rawSocketIo(ctx, BROWSER_OFFER);
  assert.equal(extensionHeader(raw.head), undefined);
  socket.emit('big', chat(20000));
  const f = await raw.next((x) => x.op === 1 && x.payload.toString().startsWith('42'));
  assert.equal(f.rsv1, false);
  assert.deepEqual(JSON.parse(f.payload.toString().slice(2)), ['big', chat(20000)]);
  raw.destroy();
});

test('the server answers an offer without context takeover on either side', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: true });
  const { raw } = await rawSocketIo(ctx, BROWSER_OFFER);
  assert.equal(extensionHeader(raw.head), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  raw.destroy();
  // A malformed offer is declined; the connection still opens, uncompressed.
  const bad = await rawSocketIo(ctx, 'permessage-deflate; server_max_window_bits=99');
  assert.equal(extensionHeader(bad.raw.head), undefined);
  bad.raw.destroy();
});

test('events at or over the threshold arrive as compressed frames that zlib inflates to the packet', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: { threshold: 2000 } });
  const { raw, socket } = await rawSocketIo(ctx, BROWSER_OFFER);
  const big = chat(20000);
  socket.emit('big', big);
  socket.emit('small', 'x'.repeat(1000)); // under the threshold
  socket.compress(false).emit('plain', big); // compress(false)
  ctx.io.emit('broadcast', big); // a broadcast, compressed once for everyone
  const bigFrame = await raw.next((x) => x.op === 1 && x.payload.toString().startsWith('42["big"'));
  assert.equal(bigFrame.rsv1, true);
  const size = bigFrame.compressed.length;
  assert.ok(size < JSON.stringify(big).length / 4, `compressed to ${size} bytes`);
  assert.deepEqual(JSON.parse(inflated(bigFrame.compressed).slice(2)), ['big', big]);
  const small = await raw.next((x) => x.op === 1 && x.payload.toString().startsWith('42["small"'));
  assert.equal(small.rsv1, false);
  const plain = await raw.next((x) => x.op === 1 && !x.rsv1 && x.payload.toString().startsWith('42["plain"'));
  assert.deepEqual(JSON.parse(plain.payload.toString().slice(2)), ['plain', big]);
  const bc = await raw.next((x) => x.op === 1 && x.rsv1);
  assert.deepEqual(JSON.parse(inflated(bc.compressed).slice(2)), ['broadcast', big]);
  raw.destroy();
});

test('io.compress(false) and the threshold option apply to broadcasts; threshold 0 compresses everything', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: { threshold: 0 } });
  const { raw } = await rawSocketIo(ctx, BROWSER_OFFER);
  ctx.io.compress(false).emit('one', 'a'.repeat(5000));
  ctx.io.emit('two', 'b'.repeat(5000));
  const one = await raw.next((x) => x.op === 1 && !x.rsv1 && x.payload.toString().startsWith('42["one"'));
  assert.equal(one.payload.length, 5000 + '42["one",""]'.length);
  const two = await raw.next((x) => x.op === 1 && x.rsv1 && x.payload.toString().startsWith('42["two"'));
  assert.equal(inflated(two.compressed), `42["two","${'b'.repeat(5000)}"]`);
  raw.destroy();
});

test('a server window limit the client asks for is confirmed and respected', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: true });
  const { raw, socket } = await rawSocketIo(ctx, 'permessage-deflate; server_max_window_bits=9');
  assert.match(extensionHeader(raw.head), /server_max_window_bits=9/);
  // Repeats 2 KB apart: a deflater with a 32 KB window refers back past 512 bytes, which an
  // inflater with a 512-byte window rejects ("invalid distance too far back").
  const block = Array.from({ length: 2048 }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join('');
  const payload = block.repeat(10);
  socket.emit('w', payload);
  const f = await raw.next((x) => x.op === 1 && x.rsv1);
  assert.equal(inflated(f.compressed, 9), `42["w","${payload}"]`);
  raw.destroy();
});

test('socket.io-client (ws) negotiates it; both directions compress and round-trip', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: true });
  const client = await ctx.clients.connect();
  const ws = client.io.engine.transport.ws;
  assert.match(ws.extensions, /^permessage-deflate/);
  const big = chat(100000);
  const before = ws._socket.bytesRead;
  const reply = await withTimeout(client.emitWithAck('echo', big), undefined, 'echo');
  assert.deepEqual(reply, big);
  const read = ws._socket.bytesRead - before;
  assert.ok(read < JSON.stringify(big).length / 4, `the echo took ${read} bytes on the wire`);
});

test('a polling session that upgrades compresses on its WebSocket', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: true });
  const serverSide = nextConnection(ctx.io);
  const client = await ctx.clients.connect({ transports: ['polling', 'websocket'] });
  const socket = await serverSide;
  await waitFor(() => client.io.engine.transport.name === 'websocket', 'upgraded', 10000);
  const ws = client.io.engine.transport.ws;
  assert.match(ws.extensions, /^permessage-deflate/);
  const big = chat(50000);
  const before = ws._socket.bytesRead;
  const got = once(client, 'big');
  socket.emit('big', big);
  assert.deepEqual((await got)[0], big);
  assert.ok(ws._socket.bytesRead - before < JSON.stringify(big).length / 4);
});

test('a message that inflates past maxHttpBufferSize closes that connection with 1009', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: true, maxHttpBufferSize: 100000 });
  const healthy = await ctx.clients.connect();
  const { raw, socket } = await rawSocketIo(ctx, BROWSER_OFFER);
  const reason = once(socket, 'disconnect');
  // 50 MB of zeros deflate to about 50 KB, under the limit as received (a binary message).
  const bomb = deflated(Buffer.alloc(50 << 20));
  assert.ok(bomb.length < 100000);
  raw.send(frame(0x80 | 0x40 | 2, bomb));
  await raw.ended;
  assert.equal(raw.closeCode, 1009);
  assert.equal((await reason)[0], 'transport error'); // as for an uncompressed message over the limit
  assert.deepEqual(await healthy.emitWithAck('echo', 1), 1);
});

test('corrupt compressed data closes with 1007; RSV1 without the extension with 1002', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: true });
  const { raw } = await rawSocketIo(ctx, BROWSER_OFFER);
  raw.send(frame(0x80 | 0x40 | 1, Buffer.from([0xff, 0xfe, 0xfd, 0x01, 0x02])));
  await raw.ended;
  assert.equal(raw.closeCode, 1007);
  const plain = await rawSocketIo(ctx, null);
  plain.raw.send(frame(0x80 | 0x40 | 1, deflated('42["x"]')));
  await plain.raw.ended;
  assert.equal(plain.raw.closeCode, 1002);
});

test('a compressed event from a raw client reaches the handler', async (t) => {
  const ctx = await setup(t, { perMessageDeflate: true });
  const { raw, socket } = await rawSocketIo(ctx, BROWSER_OFFER);
  const got = once(socket, 'hello');
  raw.send(frame(0x80 | 0x40 | 1, deflated('42["hello","compressed world"]')));
  assert.deepEqual(await got, ['compressed world']);
  raw.send(text('42["hello","plain world"]'));
  raw.destroy();
});

test('document connections negotiate it with documents.perMessageDeflate, and sync through it', async (t) => {
  const { docServer, synced, waitFor: waitDoc } = require('./helpers/docs');
  const { connect } = await docServer(t, { documents: { perMessageDeflate: true } });
  const a = connect('deflated');
  await synced(a);
  assert.match(a.ws.extensions, /^permessage-deflate/);
  const text = chat(30000).map((m) => m.text).join('\n');
  a.doc.getText('t').insert(0, text); // one update over the threshold, compressed by ws
  const b = connect('deflated');
  await synced(b); // the newcomer's SyncStep2 (the whole document) comes compressed
  await waitDoc(() => b.doc.getText('t').toString() === text, 'the newcomer to have the text');
  b.doc.getText('t').insert(0, 'from b ');
  await waitDoc(() => a.doc.getText('t').toString().startsWith('from b '), 'a to see b');
  // Without the option, the document endpoint answers no offer (y-websocket's server does not).
  const plain = await docServer(t);
  const c = plain.connect('plain');
  await synced(c);
  assert.equal(c.ws.extensions, '');
});

test('serverNoContextTakeover: false gives each connection its own stream: similar messages shrink further', async (t) => {
  const bytesFor = async (opts) => {
    const ctx = await setup(t, { perMessageDeflate: { threshold: 0, ...opts } });
    const serverSide = nextConnection(ctx.io);
    const client = await ctx.clients.connect();
    const socket = await serverSide;
    const ws = client.io.engine.transport.ws;
    const got = [];
    client.on('m', (x) => got.push(x));
    const before = ws._socket.bytesRead;
    const sent = [];
    for (let i = 0; i < 50; i++) {
      const m = chat(1500).map((x) => ({ ...x, at: x.at + i * 1000 }));
      sent.push(m);
      socket.emit('m', m);
    }
    await waitFor(() => got.length === 50, 'all 50 messages', 10000);
    assert.deepEqual(got, sent); // every message inflates right, in order, through the client's stream
    return { extensions: ws.extensions, bytes: ws._socket.bytesRead - before };
  };
  const shared = await bytesFor({});
  const own = await bytesFor({ serverNoContextTakeover: false });
  assert.ok(own.bytes < shared.bytes / 2, `own stream ${own.bytes} bytes vs shared ${shared.bytes}`);
  // A client that asks for server_no_context_takeover still gets it.
  const ctx = await setup(t, { perMessageDeflate: { serverNoContextTakeover: false } });
  const { raw } = await rawSocketIo(ctx, 'permessage-deflate; server_no_context_takeover');
  assert.equal(extensionHeader(raw.head), 'permessage-deflate; server_no_context_takeover; client_no_context_takeover');
  raw.destroy();
  const plain = await rawSocketIo(ctx, BROWSER_OFFER);
  assert.equal(extensionHeader(plain.raw.head), 'permessage-deflate; client_no_context_takeover');
  plain.raw.destroy();
});
