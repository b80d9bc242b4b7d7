// Awareness registry; rules and decisions in awareness.h.
#include "yjs/awareness.h"

#include <algorithm>

#include "yjs/lib0.h"

// collabio_sio compiles RapidJSON with std::string support; use the same setting so the two
// libraries never see different definitions of the same RapidJSON classes.
#ifndef RAPIDJSON_HAS_STDSTRING
#define RAPIDJSON_HAS_STDSTRING 1
#endif
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>

namespace collabio::yjs::awareness {

namespace {

constexpr std::string_view kNull = "null";

// Accepts every SAX event: the reader alone decides validity.
struct NullHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, NullHandler> {
  bool Default() { return true; }
};

std::string_view trim_json_ws(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

bool is_valid_json(std::string_view text) {
  // MemoryStream is bounded by its length (no terminating NUL needed); iterative parsing keeps deep
  // nesting off the stack; encoding validation refuses invalid UTF-8 (lib0 already does, too).
  rapidjson::MemoryStream ms(text.data(), text.size());
  rapidjson::Reader reader;
  NullHandler handler;
  constexpr unsigned kFlags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;
  return !reader.Parse<kFlags>(ms, handler).IsError();
}

bool is_null_state(std::string_view json) { return trim_json_ws(json) == kNull; }

size_t json_depth(std::string_view json) {
  size_t depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

std::vector<Entry> decode_update(std::span<const uint8_t> update) {
  lib0::Decoder d(update);
  const uint64_t n = d.readVarUint();
  std::vector<Entry> out;
  out.reserve(std::min<uint64_t>(n, d.remaining() / 3));  // an entry takes at least 3 bytes
  for (uint64_t i = 0; i < n; ++i) {
    Entry e;
    e.client_id = d.readVarUint();
    e.clock = d.readVarUint();
    e.state = d.readVarString();
    if (!is_valid_json(e.state)) {
      throw DecodeError("awareness: the state of client " + std::to_string(e.client_id) + " is not JSON");
    }
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<uint8_t> encode_update(std::span<const Entry> entries) {
  lib0::Encoder e;
  e.writeVarUint(entries.size());
  for (const Entry& x : entries) {
    e.writeVarUint(x.client_id);
    e.writeVarUint(x.clock);
    e.writeVarString(x.state);
  }
  return e.take();
}

// --- Registry ---------------------------------------------------------------------------------

Registry::Applied Registry::apply(ConnectionId conn, std::span<const uint8_t> update, int64_t now_ms) {
  std::vector<Entry> entries = decode_update(update);  // throws before anything changes
  Applied out;
  for (Entry& e : entries) {
    const bool is_null = is_null_state(e.state);
    if (!is_null && (e.state.size() > kMaxStateBytes || json_depth(e.state) > kMaxStateDepth)) {
      ++out.rejected;
      continue;
    }
    auto it = clients_.find(e.client_id);
    const bool known = it != clients_.end();
    const uint64_t current = known ? it->second.clock : 0;
    const bool has_state = known && it->second.state.has_value();
    if (!(current < e.clock || (current == e.clock && is_null && has_state))) continue;

    if (is_null) {
      if (!known) {
        // Unknown client removed: remember the clock only (the reference records it too).
        clients_.emplace(e.client_id, Client{e.clock, std::nullopt, now_ms, 0});
        remember_removed(e.client_id);
        continue;
      }
      Client& c = it->second;
      if (has_state) release(e.client_id, c.owner);
      c.state.reset();
      c.clock = e.clock;
      c.last_updated_ms = now_ms;
      remember_removed(e.client_id);
      out.removed.push_back(e.client_id);
      continue;
    }

    if (!has_state) {
      // Added (or revived): the sender takes ownership, within its limit.
      std::vector<uint64_t>& mine = owned_[conn];
      if (mine.size() >= kMaxClientsPerConnection) {
        ++out.rejected;
        continue;
      }
      mine.push_back(e.client_id);
      Client& c = known ? it->second : clients_[e.client_id];
      c.clock = e.clock;
      c.state = std::move(e.state);
      c.last_updated_ms = now_ms;
      c.owner = conn;
      ++live_;
      out.added.push_back(e.client_id);
    } else {
      Client& c = it->second;
      c.clock = e.clock;
      c.state = std::move(e.state);
      c.last_updated_ms = now_ms;
      out.updated.push_back(e.client_id);
    }
  }
  if (!out.added.empty() || !out.updated.empty() || !out.removed.empty()) {
    // Reference order: added, updated, removed; each encoded from the registry's current state.
    std::vector<uint64_t> changed = out.added;
    changed.insert(changed.end(), out.updated.begin(), out.updated.end());
    changed.insert(changed.end(), out.removed.begin(), out.removed.end());
    out.broadcast = encode_clients(changed);
  }
  trim_removed();
  return out;
}

std::vector<uint8_t> Registry::remove_connection(ConnectionId conn) {
  auto it = owned_.find(conn);
  if (it == owned_.end()) return {};
  std::vector<uint64_t> ids = std::move(it->second);
  owned_.erase(it);
  for (uint64_t id : ids) {
    Client& c = clients_.at(id);  // invariant: an owned id has a state
    c.state.reset();
    --live_;
    if (removal_clock_ == RemovalClock::Increment && c.clock < lib0::kMaxSafeInteger) ++c.clock;
    remember_removed(id);
  }
  std::vector<uint8_t> out = ids.empty() ? std::vector<uint8_t>() : encode_clients(ids);
  trim_removed();
  return out;
}

std::vector<uint8_t> Registry::expire(int64_t now_ms) {
  std::vector<uint64_t> ids;
  for (const auto& [id, c] : clients_) {
    if (c.state && now_ms - c.last_updated_ms >= kOutdatedTimeoutMs) ids.push_back(id);
  }
  if (ids.empty()) return {};
  std::sort(ids.begin(), ids.end());
  for (uint64_t id : ids) {
    Client& c = clients_.at(id);
    release(id, c.owner);
    c.state.reset();
    remember_removed(id);
  }
  std::vector<uint8_t> out = encode_clients(ids);
  trim_removed();
  return out;
}

std::vector<uint8_t> Registry::encode_all() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, c] : clients_) {
    if (c.state) ids.push_back(id);
  }
  if (ids.empty()) return {};
  std::sort(ids.begin(), ids.end());
  return encode_clients(ids);
}

std::optional<std::string_view> Registry::state(uint64_t client_id) const {
  auto it = clients_.find(client_id);
  if (it == clients_.end() || !it->second.state) return std::nullopt;
  return std::string_view(*it->second.state);
}

std::optional<uint64_t> Registry::clock(uint64_t client_id) const {
  auto it = clients_.find(client_id);
  if (it == clients_.end()) return std::nullopt;
  return it->second.clock;
}

std::vector<uint64_t> Registry::clients_of(ConnectionId conn) const {
  auto it = owned_.find(conn);
  return it == owned_.end() ? std::vector<uint64_t>() : it->second;
}

// Drops `client_id` from its owner's list (the state is being cleared by the caller).
void Registry::release(uint64_t client_id, ConnectionId owner) {
  --live_;
  auto it = owned_.find(owner);
  if (it == owned_.end()) return;
  auto& ids = it->second;
  ids.erase(std::remove(ids.begin(), ids.end(), client_id), ids.end());
  if (ids.empty()) owned_.erase(it);
}

void Registry::remember_removed(uint64_t client_id) {
  removed_order_.emplace_back(client_id, clients_.at(client_id).clock);
}

// Keeps the clocks of at most kMaxRememberedRemoved removed clients; the oldest are forgotten. A
// record is stale (kept client) if the client has a state again or changed clock since.
void Registry::trim_removed() {
  while (removed_order_.size() > kMaxRememberedRemoved) {
    auto [id, clock] = removed_order_.front();
    removed_order_.pop_front();
    auto it = clients_.find(id);
    if (it != clients_.end() && !it->second.state && it->second.clock == clock) clients_.erase(it);
  }
}

std::vector<uint8_t> Registry::encode_clients(const std::vector<uint64_t>& ids) const {
  lib0::Encoder e;
  e.writeVarUint(ids.size());
  for (uint64_t id : ids) {
    const Client& c = clients_.at(id);
    e.writeVarUint(id);
    e.writeVarUint(c.clock);
    e.writeVarString(c.state ? std::string_view(*c.state) : kNull);
  }
  return e.take();
}

}  // namespace collabio::yjs::awareness
