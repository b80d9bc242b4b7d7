#include "redis/streams.h"

#include <charconv>

namespace collabio::redis {
namespace {

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

bool parse_entry(const Reply& r, StreamEntry& out) {
  if (r.type != Reply::Type::Array || r.elements.size() != 2) return false;
  if (!r.elements[0].is_string() || !parse_stream_id(r.elements[0].str, out.id)) return false;
  const Reply& fields = r.elements[1];
  // A deleted entry still listed in a consumer group's history has nil fields; XRANGE/XREAD
  // without groups never send one, but accept it as "no fields".
  if (fields.type == Reply::Type::Nil) return true;
  if (fields.type != Reply::Type::Array || fields.elements.size() % 2 != 0) return false;
  out.fields.clear();
  for (size_t i = 0; i < fields.elements.size(); i += 2) {
    if (!fields.elements[i].is_string() || !fields.elements[i + 1].is_string()) return false;
    out.fields.emplace_back(fields.elements[i].str, fields.elements[i + 1].str);
  }
  return true;
}

}  // namespace

std::string StreamId::to_string() const { return std::to_string(ms) + "-" + std::to_string(seq); }

bool parse_stream_id(std::string_view text, StreamId& out) {
  const size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    out.seq = 0;
    return parse_u64(text, out.ms);
  }
  return parse_u64(text.substr(0, dash), out.ms) && parse_u64(text.substr(dash + 1), out.seq);
}

bool parse_stream_id(const Reply& reply, StreamId& out) { return reply.is_string() && parse_stream_id(reply.str, out); }

std::vector<std::string> xadd(std::string_view key, const std::vector<std::pair<std::string, std::string>>& fields,
                              std::optional<uint64_t> approx_maxlen) {
  std::vector<std::string> args = {"XADD", std::string(key)};
  if (approx_maxlen) {
    args.insert(args.end(), {"MAXLEN", "~", std::to_string(*approx_maxlen)});
  }
  args.emplace_back("*");
  for (const auto& [f, v] : fields) {
    args.push_back(f);
    args.push_back(v);
  }
  return args;
}

std::vector<std::string> xrange(std::string_view key, std::string_view start, std::string_view end,
                                std::optional<uint64_t> count) {
  std::vector<std::string> args = {"XRANGE", std::string(key), std::string(start), std::string(end)};
  if (count) args.insert(args.end(), {"COUNT", std::to_string(*count)});
  return args;
}

std::vector<std::string> xread_block(uint64_t block_ms, const std::vector<std::pair<std::string, std::string>>& key_after_id,
                                     std::optional<uint64_t> count) {
  std::vector<std::string> args = {"XREAD"};
  if (count) args.insert(args.end(), {"COUNT", std::to_string(*count)});
  args.insert(args.end(), {"BLOCK", std::to_string(block_ms), "STREAMS"});
  for (const auto& [key, id] : key_after_id) args.push_back(key);
  for (const auto& [key, id] : key_after_id) args.push_back(id);
  return args;
}

std::vector<std::string> xtrim_minid(std::string_view key, const StreamId& min_id, bool approximate) {
  std::vector<std::string> args = {"XTRIM", std::string(key), "MINID"};
  if (approximate) args.emplace_back("~");
  args.push_back(min_id.to_string());
  return args;
}

std::vector<std::string> set_nx_px(std::string_view key, std::string_view value, uint64_t ttl_ms) {
  return {"SET", std::string(key), std::string(value), "NX", "PX", std::to_string(ttl_ms)};
}

bool parse_entries(const Reply& reply, std::vector<StreamEntry>& out) {
  out.clear();
  if (reply.type != Reply::Type::Array) return false;
  out.resize(reply.elements.size());
  for (size_t i = 0; i < reply.elements.size(); ++i) {
    if (!parse_entry(reply.elements[i], out[i])) return false;
  }
  return true;
}

bool parse_xread(const Reply& reply, std::vector<StreamBatch>& out) {
  out.clear();
  if (reply.type == Reply::Type::Nil) return true;
  if (reply.type != Reply::Type::Array) return false;
  for (const Reply& stream : reply.elements) {
    if (stream.type != Reply::Type::Array || stream.elements.size() != 2 || !stream.elements[0].is_string()) return false;
    StreamBatch batch;
    batch.key = stream.elements[0].str;
    if (!parse_entries(stream.elements[1], batch.entries)) return false;
    out.push_back(std::move(batch));
  }
  return true;
}

bool parse_set_nx(const Reply& reply, bool& taken) {
  if (reply.type == Reply::Type::Nil) {
    taken = false;
    return true;
  }
  if (reply.type == Reply::Type::Status && reply.str == "OK") {
    taken = true;
    return true;
  }
  return false;
}

}  // namespace collabio::redis
