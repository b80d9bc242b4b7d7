// RESP2, the Redis protocol (https://redis.io/docs/reference/protocol-spec/): replies are read
// with hiredis's reader (a well-kept, incremental RESP parser; we use only the reader, see
// docs/architecture.md "Redis client"), commands are written as arrays of bulk strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct redisReader;  // hiredis/read.h

namespace collabio::redis {

/// One RESP2 reply. `str` holds the bytes of String, Status and Error replies; `elements` the
/// items of an Array; `integer` an Integer. A null bulk string and a null array are both Nil.
struct Reply {
  enum class Type : uint8_t { Nil, String, Status, Error, Integer, Array };
  Type type = Type::Nil;
  int64_t integer = 0;
  std::string str;
  std::vector<Reply> elements;

  bool is_error() const { return type == Type::Error; }
  bool is_string() const { return type == Type::String || type == Type::Status; }
};

/// Largest element count a reply array may announce; a larger (or negative) count is a protocol
/// error and the connection is closed. Memory grows with the elements received, not with the count.
inline constexpr int kMaxArrayElements = 1 << 24;

/// Incremental reply reader: feed bytes as they arrive, then take replies while complete ones
/// exist. After a protocol error the reader is unusable (the connection must be closed).
/// Nesting deeper than 7 arrays is a protocol error (hiredis's limit; Redis replies nest at most 4).
class RespReader {
 public:
  enum class Status { Reply, Incomplete, ProtocolError };

  RespReader();
  ~RespReader();
  RespReader(const RespReader&) = delete;
  RespReader& operator=(const RespReader&) = delete;

  /// Appends bytes to the reader's buffer. False on a protocol error (see error()).
  bool feed(std::string_view bytes);
  /// Reply: `out` holds the next reply. Incomplete: feed more bytes. ProtocolError: see error().
  Status next(Reply& out);
  /// The reader's error text after ProtocolError, e.g. "Protocol error, got \"!\" as reply type byte".
  const std::string& error() const { return error_; }

 private:
  struct Free {
    void operator()(redisReader* r) const;
  };
  std::unique_ptr<redisReader, Free> reader_;
  std::string error_;
};

/// Appends one command, an array of bulk strings, to `out`:
/// encode_command({"SET", "k", "v"}, out) appends "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".
void encode_command(const std::vector<std::string>& args, std::string& out);
void encode_command(std::initializer_list<std::string_view> args, std::string& out);

}  // namespace collabio::redis
