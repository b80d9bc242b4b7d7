// Matching a request's Origin against the RegExp entries of the `cors.origin` option.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace collabio::core {

// True when `origin` matches one of `patterns` (ECMAScript regular expressions, searched like
// RegExp#test; flags are not carried over). A pattern that does not compile matches nothing.
// Origins longer than a real one can be (300 bytes) never match. Any thread.
bool origin_matches(const std::vector<std::string>& patterns, std::string_view origin);

}  // namespace collabio::core
