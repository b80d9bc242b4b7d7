#include "redis/url.h"

#include <charconv>

namespace collabio::redis {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    const int hi = hex_digit(in[i + 1]);
    const int lo = hex_digit(in[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return true;
}

template <class T>
bool parse_decimal(std::string_view s, T& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string Endpoint::display() const {
  std::string s = tls ? "rediss://" : "redis://";
  if (!username.empty() || !password.empty()) {
    s += username;
    if (!password.empty()) s += ":***";
    s += '@';
  }
  if (host.find(':') != std::string::npos) {
    s += '[' + host + ']';
  } else {
    s += host;
  }
  s += ':' + std::to_string(port) + '/' + std::to_string(db);
  return s;
}

bool parse_url(std::string_view url, Endpoint& out, std::string& error) {
  out = Endpoint{};
  std::string_view rest;
  if (url.substr(0, 8) == "redis://") {
    rest = url.substr(8);
  } else if (url.substr(0, 9) == "rediss://") {
    out.tls = true;
    rest = url.substr(9);
  } else {
    error = "redis URL: the scheme must be redis:// or rediss://";
    return false;
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    error = "redis URL: query parameters and fragments are not supported";
    return false;
  }
  // The authority ends at the first '/' after the last '@' (a password may contain '/' only
  // percent-encoded, as in any URL; '@' inside credentials must be encoded too).
  const size_t at = rest.rfind('@');
  std::string_view userinfo;
  if (at != std::string_view::npos) {
    userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
  }
  const size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);

  if (!userinfo.empty()) {
    const size_t colon = userinfo.find(':');
    const std::string_view user = userinfo.substr(0, colon);
    const std::string_view pass = colon == std::string_view::npos ? std::string_view() : userinfo.substr(colon + 1);
    if (!percent_decode(user, out.username) || !percent_decode(pass, out.password)) {
      error = "redis URL: malformed percent escape in the credentials";
      return false;
    }
  }

  std::string_view port_text;
  if (!hostport.empty() && hostport.front() == '[') {
    const size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      error = "redis URL: unterminated IPv6 address";
      return false;
    }
    out.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        error = "redis URL: unexpected text after the IPv6 address";
        return false;
      }
      port_text = after.substr(1);
      if (port_text.empty()) port_text = "?";
    }
  } else {
    const size_t colon = hostport.find(':');
    out.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = hostport.substr(colon + 1);
      if (port_text.empty()) port_text = "?";
    }
  }
  if (out.host.empty()) {
    error = "redis URL: the host is empty";
    return false;
  }
  if (!port_text.empty()) {
    uint32_t port = 0;
    if (!parse_decimal(port_text, port) || port == 0 || port > 65535) {
      error = "redis URL: the port must be a number from 1 to 65535";
      return false;
    }
    out.port = static_cast<uint16_t>(port);
  }
  if (!path.empty()) {
    uint32_t db = 0;
    if (!parse_decimal(path, db) || db > 0x7fffffffu) {
      error = "redis URL: the database must be a number, as in redis://host:6379/2";
      return false;
    }
    out.db = db;
  }
  return true;
}

}  // namespace collabio::redis
