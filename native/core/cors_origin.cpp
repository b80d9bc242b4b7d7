// Kept apart because libstdc++'s <regex> trips GCC 12's -Wmaybe-uninitialized inside its own
// headers when built with sanitizers (a false positive in std::function moves); the pragma must
// come before any standard header, so it covers this small file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "core/cors_origin.h"

#include <cctype>
#include <optional>
#include <regex>
#include <unordered_map>

namespace collabio::core {

bool origin_matches(const std::vector<std::string>& patterns, std::string_view origin) {
  // A real origin is a scheme, a host name (<= 253 bytes) and a port. Longer values are refused
  // before std::regex, whose recursive matcher could exhaust the stack on a long header.
  if (origin.size() > 300) return false;
  // Compiled once per thread and pattern (the patterns come from the server options).
  thread_local std::unordered_map<std::string, std::optional<std::regex>> compiled;
  for (const auto& p : patterns) {
    auto it = compiled.find(p);
    if (it == compiled.end()) {
      std::optional<std::regex> re;
      try {
        re.emplace(p, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        // stays empty: matches nothing
      }
      it = compiled.emplace(p, std::move(re)).first;
    }
    if (it->second && std::regex_search(origin.begin(), origin.end(), *it->second)) return true;
  }
  return false;
}

bool origin_listed(const CorsOptions& cors, std::string_view origin) {
  for (const auto& a : cors.allowed)
    if (a == origin) return true;
  return !cors.patterns.empty() && origin_matches(cors.patterns, origin);
}

namespace {

// host[:port] of an origin ("https://a.example:8443" -> "a.example:8443"); "" if it has none.
std::string_view origin_authority(std::string_view origin) {
  const size_t sep = origin.find("://");
  if (sep == std::string_view::npos) return {};
  return origin.substr(sep + 3);
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

}  // namespace

bool upgrade_origin_allowed(const CorsOptions& cors, std::string_view origin, std::string_view host) {
  if (!cors.enabled || origin.empty()) return true;
  switch (cors.origin) {
    case CorsOptions::Origin::Any:
    case CorsOptions::Origin::Reflect:
      return true;
    case CorsOptions::Origin::Fixed:
      if (origin == cors.fixed) return true;
      break;
    case CorsOptions::Origin::List:
      if (origin_listed(cors, origin)) return true;
      break;
  }
  const std::string_view authority = origin_authority(origin);
  return !authority.empty() && !host.empty() && iequals(authority, host);
}

}  // namespace collabio::core
