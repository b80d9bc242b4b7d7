'use strict';
// lib/query.js against engine.io's own query parsing (Server#prepare: the WHATWG URL parser over
// the request target, then an object from its searchParams), on fixed and random request targets.
const test = require('node:test');
const assert = require('node:assert/strict');
const { parseQuery, queryOf, splitTarget } = require('../../lib/query');

/** What engine.io 6 sets as req._query for a request target. */
function engineIoQuery(target) {
  return Object.fromEntries(new URL(target, 'https://socket.io').searchParams.entries());
}

const FIXED = [
  '/socket.io/?EIO=4&transport=polling',
  '/socket.io/?EIO=4&transport=websocket&sid=abc-_123',
  '/socket.io/',
  '/socket.io/?',
  '/doc?room=a&room=b&name=x+y&flag',
  '/doc?a=%41%zz%&b==c&&=d',
  '/doc?q=?&r=a?b',
  '/doc??a=1',
  '/d%2Fe?x=%E4%B8%AD%F0%9F%98%80',
  '/metrics?x=1',
];

test('splitTarget splits at the first ?', () => {
  assert.deepEqual(splitTarget('/socket.io/?EIO=4&x=1'), { path: '/socket.io/', query: 'EIO=4&x=1' });
  assert.deepEqual(splitTarget('/a?b?c'), { path: '/a', query: 'b?c' });
  assert.deepEqual(splitTarget('/a'), { path: '/a', query: '' });
  assert.deepEqual(splitTarget('/a?'), { path: '/a', query: '' });
});

test('queryOf and parseQuery give what engine.io gives (fixed targets)', () => {
  for (const target of FIXED) {
    assert.deepEqual(queryOf(target), engineIoQuery(target), target);
    assert.deepEqual(parseQuery(splitTarget(target).query), engineIoQuery(target), target);
  }
});

test('queryOf gives what engine.io gives (random targets)', () => {
  // Printable ASCII a request line can carry (no space, no '#', which ends a URL's query).
  const alphabet = "abcXYZ019-._~%?&=+/!$'()*,;:@[]\\\"<>^`{|}";
  let seed = 18;
  const rnd = (n) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  for (let i = 0; i < 5000; i++) {
    let target = '/p';
    for (let n = rnd(40); n > 0; n--) target += alphabet[rnd(alphabet.length)];
    assert.deepEqual(queryOf(target), engineIoQuery(target), JSON.stringify(target));
  }
});

test('parseQuery of no query is {}', () => {
  for (const none of [undefined, null, '']) assert.deepEqual(parseQuery(none), {});
});
