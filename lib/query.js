'use strict';
// The query of a request as socket.io's handshake.query and engine.io's req._query give it:
// engine.io parses it with the WHATWG URL parser into a plain object (Server#prepare), so a
// repeated key keeps its last value, '+' is a space and a key without '=' maps to ''.
//   parseQuery('EIO=4&room=a&room=b&name=x+y&flag') -> { EIO: '4', room: 'b', name: 'x y', flag: '' }

/** `text`: the query without its '?' (the native handshake's `query`). */
function parseQuery(text) {
  return Object.fromEntries(new URLSearchParams(text));
}

/** The query of a request target such as '/socket.io/?EIO=4&transport=polling'. */
function queryOf(url) {
  const q = url.indexOf('?');
  return parseQuery(q >= 0 ? url.slice(q + 1) : '');
}

module.exports = { parseQuery, queryOf };
