// Kept apart because libstdc++'s <regex> trips GCC 12's -Wmaybe-uninitialized inside its own
// headers when built with sanitizers (a false positive in std::function moves); the pragma must
// come before any standard header, so it covers this small file only.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "core/cors_origin.h"

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

}  // namespace collabio::core
