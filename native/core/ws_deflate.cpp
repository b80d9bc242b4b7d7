#include "core/ws_deflate.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <memory>
#include <vector>

namespace collabio::core::ws {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits `s` at `sep` outside quoted strings; calls f(part) for each part.
template <class F>
void split_unquoted(std::string_view s, char sep, F&& f) {
  bool quoted = false;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '"') quoted = !quoted;
    if (s[i] == '\\' && quoted) ++i;
    else if (s[i] == sep && !quoted) {
      f(s.substr(start, i - start));
      start = i + 1;
    }
  }
  f(s.substr(start));
}

// A window-bits value: "8".."15", quoted or not (RFC 7692 section 7.1.2: 1*DIGIT, no leading 0).
std::optional<int> window_bits(std::string_view v) {
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  if (v.empty() || v.size() > 2 || v[0] == '0') return std::nullopt;
  int n = 0;
  for (char c : v) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n < 8 || n > 15) return std::nullopt;
  return n;
}

// One offer ("permessage-deflate; p1; p2=v"): the parameters, or nullopt to decline it.
std::optional<Deflate> accept_offer(std::string_view offer, const DeflateOptions& options, std::string& response) {
  bool first = true;
  bool ok = true;
  bool seen_snct = false, seen_cnct = false, seen_smwb = false, seen_cmwb = false;
  int server_bits = 0;  // 0: the client set no limit
  split_unquoted(offer, ';', [&](std::string_view part) {
    part = trim(part);
    if (first) {
      first = false;
      ok = part == "permessage-deflate";
      return;
    }
    if (!ok) return;
    const size_t eq = part.find('=');
    const std::string_view name = trim(part.substr(0, eq));
    const std::optional<std::string_view> value =
        eq == std::string_view::npos ? std::nullopt : std::optional<std::string_view>(trim(part.substr(eq + 1)));
    auto once = [&](bool& seen) {
      if (seen) ok = false;
      seen = true;
    };
    if (name == "server_no_context_takeover") {
      once(seen_snct);
      if (value) ok = false;
    } else if (name == "client_no_context_takeover") {
      once(seen_cnct);
      if (value) ok = false;
    } else if (name == "server_max_window_bits") {
      once(seen_smwb);
      const auto bits = value ? window_bits(*value) : std::nullopt;
      if (!bits) ok = false;
      else server_bits = *bits;
    } else if (name == "client_max_window_bits") {
      once(seen_cmwb);
      if (value && !window_bits(*value)) ok = false;
    } else {
      ok = false;
    }
  });
  if (!ok) return std::nullopt;
  // zlib turns a raw deflate window of 8 into 9, which a peer with a 256-byte window cannot read.
  if (server_bits == 8) return std::nullopt;
  Deflate d;
  d.enabled = true;
  d.level = options.level;
  d.threshold = options.threshold;
  d.window_bits = std::clamp(options.max_window_bits, 9, 15);
  if (server_bits) d.window_bits = std::min(d.window_bits, server_bits);
  d.context_takeover = options.server_context_takeover && !seen_snct;
  response = d.context_takeover ? "permessage-deflate; client_no_context_takeover"
                                : "permessage-deflate; server_no_context_takeover; client_no_context_takeover";
  // The server must confirm a limit the client asked for (RFC 7692 section 7.1.2.1), and may set
  // one the client did not ask for.
  if (server_bits || d.window_bits < 15) response += "; server_max_window_bits=" + std::to_string(d.window_bits);
  return d;
}

// zlib streams kept per thread and reset per message (no context takeover: nothing carries over).
struct DeflateStream {
  z_stream z{};
  int bits = 0;  // 0: not initialized
  int level = 0;
  ~DeflateStream() {
    if (bits) deflateEnd(&z);
  }
};

struct InflateStream {
  z_stream z{};
  bool ready = false;
  ~InflateStream() {
    if (ready) inflateEnd(&z);
  }
};

constexpr unsigned char kTail[4] = {0x00, 0x00, 0xff, 0xff};

}  // namespace

std::optional<Deflate> negotiate_deflate(std::string_view offers, const DeflateOptions& options, std::string& response) {
  response.clear();
  if (!options.enabled) return std::nullopt;
  std::optional<Deflate> chosen;
  split_unquoted(offers, ',', [&](std::string_view offer) {
    if (!chosen) chosen = accept_offer(offer, options, response);
  });
  if (!chosen) response.clear();
  return chosen;
}

std::string deflate_message(std::string_view payload, int window_bits, int level) {
  // One stream per (thread, window size); a stream for 2^15 costs about 256 KiB with memLevel 8.
  thread_local std::array<DeflateStream, 8> streams;
  DeflateStream& s = streams[static_cast<size_t>(std::clamp(window_bits, 9, 15) - 8)];
  if (s.bits && s.level != level) {
    deflateEnd(&s.z);
    s.bits = 0;
  }
  if (!s.bits) {
    s.z = z_stream{};
    if (deflateInit2(&s.z, level, Z_DEFLATED, -std::clamp(window_bits, 9, 15), 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      s.z = z_stream{};
      return {};
    }
    s.bits = window_bits;
    s.level = level;
  } else {
    deflateReset(&s.z);
  }
  // Compressed into a per-thread buffer (deflateBound is for Z_FINISH; a sync flush adds at most
  // a few bytes), then copied out at its final size.
  thread_local std::vector<unsigned char> buf;
  const size_t bound = deflateBound(&s.z, static_cast<uLong>(payload.size())) + 16;
  if (buf.size() < bound) buf.resize(bound);
  s.z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));  // zlib's API is not const
  s.z.avail_in = static_cast<uInt>(payload.size());
  size_t produced = 0;
  for (;;) {
    s.z.next_out = buf.data() + produced;
    s.z.avail_out = static_cast<uInt>(buf.size() - produced);
    const int r = deflate(&s.z, Z_SYNC_FLUSH);
    produced = buf.size() - s.z.avail_out;
    if (r != Z_OK && r != Z_BUF_ERROR) return {};
    if (s.z.avail_out != 0) break;
    buf.resize(buf.size() + 64 * 1024);
  }
  // A sync flush ends with an empty stored block, 00 00 FF FF, which the receiver adds back.
  if (produced >= 4 && std::equal(kTail, kTail + 4, buf.data() + produced - 4)) produced -= 4;
  std::string out(reinterpret_cast<const char*>(buf.data()), produced);
  // A megabyte message's buffer is not kept for the thread's lifetime.
  if (buf.size() > (1u << 20)) std::vector<unsigned char>().swap(buf);
  return out;
}

struct ContextDeflater::Impl {
  z_stream z{};
  bool ok = false;
  std::vector<unsigned char> buf;
};

ContextDeflater::ContextDeflater(int window_bits, int level) : impl_(std::make_unique<Impl>()) {
  // memLevel 8 as zlib's default: about 2^(window_bits + 2) + 2^(8 + 9) bytes of state.
  impl_->ok = deflateInit2(&impl_->z, level, Z_DEFLATED, -std::clamp(window_bits, 9, 15), 8, Z_DEFAULT_STRATEGY) == Z_OK;
}

ContextDeflater::~ContextDeflater() {
  if (impl_->ok) deflateEnd(&impl_->z);
}

std::string ContextDeflater::compress(std::string_view payload) {
  if (!impl_->ok) return {};
  z_stream& z = impl_->z;
  auto& buf = impl_->buf;
  const size_t bound = deflateBound(&z, static_cast<uLong>(payload.size())) + 16;
  if (buf.size() < bound) buf.resize(bound);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(payload.data()));  // zlib's API is not const
  z.avail_in = static_cast<uInt>(payload.size());
  size_t produced = 0;
  for (;;) {
    z.next_out = buf.data() + produced;
    z.avail_out = static_cast<uInt>(buf.size() - produced);
    const int r = deflate(&z, Z_SYNC_FLUSH);
    produced = buf.size() - z.avail_out;
    if (r != Z_OK && r != Z_BUF_ERROR) {
      impl_->ok = false;
      return {};
    }
    if (z.avail_out != 0) break;
    buf.resize(buf.size() + 64 * 1024);
  }
  if (produced >= 4 && std::equal(kTail, kTail + 4, buf.data() + produced - 4)) produced -= 4;
  std::string out(reinterpret_cast<const char*>(buf.data()), produced);
  if (buf.size() > (64u << 10)) std::vector<unsigned char>().swap(buf);  // idle connections keep no buffer
  return out;
}

InflateResult inflate_message(std::string_view compressed, uint64_t max_size, std::string& out) {
  thread_local InflateStream s;
  if (!s.ready) {
    s.z = z_stream{};
    if (inflateInit2(&s.z, -15) != Z_OK) {
      s.z = z_stream{};
      return InflateResult::Invalid;
    }
    s.ready = true;
  } else {
    inflateReset(&s.z);
  }
  out.clear();
  // The output grows in steps and never past max_size + 1 bytes: what a bomb can cost.
  const uint64_t cap = max_size + 1;
  size_t produced = 0;
  auto run = [&](const unsigned char* in, size_t n) -> std::optional<InflateResult> {
    s.z.next_in = const_cast<Bytef*>(in);  // zlib's API is not const
    s.z.avail_in = static_cast<uInt>(n);
    for (;;) {
      if (produced == out.size()) {
        if (out.size() >= cap) return InflateResult::TooBig;
        const uint64_t grow = std::max<uint64_t>(4096, std::max<uint64_t>(out.size(), n * 2));
        out.resize(static_cast<size_t>(std::min<uint64_t>(cap, out.size() + grow)));
      }
      s.z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      s.z.avail_out = static_cast<uInt>(out.size() - produced);
      const int r = inflate(&s.z, Z_SYNC_FLUSH);
      produced = out.size() - s.z.avail_out;
      if (produced > max_size) return InflateResult::TooBig;
      if (r == Z_STREAM_END) return InflateResult::Ok;  // a final block: anything after it is ignored
      if (r == Z_BUF_ERROR) {
        if (s.z.avail_in == 0 && s.z.avail_out != 0) return std::nullopt;  // input used up
        if (s.z.avail_out == 0) continue;
        return InflateResult::Invalid;
      }
      if (r != Z_OK) return InflateResult::Invalid;
      if (s.z.avail_in == 0 && s.z.avail_out != 0) return std::nullopt;
    }
  };
  if (auto r = run(reinterpret_cast<const unsigned char*>(compressed.data()), compressed.size())) {
    if (*r != InflateResult::Ok) out.clear();
    if (*r == InflateResult::Ok) out.resize(produced);
    return *r;
  }
  if (auto r = run(kTail, sizeof kTail); r && *r != InflateResult::Ok) {
    out.clear();
    return *r;
  }
  out.resize(produced);
  return InflateResult::Ok;
}

}  // namespace collabio::core::ws
