'use strict';
// Binary values (Buffer, ArrayBuffer, typed arrays, DataView) at any depth travel as attachments
// and arrive on the server as Buffers, byte for byte.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { once, withTimeout } = require('./helpers/clients');

async function pair(t, opts) {
  const ctx = await setup(t, opts);
  const serverSide = nextConnection(ctx.io);
  const client = await ctx.clients.connect();
  const socket = await serverSide;
  return { ...ctx, client, socket };
}

/** The bytes a binary value stands for (a view's own window, not its whole buffer). */
function bytesOf(v) {
  if (v instanceof ArrayBuffer) return Buffer.from(v);
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

const allBytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

test('binary kinds from the client arrive as Buffers with the same bytes', async (t) => {
  const { client, socket } = await pair(t);
  const backing = new ArrayBuffer(64);
  new Uint8Array(backing).forEach((_, i, a) => (a[i] = 255 - i));
  const values = [
    Buffer.from('plain buffer'),
    allBytes,
    new Uint8Array([0, 1, 254, 255]).buffer, // ArrayBuffer
    new Uint8Array([1, 2, 3]),
    new Int16Array([-1, 256, 32767]),
    new Float64Array([Math.PI, -0, Infinity]),
    new Uint8Array(backing, 10, 5), // a view with an offset: only its window is sent
    new DataView(backing, 3, 4),
    Buffer.alloc(0), // empty attachment
  ];
  const got = once(socket, 'binaries');
  client.emit('binaries', ...values);
  const args = await got;
  assert.equal(args.length, values.length);
  args.forEach((arg, i) => {
    assert.ok(Buffer.isBuffer(arg), `argument ${i} is a Buffer`);
    assert.ok(arg.equals(bytesOf(values[i])), `argument ${i} bytes`);
  });
});

test('binary at any depth inside objects and arrays, mixed with JSON', async (t) => {
  const { client, socket } = await pair(t);
  const payload = {
    name: 'upload',
    files: [
      { id: 1, body: Buffer.from('first') },
      { id: 2, body: Buffer.from('second'), meta: { thumb: new Uint8Array([7, 7, 7]) } },
    ],
    deep: { a: [[[{ b: [null, allBytes] }]]] },
    same: null,
    text: 'not binary',
  };
  const got = once(socket, 'nested');
  client.emit('nested', 'before', payload, [Buffer.from('x'), 'after']);
  const [before, p, tail] = await got;
  assert.equal(before, 'before');
  assert.equal(p.name, 'upload');
  assert.equal(p.text, 'not binary');
  assert.equal(p.same, null);
  assert.ok(Buffer.isBuffer(p.files[0].body) && p.files[0].body.toString() === 'first');
  assert.equal(p.files[1].id, 2);
  assert.ok(Buffer.isBuffer(p.files[1].body) && p.files[1].body.toString() === 'second');
  assert.ok(p.files[1].meta.thumb.equals(Buffer.from([7, 7, 7])));
  assert.ok(p.deep.a[0][0][0].b[1].equals(allBytes));
  assert.equal(p.deep.a[0][0][0].b[0], null);
  assert.ok(Buffer.isBuffer(tail[0]) && tail[0].toString() === 'x');
  assert.equal(tail[1], 'after');
});

test('the same buffer twice and ten attachments in one event', async (t) => {
  const { client, socket } = await pair(t);
  const b = Buffer.from('twice');
  const ten = Array.from({ length: 10 }, (_, i) => Buffer.from([i, i, i]));
  const got = once(socket, 'many');
  client.emit('many', b, b, ...ten.slice(0, 8));
  const args = await got;
  assert.equal(args.length, 10);
  assert.ok(args[0].equals(b) && args[1].equals(b));
  args.slice(2).forEach((a, i) => assert.ok(a.equals(ten[i])));
});

test('a large binary attachment (512 kB) arrives intact', async (t) => {
  const { client, socket } = await pair(t);
  const big = Buffer.alloc(512 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff;
  const got = once(socket, 'big');
  client.emit('big', { big });
  const [{ big: received }] = await got;
  assert.ok(received.equals(big));
});

test('server-to-client binary at any depth, byte for byte', async (t) => {
  const { client, socket } = await pair(t);
  const got = once(client, 'down');
  socket.emit('down', { a: [Buffer.from([1, 2, 3]), { b: new Uint8Array([4, 5]).buffer }], c: 'text' }, allBytes);
  const [obj, raw] = await got;
  assert.equal(obj.c, 'text');
  assert.deepStrictEqual([...new Uint8Array(obj.a[0])], [1, 2, 3]);
  assert.deepStrictEqual([...new Uint8Array(obj.a[1].b)], [4, 5]);
  assert.ok(Buffer.from(raw).equals(allBytes));
});

test('binary echo round trip through the server keeps bytes and positions', async (t) => {
  const { client } = await pair(t);
  const sent = [{ k: Buffer.from('α😀') }, [1, allBytes, 3]];
  const reply = await withTimeout(
    new Promise((resolve) => client.emit('echo', ...sent, (...args) => resolve(args))),
  );
  assert.equal(Buffer.from(reply[0].k).toString(), 'α😀');
  assert.equal(reply[1][0], 1);
  assert.ok(Buffer.from(reply[1][1]).equals(allBytes));
  assert.equal(reply[1][2], 3);
});

test('binary events interleaved with text events keep their order', async (t) => {
  const { client, socket } = await pair(t);
  const received = [];
  const done = new Promise((resolve) => {
    socket.on('seq', (n, maybe) => {
      received.push([n, maybe === undefined ? null : Buffer.from(maybe).toString()]);
      if (received.length === 40) resolve();
    });
  });
  const expected = [];
  for (let n = 0; n < 40; n++) {
    if (n % 3 === 0) {
      client.emit('seq', n, Buffer.from(`b${n}`));
      expected.push([n, `b${n}`]);
    } else {
      client.emit('seq', n);
      expected.push([n, null]);
    }
  }
  await withTimeout(done);
  assert.deepStrictEqual(received, expected);
});
