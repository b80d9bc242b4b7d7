// Redis connection URLs, as node-redis and @socket.io/redis-adapter users write them:
//   redis://[[user][:password]@]host[:port][/db]      plain TCP
//   rediss://[[user][:password]@]host[:port][/db]     TLS
// Examples: `redis://127.0.0.1`, `redis://:s3cret@cache:6380/2`, `rediss://app:pw@[::1]/0`.
// User and password are percent-decoded. The port defaults to 6379 and the database to 0.
//
// The password never leaves this struct except in the AUTH command: `display()` is the form for
// logs and error messages.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace collabio::redis {

struct Endpoint {
  bool tls = false;
  std::string host;  // without the IPv6 brackets
  uint16_t port = 6379;
  std::string username;  // empty: the `default` user
  std::string password;  // empty: no AUTH
  uint32_t db = 0;

  /// The URL with the password masked, e.g. `redis://app:***@cache:6380/2`; no `:***` when there
  /// is no password.
  std::string display() const;
};

/// Parses `url` into `out`. On failure returns false and sets `error` to a reason that never
/// quotes the URL (it may hold a password). Rejects: another scheme, an empty host, a port that is
/// not 1..65535, a database that is not a decimal number below 2^31, a query or fragment, and
/// malformed percent escapes.
bool parse_url(std::string_view url, Endpoint& out, std::string& error);

}  // namespace collabio::redis
