// Session ids for Engine.IO: 15 bytes from the OS CSPRNG, url-safe base64 (20 characters).
#include <array>
#include <cerrno>
#include <cstdint>
#include <random>

#include "engineio/packet.h"

#if __has_include(<sys/random.h>)
#include <sys/random.h>
#define COLLABIO_HAVE_GETRANDOM 1
#endif

namespace collabio::engineio {
namespace {

void fill_random(uint8_t* p, size_t n) {
#ifdef COLLABIO_HAVE_GETRANDOM
  while (n > 0) {
    const ssize_t got = getrandom(p, n, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      break;  // fall back below (e.g. seccomp without getrandom)
    }
    p += got;
    n -= static_cast<size_t>(got);
  }
  if (n == 0) return;
#endif
  // std::random_device reads the OS entropy source on Linux/macOS/Windows; one per thread because
  // it is not safe to share between threads.
  thread_local std::random_device device;
  while (n > 0) {
    const auto v = device();
    for (size_t i = 0; i < sizeof v && n > 0; ++i, --n) *p++ = static_cast<uint8_t>(v >> (8 * i));
  }
}

}  // namespace

std::string generate_sid() {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<uint8_t, 15> bytes{};
  fill_random(bytes.data(), bytes.size());
  std::string out;
  out.reserve(20);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(bytes[i]) << 16) | (uint32_t(bytes[i + 1]) << 8) | bytes[i + 2];
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  return out;
}

}  // namespace collabio::engineio
