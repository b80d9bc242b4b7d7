// Matching a request's Origin against the `cors.origin` option: the CORS headers of the Engine.IO
// endpoint (native/core/eio_http.cpp) and the origin check of every WebSocket upgrade.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/server.h"

namespace collabio::core {

// True when `origin` matches one of `patterns` (ECMAScript regular expressions, searched like
// RegExp#test; flags are not carried over). A pattern that does not compile matches nothing.
// Origins longer than a real one can be (300 bytes) never match. Any thread.
bool origin_matches(const std::vector<std::string>& patterns, std::string_view origin);

// True when `origin` is in the allow-list of an Origin::List `cors` option (an exact entry or a
// matching pattern).
bool origin_listed(const CorsOptions& cors, std::string_view origin);

// Whether a WebSocket upgrade (Engine.IO or a document) carrying `origin` may proceed, given the
// `cors` option and the request's Host header. Browsers apply CORS to HTTP requests but not to
// WebSockets, so the server applies the allow-list itself:
// - no `cors` option, origin "*" or true (reflect), or no Origin header (not a browser): allowed;
// - a fixed origin or a list: only the origins it names, plus same-origin requests (the Origin's
//   host[:port] equals the Host header: a page served by this server, e.g. serveStatic).
// Examples with cors.origin = ["https://app.example"] and Host "collab.example":
//   "https://app.example" -> true, "https://evil.example" -> false, "null" -> false,
//   "https://collab.example" -> true, "" -> true.
bool upgrade_origin_allowed(const CorsOptions& cors, std::string_view origin, std::string_view host);

}  // namespace collabio::core
