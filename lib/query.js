'use strict';
// The query of a request as socket.io's handshake.query and engine.io's req._query give it:
// engine.io parses it with the WHATWG URL parser into a plain object (Server#prepare), so a
// repeated key keeps its last value, '+' is a space and a key without '=' maps to ''.
//   parseQuery('EIO=4&room=a&room=b&name=x+y&flag') -> { EIO: '4', room: 'b', name: 'x y', flag: '' }

/** `text`: the query without its '?' (the native handshake's `query`); none gives {}. */
function parseQuery(text) {
  if (!text) return {};
  // URLSearchParams drops a leading '?' of its text; URL#searchParams (engine.io) keeps it, as
  // part of the first key ('/x??a=1' gives { '?a': '1' }). An empty first pair keeps it too.
  return Object.fromEntries(new URLSearchParams(text.startsWith('?') ? '&' + text : text));
}

/**
 * A request target split at its first '?' (as the core's split_target, native/core/server.h):
 * splitTarget('/socket.io/?EIO=4&x=1') -> { path: '/socket.io/', query: 'EIO=4&x=1' }; query is ''
 * when there is no '?'.
 */
function splitTarget(url) {
  const q = url.indexOf('?');
  return q >= 0 ? { path: url.slice(0, q), query: url.slice(q + 1) } : { path: url, query: '' };
}

/** The query of a request target such as '/socket.io/?EIO=4&transport=polling'. */
function queryOf(url) {
  return parseQuery(splitTarget(url).query);
}

module.exports = { parseQuery, queryOf, splitTarget };
