#include "redis/resp.h"

#include <hiredis/read.h>

#include <algorithm>

namespace collabio::redis {
namespace {

// hiredis builds the reply tree through these callbacks. The root is allocated here and owned by
// the reader until redisReaderGetReply hands it over (or freeObject frees it); every other node is
// appended to its parent's `elements`. hiredis creates an array's children in order (idx 0, 1, ...)
// and holds a pointer only to the innermost unfinished array and its ancestors, none of which an
// append moves; growing as children arrive keeps memory proportional to the bytes received,
// whatever count a reply announces.
Reply* slot_for(const redisReadTask* task) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    return &parent->elements.emplace_back();
  }
  return new Reply();  // raw new: ownership passes through hiredis's C API (freeObject / next()).
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  Reply* r = slot_for(task);
  switch (task->type) {
    case REDIS_REPLY_ERROR: r->type = Reply::Type::Error; break;
    case REDIS_REPLY_STATUS: r->type = Reply::Type::Status; break;
    default: r->type = Reply::Type::String; break;
  }
  r->str.assign(str, len);
  return r;
}

void* create_array(const redisReadTask* task, int elements) {
  // hiredis 0.14 narrows the announced count to int; a negative or huge count is refused here
  // (returning null makes the reader fail with an error instead of allocating).
  if (elements < 0 || elements > kMaxArrayElements) return nullptr;
  Reply* r = slot_for(task);
  r->type = Reply::Type::Array;
  r->elements.reserve(static_cast<size_t>(std::min(elements, 64)));
  return r;
}

void* create_integer(const redisReadTask* task, long long value) {
  Reply* r = slot_for(task);
  r->type = Reply::Type::Integer;
  r->integer = value;
  return r;
}

void* create_nil(const redisReadTask* task) {
  Reply* r = slot_for(task);
  r->type = Reply::Type::Nil;
  return r;
}

void free_object(void* obj) { delete static_cast<Reply*>(obj); }

redisReplyObjectFunctions kFunctions = {create_string, create_array, create_integer, create_nil, free_object};

void append_bulk(std::string_view arg, std::string& out) {
  out += '$';
  out += std::to_string(arg.size());
  out += "\r\n";
  out += arg;
  out += "\r\n";
}

}  // namespace

void RespReader::Free::operator()(redisReader* r) const { redisReaderFree(r); }

RespReader::RespReader() : reader_(redisReaderCreateWithFunctions(&kFunctions)) {
  if (!reader_) throw std::bad_alloc();
}

RespReader::~RespReader() = default;

bool RespReader::feed(std::string_view bytes) {
  if (bytes.empty()) return true;
  if (redisReaderFeed(reader_.get(), bytes.data(), bytes.size()) != REDIS_OK) {
    error_ = reader_->errstr;
    return false;
  }
  return true;
}

RespReader::Status RespReader::next(Reply& out) {
  void* reply = nullptr;
  if (redisReaderGetReply(reader_.get(), &reply) != REDIS_OK) {
    error_ = reader_->errstr;
    if (error_ == "Out of memory") error_ = "Protocol error, array too long or malformed";
    return Status::ProtocolError;
  }
  if (reply == nullptr) return Status::Incomplete;
  std::unique_ptr<Reply> owned(static_cast<Reply*>(reply));
  out = std::move(*owned);
  return Status::Reply;
}

void encode_command(const std::vector<std::string>& args, std::string& out) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto& a : args) append_bulk(a, out);
}

void encode_command(std::initializer_list<std::string_view> args, std::string& out) {
  out += '*';
  out += std::to_string(args.size());
  out += "\r\n";
  for (const auto a : args) append_bulk(a, out);
}

}  // namespace collabio::redis
