#include "yjs/json.h"

#include <vector>

namespace collabio::yjs {

namespace {

bool isWs(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isHex(char c) { return isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

struct Scanner {
  std::string_view s;
  size_t i = 0;

  void ws() {
    while (i < s.size() && isWs(s[i])) ++i;
  }
  bool literal(std::string_view word) {
    if (s.substr(i, word.size()) != word) return false;
    i += word.size();
    return true;
  }
  bool string() {  // at '"'
    ++i;
    while (i < s.size()) {
      const auto c = static_cast<unsigned char>(s[i]);
      if (c == '"') {
        ++i;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i >= s.size()) return false;
        const char e = s[i];
        if (e == 'u') {
          if (s.size() - i < 5) return false;
          for (size_t k = 1; k <= 4; ++k)
            if (!isHex(s[i + k])) return false;
          i += 5;
          continue;
        }
        if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' && e != 't') return false;
      }
      ++i;
    }
    return false;
  }
  bool number() {
    if (i < s.size() && s[i] == '-') ++i;
    if (i >= s.size()) return false;
    if (s[i] == '0') {
      ++i;
    } else if (isDigit(s[i])) {
      while (i < s.size() && isDigit(s[i])) ++i;
    } else {
      return false;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      if (i >= s.size() || !isDigit(s[i])) return false;
      while (i < s.size() && isDigit(s[i])) ++i;
    }
    if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
      ++i;
      if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
      if (i >= s.size() || !isDigit(s[i])) return false;
      while (i < s.size() && isDigit(s[i])) ++i;
    }
    return true;
  }
};

}  // namespace

bool isValidJson(std::string_view text) {
  Scanner sc{text};
  std::vector<char> stack;  // '{' or '['
  sc.ws();
  while (true) {
    // Expect a value (or, right after an opening bracket, its closing bracket).
    if (sc.i >= text.size()) return false;
    const char c = text[sc.i];
    if (c == '{' || c == '[') {
      stack.push_back(c);
      ++sc.i;
      sc.ws();
      if (sc.i < text.size() && text[sc.i] == (c == '{' ? '}' : ']')) {
        ++sc.i;
        stack.pop_back();
      } else if (c == '{') {
        if (sc.i >= text.size() || text[sc.i] != '"' || !sc.string()) return false;
        sc.ws();
        if (sc.i >= text.size() || text[sc.i] != ':') return false;
        ++sc.i;
        sc.ws();
        continue;
      } else {
        continue;
      }
    } else if (c == '"') {
      if (!sc.string()) return false;
    } else if (c == 't') {
      if (!sc.literal("true")) return false;
    } else if (c == 'f') {
      if (!sc.literal("false")) return false;
    } else if (c == 'n') {
      if (!sc.literal("null")) return false;
    } else {
      if (!sc.number()) return false;
    }
    // After a value: a separator, closing brackets, or the end.
    while (true) {
      sc.ws();
      if (stack.empty()) return sc.i == text.size();
      if (sc.i >= text.size()) return false;
      const char d = text[sc.i];
      if (d == ',') {
        ++sc.i;
        sc.ws();
        if (stack.back() == '{') {
          if (sc.i >= text.size() || text[sc.i] != '"' || !sc.string()) return false;
          sc.ws();
          if (sc.i >= text.size() || text[sc.i] != ':') return false;
          ++sc.i;
          sc.ws();
        }
        break;  // next value
      }
      if (d == (stack.back() == '{' ? '}' : ']')) {
        ++sc.i;
        stack.pop_back();
        continue;
      }
      return false;
    }
  }
}

}  // namespace collabio::yjs
