'use strict';
// Every JSON kind survives a round trip client -> server -> client unchanged.
const test = require('node:test');
const assert = require('node:assert/strict');
const { setup, nextConnection } = require('./helpers/harness');
const { once, withTimeout } = require('./helpers/clients');

const VALUES = {
  'empty string': '',
  'ascii string': 'hello',
  'unicode string': 'héllo wörld – ünïcödé – 日本語 – עברית',
  emoji: '😀👍🏽👨‍👩‍👧‍👦🏳️‍🌈',
  'escapes and control characters': 'quote " backslash \\ slash / \n\r\t\b\f \u0000 \u001f \u2028 \u2029',
  'json-looking string': '["not","parsed"]',
  'packet-looking string': '42["hey"]',
  zero: 0,
  'negative zero (JSON makes it 0)': -0,
  integer: 42,
  negative: -17,
  fraction: 0.1,
  'max safe integer': Number.MAX_SAFE_INTEGER,
  'min safe integer': Number.MIN_SAFE_INTEGER,
  'beyond safe integer': 2 ** 64,
  'max double': Number.MAX_VALUE,
  'min positive double': Number.MIN_VALUE,
  'tiny negative': -1e-300,
  true: true,
  false: false,
  null: null,
  'empty object': {},
  'empty array': [],
  'nested object': { a: { b: { c: { d: [1, { e: 'deep' }] } } }, 'key with spaces': 1, '': 'empty key' },
  'nested arrays': [[[[[]]]], [1, [2, [3, [4]]]], []],
  'mixed array': [1, 'two', null, true, false, { three: 3 }, [4], '', 0, -0.5],
  'object with unicode keys': { 'ключ': 'значение', '😀': '🙂', 'ｷｰ': [] },
  'deeply nested (200 levels)': JSON.parse('['.repeat(200) + '"bottom"' + ']'.repeat(200)),
  'long string (100 kB)': 'x'.repeat(100 * 1024),
  'many elements': Array.from({ length: 2000 }, (_, i) => i),
};

test('every JSON kind round-trips unchanged as an event argument', async (t) => {
  const { clients } = await setup(t);
  const client = await clients.connect();
  for (const [name, value] of Object.entries(VALUES)) {
    const reply = await withTimeout(client.emitWithAck('echo', value), undefined, name);
    // JSON has no -0: the value arrives as 0.
    const expected = JSON.parse(JSON.stringify(value));
    assert.deepStrictEqual(reply, expected, name);
  }
});

test('the server receives exactly the values the client sent', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const received = once(socket, 'kinds');
  const args = Object.values(VALUES);
  client.emit('kinds', ...args);
  assert.deepStrictEqual(await received, JSON.parse(JSON.stringify(args)));
});

test('server-to-client emit delivers every kind in one event', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const received = once(client, 'kinds');
  const args = Object.values(VALUES);
  socket.emit('kinds', ...args);
  assert.deepStrictEqual(await received, JSON.parse(JSON.stringify(args)));
});

test('events with no arguments and with many arguments', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const none = once(socket, 'none');
  client.emit('none');
  assert.deepStrictEqual(await none, []);
  const many = once(socket, 'many');
  const args = Array.from({ length: 50 }, (_, i) => ({ i }));
  client.emit('many', ...args);
  assert.deepStrictEqual(await many, args);
});

test('event names with unicode, spaces and packet syntax are delivered as given', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  for (const name of ['héllo', '😀', 'with space', 'a,b', '/not-a-namespace', '123', '"quoted"', 'Connect']) {
    const got = once(socket, name);
    client.emit(name, name);
    assert.deepStrictEqual(await got, [name], name);
    const back = once(client, name);
    socket.emit(name, name);
    assert.deepStrictEqual(await back, [name], name);
  }
});

test('strings with unpaired surrogates survive like with socket.io (JSON.parse accepts them)', async (t) => {
  // A chat message truncated in the middle of an emoji: "😀".slice(0, 1) === "\ud83d".
  const { clients } = await setup(t);
  const client = await clients.connect();
  const values = ['😀'.slice(0, 1), 'a\udc00b', { ['k\ud800']: '\udbff' }];
  const reply = await withTimeout(client.emitWithAck('echo', ...values), undefined, 'lone surrogates');
  // The echo handler acks with all its arguments; emitWithAck resolves with the first.
  assert.deepStrictEqual(reply, values[0]);
  const all = await withTimeout(
    new Promise((resolve) => client.emit('echo', ...values, (...args) => resolve(args))),
    undefined,
    'lone surrogates, all arguments',
  );
  assert.deepStrictEqual(all, values);
});

test('socket.once fires once and socket.off removes a handler', async (t) => {
  const { io, clients } = await setup(t);
  const serverSide = nextConnection(io);
  const client = await clients.connect();
  const socket = await serverSide;
  const seen = [];
  socket.once('tick', (n) => seen.push(`once ${n}`));
  const onTick = (n) => seen.push(`on ${n}`);
  socket.on('tick', onTick);
  client.emit('tick', 1);
  client.emit('tick', 2);
  await withTimeout(client.emitWithAck('echo', 'sync'));
  socket.off('tick', onTick);
  client.emit('tick', 3);
  await withTimeout(client.emitWithAck('echo', 'sync'));
  assert.deepStrictEqual(seen, ['once 1', 'on 1', 'on 2']);
});

test('an event without a server handler is ignored and the connection stays up', async (t) => {
  const { clients } = await setup(t);
  const client = await clients.connect();
  client.emit('nobody-listens', 1, { a: 2 });
  await assert.rejects(client.timeout(200).emitWithAck('nobody-listens-with-ack'), Error);
  assert.equal(await withTimeout(client.emitWithAck('echo', 'fine')), 'fine');
});
