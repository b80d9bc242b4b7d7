// Driver for the C++ Yjs engine, used by the JS differential tests and the benchmark.
//
//   yjs_tool serve          batch mode: frames on stdin, answers on stdout (see below)
//   yjs_tool bench <trace>  times applying a trace of updates one by one and encoding the result;
//                           prints one JSON line. <trace> = { u32le length, update bytes }*
//
// Serve frames: u32le length, then an opcode byte and its payload. Each request gets one answer
// frame: u32le length, a status byte (0 ok, 1 DecodeError / failure) and the result bytes (or
// the error message).
//   'N'                      reset the document
//   'A' update               applyUpdate -> byte changed (0/1), relay length as u32le
//   'S'                      encodeStateVector
//   'E' sv                   encodeStateAsUpdate(sv) (sv may be empty)
//   'M' { u32le len, bytes }* mergeUpdates
//   'D' u32le len, update, sv diffUpdate
//   'V' update               encodeStateVectorFromUpdate
//   'T' name / 'J' name / 'K' name   rootTextToString / rootMapToJson / rootArrayToJson
//   'I'                      info: "memory structs pending" as text
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "yjs/doc.h"

using collabio::yjs::Doc;

namespace {

bool readExact(std::FILE* f, void* buf, size_t n) { return std::fread(buf, 1, n, f) == n; }

uint32_t le32(const uint8_t* p) { return p[0] | (p[1] << 8) | (p[2] << 16) | (uint32_t(p[3]) << 24); }

void writeFrame(uint8_t status, const void* data, size_t n) {
  const uint32_t len = static_cast<uint32_t>(n + 1);
  uint8_t hdr[5] = {uint8_t(len), uint8_t(len >> 8), uint8_t(len >> 16), uint8_t(len >> 24), status};
  std::fwrite(hdr, 1, 5, stdout);
  if (n) std::fwrite(data, 1, n, stdout);
}

void writeFrame(uint8_t status, const std::vector<uint8_t>& v) { writeFrame(status, v.data(), v.size()); }
void writeFrame(uint8_t status, const std::string& s) { writeFrame(status, s.data(), s.size()); }

std::vector<std::span<const uint8_t>> splitFrames(std::span<const uint8_t> p) {
  std::vector<std::span<const uint8_t>> out;
  size_t i = 0;
  while (i + 4 <= p.size()) {
    const uint32_t n = le32(p.data() + i);
    i += 4;
    if (n > p.size() - i) throw std::runtime_error("bad frame list");
    out.push_back(p.subspan(i, n));
    i += n;
  }
  return out;
}

int serve() {
  auto doc = std::make_unique<Doc>();
  std::vector<uint8_t> buf;
  while (true) {
    uint8_t hdr[4];
    if (!readExact(stdin, hdr, 4)) break;
    const uint32_t n = le32(hdr);
    buf.resize(n);
    if (n && !readExact(stdin, buf.data(), n)) break;
    if (n == 0) {
      writeFrame(1, std::string("empty request"));
      continue;
    }
    const uint8_t op = buf[0];
    std::span<const uint8_t> arg(buf.data() + 1, n - 1);
    std::string_view name(reinterpret_cast<const char*>(arg.data()), arg.size());
    try {
      switch (op) {
        case 'N': doc = std::make_unique<Doc>(); writeFrame(0, nullptr, 0); break;
        case 'A': {
          auto r = doc->applyUpdate(arg);
          const uint32_t rl = static_cast<uint32_t>(r.relay.size());
          uint8_t out[5] = {uint8_t(r.changed), uint8_t(rl), uint8_t(rl >> 8), uint8_t(rl >> 16), uint8_t(rl >> 24)};
          writeFrame(0, out, 5);
          break;
        }
        case 'S': writeFrame(0, doc->encodeStateVector()); break;
        case 'E': writeFrame(0, doc->encodeStateAsUpdate(arg)); break;
        case 'M': writeFrame(0, collabio::yjs::mergeUpdates(splitFrames(arg))); break;
        case 'D': {
          if (arg.size() < 4) throw std::runtime_error("bad diff request");
          const uint32_t ul = le32(arg.data());
          if (ul > arg.size() - 4) throw std::runtime_error("bad diff request");
          writeFrame(0, collabio::yjs::diffUpdate(arg.subspan(4, ul), arg.subspan(4 + ul)));
          break;
        }
        case 'V': writeFrame(0, collabio::yjs::encodeStateVectorFromUpdate(arg)); break;
        case 'T': writeFrame(0, doc->rootTextToString(name)); break;
        case 'J': writeFrame(0, doc->rootMapToJson(name)); break;
        case 'K': writeFrame(0, doc->rootArrayToJson(name)); break;
        case 'I':
          writeFrame(0, std::to_string(doc->memoryUsage()) + " " + std::to_string(doc->structCount()) + " " +
                            std::to_string(doc->hasPending() ? 1 : 0));
          break;
        default: writeFrame(1, std::string("unknown opcode"));
      }
    } catch (const std::exception& e) {
      writeFrame(1, std::string(e.what()));
    }
    std::fflush(stdout);
  }
  return 0;
}

// Resident set size from /proc (Linux); 0 elsewhere.
size_t residentBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

int bench(const char* path, int repeat) {
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto updates = splitFrames(data);
  using clock = std::chrono::steady_clock;
  double bestApply = 1e100, bestEncode = 1e100;
  size_t memory = 0, structs = 0, encodedSize = 0, rssGrowth = 0;
  std::string text;
  for (int r = 0; r < repeat; ++r) {
    const size_t rssBefore = r == 0 ? residentBytes() : 0;
    Doc doc;
    auto t0 = clock::now();
    for (const auto& u : updates) doc.applyUpdate(u);
    auto t1 = clock::now();
    bestApply = std::min(bestApply, std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (r == 0) rssGrowth = residentBytes() - rssBefore;
    const int encodeRounds = 20;
    auto t2 = clock::now();
    for (int k = 0; k < encodeRounds; ++k) encodedSize = doc.encodeStateAsUpdate().size();
    auto t3 = clock::now();
    bestEncode = std::min(bestEncode, std::chrono::duration<double, std::milli>(t3 - t2).count() / encodeRounds);
    memory = doc.memoryUsage();
    structs = doc.structCount();
    if (r == 0) text = doc.rootTextToString("text");
  }
  // Apply of the whole document as one update (a newcomer loading a stored document).
  Doc full;
  std::vector<uint8_t> whole;
  {
    Doc doc;
    for (const auto& u : updates) doc.applyUpdate(u);
    whole = doc.encodeStateAsUpdate();
  }
  auto t4 = clock::now();
  full.applyUpdate(whole);
  auto t5 = clock::now();
  std::printf(
      "{\"updates\":%zu,\"applyMs\":%.3f,\"encodeMs\":%.3f,\"loadMs\":%.3f,\"memoryBytes\":%zu,\"structs\":%zu,"
      "\"encodedBytes\":%zu,\"textLength\":%zu,\"rssGrowthBytes\":%zu}\n",
      updates.size(), bestApply, bestEncode, std::chrono::duration<double, std::milli>(t5 - t4).count(), memory,
      structs, encodedSize, text.size(), rssGrowth);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  if (argc >= 2 && std::strcmp(argv[1], "serve") == 0) return serve();
  if (argc >= 3 && std::strcmp(argv[1], "bench") == 0) return bench(argv[2], argc >= 4 ? std::atoi(argv[3]) : 3);
  std::fprintf(stderr, "usage: yjs_tool serve | yjs_tool bench <trace> [repeat]\n");
  return 2;
}
