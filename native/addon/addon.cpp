// The only translation unit that includes napi.h: binds core::Server to JavaScript.
//
// Threads: every method here runs on Node's main thread. Events produced on the I/O threads reach
// JavaScript through one Napi::ThreadSafeFunction per server; each call drains the whole waiting
// batch and hands it to JavaScript in one call (numbers in a Float64Array, the strings as
// arguments: core/host_protocol.h), so the cost of crossing into JavaScript is paid once per
// batch, not once per event.
#include <fcntl.h>

#include <napi.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <unordered_map>

#include "core/host_protocol.h"
#include "core/server.h"
#include "engineio/packet.h"

namespace {

using collabio::core::Event;
using collabio::core::kEventStride;
using collabio::core::EventSlot;  // where each field of an event goes in the batch
// Bytes of events handed to JavaScript per call (at least one event). Everything a batch creates
// (its strings, what the handlers build from them, the commands they issue) lives until the
// call returns: slices keep that transient memory small however much is waiting, and the garbage of
// one slice is young garbage by the next. Small events still arrive in one batch per wake-up.
constexpr uint64_t kDeliverSliceBytes = 1ull << 20;
// Arguments of one onEvents call at most: they go on V8's stack. A larger batch is handed over in
// several calls.
constexpr size_t kMaxValuesPerCall = 4096;
// The namespace before the first event of a call (host_protocol.h: a clear kFieldNsp bit means "the
// previous event's").
const std::string kNoNamespace;

// Option readers: each leaves `field` (its default) alone unless `key` holds a value of the type.
template <class T>
void ReadNumber(const Napi::Object& o, const char* key, T& field) {
  const Napi::Value v = o.Get(key);
  if (v.IsNumber()) field = static_cast<T>(v.As<Napi::Number>().DoubleValue());
}
void ReadBool(const Napi::Object& o, const char* key, bool& field) {
  const Napi::Value v = o.Get(key);
  if (v.IsBoolean()) field = v.As<Napi::Boolean>();
}
void ReadString(const Napi::Object& o, const char* key, std::string& field) {
  const Napi::Value v = o.Get(key);
  if (v.IsString()) field = v.As<Napi::String>().Utf8Value();
}
// permessage-deflate: `key` holds { threshold, level, maxWindowBits } (lib/engine.js normalizes
// socket.io's perMessageDeflate into it) or nothing (off).
void ReadDeflate(const Napi::Object& o, const char* key, collabio::core::ws::DeflateOptions& field) {
  const Napi::Value v = o.Get(key);
  if (!v.IsObject()) return;
  const Napi::Object d = v.As<Napi::Object>();
  field.enabled = true;
  ReadNumber(d, "threshold", field.threshold);
  ReadNumber(d, "level", field.level);
  ReadNumber(d, "maxWindowBits", field.max_window_bits);
  ReadBool(d, "serverContextTakeover", field.server_context_takeover);
}

class NativeServer : public Napi::ObjectWrap<NativeServer>, public collabio::core::EventSink {
 public:
  static Napi::Function Init(Napi::Env env) {
    return DefineClass(env, "NativeServer",
                       {
                           InstanceMethod<&NativeServer::Listen>("listen"),
                           InstanceMethod<&NativeServer::Start>("start"),
                           InstanceMethod<&NativeServer::Adopt>("adopt"),
                           InstanceMethod<&NativeServer::Relay>("relay"),
                           InstanceMethod<&NativeServer::ConnectReply>("connectReply"),
                           InstanceMethod<&NativeServer::Send>("send"),
                           InstanceMethod<&NativeServer::Broadcast>("broadcast"),
                           InstanceMethod<&NativeServer::Join>("join"),
                           InstanceMethod<&NativeServer::SetRedisAdapter>("setRedisAdapter"),
                           InstanceMethod<&NativeServer::AdapterNamespace>("adapterNamespace"),
                           InstanceMethod<&NativeServer::AdapterRoom>("adapterRoom"),
                           InstanceMethod<&NativeServer::AdapterPublish>("adapterPublish"),
                           InstanceMethod<&NativeServer::AdapterServerCount>("adapterServerCount"),
                           InstanceMethod<&NativeServer::AdapterCommand>("adapterCommand"),
                           InstanceMethod<&NativeServer::Leave>("leave"),
                           InstanceMethod<&NativeServer::Disconnect>("disconnect"),
                           InstanceMethod<&NativeServer::Close>("close"),
                           InstanceMethod<&NativeServer::Stats>("stats"),
                           InstanceMethod<&NativeServer::DocAuth>("docAuth"),
                           InstanceMethod<&NativeServer::DocRequest>("docRequest"),
                           InstanceMethod<&NativeServer::DocRelease>("docRelease"),
                           InstanceMethod<&NativeServer::DocStateless>("docStateless"),
                           InstanceMethod<&NativeServer::HandshakeReply>("handshakeReply"),
                           InstanceMethod<&NativeServer::SetHandshakeHook>("setHandshakeHook"),
                           InstanceMethod<&NativeServer::DocLoaded>("docLoaded"),
                           InstanceMethod<&NativeServer::GetHandshake>("handshake"),
                       });
  }

  // new NativeServer(options, onEvents): onEvents(numbers, ...values) receives the events
  // (core/host_protocol.h), or null once after close() completed.
  explicit NativeServer(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NativeServer>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction())
      throw Napi::TypeError::New(env, "NativeServer(options, onEvents)");
    const Napi::Object o = info[0].As<Napi::Object>();
    collabio::core::Options opts;
    auto num = [&](const char* key, auto& field) { ReadNumber(o, key, field); };
    num("threads", opts.threads);
    num("pingInterval", opts.ping_interval);
    num("pingTimeout", opts.ping_timeout);
    num("connectTimeout", opts.connect_timeout);
    num("maxHttpBufferSize", opts.max_http_buffer_size);
    num("maxAttachments", opts.max_attachments);
    num("maxOutboundBytes", opts.max_outbound_bytes);
    num("maxInboundBytes", opts.max_inbound_bytes);
    num("maxInboundEvents", opts.max_inbound_events);
    num("maxInboundBytesTotal", opts.max_inbound_bytes_total);
    num("handshakeTimeout", opts.handshake_timeout);
    num("closeTimeout", opts.close_timeout);
    num("maxConnections", opts.max_connections);
    num("connectionRate", opts.connection_rate);
    num("connectionBurst", opts.connection_burst);
    ReadBool(o, "rateLimitLoopback", opts.rate_limit_loopback);
    ReadString(o, "path", opts.path);
    ReadString(o, "serveStatic", opts.serve_static);
    if (o.Get("tls").IsObject()) {
      const Napi::Object t = o.Get("tls").As<Napi::Object>();
      ReadString(t, "key", opts.tls.key);
      ReadString(t, "cert", opts.tls.cert);
      ReadString(t, "ca", opts.tls.ca);
      ReadString(t, "passphrase", opts.tls.passphrase);
    }
    if (o.Get("engine").IsObject()) ReadEngineOptions(o.Get("engine").As<Napi::Object>(), opts.engine);
    if (o.Get("documents").IsObject()) {
      const Napi::Object d = o.Get("documents").As<Napi::Object>();
      auto& docs = opts.documents;
      auto dnum = [&](const char* key, auto& field) { ReadNumber(d, key, field); };
      ReadBool(d, "enabled", docs.enabled);
      ReadBool(d, "authorize", docs.authorize);
      ReadBool(d, "hostPersistence", docs.host_persistence);
      ReadString(d, "path", docs.persistence_path);
      std::string durability;
      ReadString(d, "durability", durability);
      if (!durability.empty()) docs.durability_full = durability != "normal";
      dnum("unloadDelay", docs.unload_delay_ms);
      dnum("maxMessageSize", docs.max_message);
      dnum("keepAlive", docs.keepalive_ms);
      dnum("updateDebounce", docs.update_debounce_ms);
      dnum("relayInterval", docs.relay_interval_ms);
      dnum("compactAfterEntries", docs.compact_after_entries);
      dnum("compactAfterBytes", docs.compact_after_bytes);
      dnum("maxDocuments", docs.max_documents);
      ReadString(d, "hocuspocusPath", docs.hocuspocus_path);
      dnum("maxDocumentsPerConnection", docs.max_documents_per_connection);
      dnum("maxNameLength", docs.max_name_bytes);
      ReadDeflate(d, "perMessageDeflate", docs.per_message_deflate);
      ReadString(d, "redisUrl", docs.redis_url);
      ReadString(d, "redisPrefix", docs.redis_prefix);
      dnum("redisMaxQueued", docs.redis_max_queued);
      dnum("redisTrimWindow", docs.redis_trim_window_ms);
      ReadString(d, "redisTlsCa", docs.redis_tls_ca);
      ReadBool(d, "redisTlsVerify", docs.redis_tls_verify);
      ReadBool(d, "redisCluster", docs.redis_cluster);
      if (d.Has("redisNodes")) docs.redis_nodes = Strings(d.Get("redisNodes"));
    }

    // Node deletes the function itself when the environment is torn down, maybe before this object
    // is finalized (a server never closed: process exit). The flag outlives both.
    tsfn_ = Napi::ThreadSafeFunction::New(env, info[1].As<Napi::Function>(), "collabio:events", 0, 1,
                                          [gone = tsfn_gone_](Napi::Env) { gone->store(true, std::memory_order_release); });
    tsfn_.Unref(env);  // a server that is not listening must not keep the process alive
    server_ = std::make_unique<collabio::core::Server>(std::move(opts), this);
  }

  ~NativeServer() override {
    // Nothing is delivered from here on: ~Server reports closed() (a server never closed), and
    // the function may already be gone.
    destroying_.store(true, std::memory_order_release);
    // Joins the I/O threads; after this no thread calls notify() or closed().
    server_.reset();
    if (!released_ && !tsfn_gone_->load(std::memory_order_acquire)) tsfn_.Abort();
  }

  // ---- EventSink (I/O threads; closed() also from ~Server on the main thread) ----
  void notify() override {
    if (deliverable()) tsfn_.NonBlockingCall(this, &NativeServer::Deliver);
  }
  void closed() override {
    closed_.store(true, std::memory_order_release);
    if (deliverable()) tsfn_.NonBlockingCall(this, &NativeServer::Deliver);
  }

 private:
  bool deliverable() const {
    return !destroying_.load(std::memory_order_acquire) && !tsfn_gone_->load(std::memory_order_acquire);
  }

  // Runs on the main thread: drains the waiting events and hands them to JavaScript in calls of at
  // most kMaxValuesPerCall values (host_protocol.h, "An event batch reaches JavaScript").
  static void Deliver(Napi::Env env, Napi::Function js, NativeServer* self) {
    if (env == nullptr || self->released_) return;
    self->batch_.clear();
    // More waiting after this slice: another call follows (drain_events does not notify for it).
    const bool more = self->server_->drain_events(self->batch_, kDeliverSliceBytes);
    if (more) self->tsfn_.NonBlockingCall(self, &NativeServer::Deliver);
    // The batch counts against its connections' inbound budgets until JavaScript has run it (or
    // thrown): only then are the connections paused for it read again.
    struct Handled {
      collabio::core::Server& server;
      ~Handled() { server.events_handled(); }
    } handled{*self->server_};
    if (!self->batch_.empty()) {
      std::vector<uint64_t> closed;  // connections whose handshake is forgotten after this batch
      {
        // Whatever the handlers send while this batch runs leaves in one hand-off to the I/O threads.
        collabio::core::Server::CommandBatch commands(*self->server_);
        for (size_t at = 0; at < self->batch_.size();) at = self->CallWith(env, js, at, closed);
      }
      self->batch_.clear();
      // JavaScript has handled the closes (a closing socket keeps a copy of its handshake).
      for (uint64_t conn : closed) self->handshakes_.erase(conn);
    }
    // Closed: the null batch goes after every waiting event (the next call, if `more`).
    if (!more && self->closed_.load(std::memory_order_acquire) && !self->released_) {
      self->released_ = true;
      // A server closed without ever listening keeps no reference on the loop: this call may come
      // while Node tears the environment down, when calling into JavaScript throws. Nothing is
      // left to tell then.
      try {
        js.Call({env.Null()});
      } catch (const Napi::Error&) {
      }
      self->tsfn_.Release();
    }
  }

  // One call of onEvents(numbers, ...values) with the events of batch_ from `first` on, as many as
  // fit in kMaxValuesPerCall values (at least one). Returns the index of the first event left.
  size_t CallWith(Napi::Env env, const Napi::Function& js, size_t first, std::vector<uint64_t>& closed) {
    using collabio::core::EventField;
    constexpr size_t kMaxFieldsPerEvent = 5;
    size_t last = first;
    while (last < batch_.size() && (last - first + 1) * kMaxFieldsPerEvent <= kMaxValuesPerCall) ++last;
    last = std::max(last, first + 1);
    Napi::HandleScope scope(env);
    const size_t count = last - first;
    Napi::ArrayBuffer buffer = Napi::ArrayBuffer::New(env, count * kEventStride * sizeof(double));
    double* numbers = static_cast<double*>(buffer.Data());
    values_.clear();
    values_.push_back(Napi::Float64Array::New(env, count * kEventStride, buffer, 0));
    const std::string* nsp = &kNoNamespace;
    for (size_t k = 0; k < count; ++k) {
      Event& ev = batch_[first + k];
      if (ev.kind == Event::kConnect) {
        // Socket.IO connects: JavaScript builds socket.handshake only when it is read
        // (NativeServer::GetHandshake), so the request stays here until the connection closes.
        if (ev.handshake) handshakes_.try_emplace(ev.conn, std::move(ev.handshake));
        ev.handshake = nullptr;
      } else if (ev.kind == Event::kClose) {
        closed.push_back(ev.conn);
      }
      uint32_t fields = 0;
      if (ev.nsp != *nsp) {
        fields |= EventField::kFieldNsp;
        values_.push_back(JsString(env, ev.nsp));
        nsp = &ev.nsp;
      }
      if (!ev.data.empty()) {
        fields |= EventField::kFieldData;
        values_.push_back(JsString(env, ev.data));
      }
      if (!ev.attachments.empty()) {
        fields |= EventField::kFieldAttachments;
        Napi::Array atts = Napi::Array::New(env, ev.attachments.size());
        for (uint32_t i = 0; i < ev.attachments.size(); ++i)
          atts.Set(i, Napi::Buffer<char>::Copy(env, ev.attachments[i].data(), ev.attachments[i].size()));
        values_.push_back(atts);
      }
      if (ev.handshake) {
        fields |= EventField::kFieldHandshake;
        values_.push_back(HandshakeToJs(env, *ev.handshake));
      }
      if (!ev.extra.empty()) {
        fields |= EventField::kFieldExtra;
        values_.push_back(JsString(env, ev.extra));
      }
      double* n = numbers + k * kEventStride;
      n[EventSlot::kSlotKind] = ev.kind;
      n[EventSlot::kSlotConn] = static_cast<double>(ev.conn);
      n[EventSlot::kSlotAckId] = static_cast<double>(ev.ack_id);
      n[EventSlot::kSlotFields] = fields;
    }
    js.Call(values_);
    return last;
  }

  // A JavaScript string of the UTF-8 text `s`. ASCII (JSON text, namespaces and reasons, usually)
  // is created as Latin-1, which V8 copies as it is instead of decoding.
  static napi_value JsString(napi_env env, std::string_view s) {
    napi_value out;
    const napi_status status = IsAscii(s) ? napi_create_string_latin1(env, s.data(), s.size(), &out)
                                          : napi_create_string_utf8(env, s.data(), s.size(), &out);
    NAPI_THROW_IF_FAILED(env, status, nullptr);
    return out;
  }
  static bool IsAscii(std::string_view s) {
    uint64_t high = 0;  // the high bits of every byte, OR-ed together
    size_t i = 0;
    for (; i + 8 <= s.size(); i += 8) {
      uint64_t word;
      std::memcpy(&word, s.data() + i, 8);
      high |= word;
    }
    for (; i < s.size(); ++i) high |= static_cast<uint8_t>(s[i]);
    return (high & 0x8080808080808080ull) == 0;
  }

  static Napi::Value HandshakeToJs(Napi::Env env, const collabio::core::Handshake& hs) {
    Napi::Object o = Napi::Object::New(env);
    const std::string_view query = hs.query();
    o.Set("url", hs.url);
    o.Set("query", Napi::String::New(env, query.data(), query.size()));
    o.Set("address", hs.address);
    o.Set("secure", hs.secure);
    o.Set("time", Napi::Number::New(env, static_cast<double>(hs.time_ms)));
    Napi::Object headers = Napi::Object::New(env);
    std::string key;
    hs.for_each_header([&](std::string_view k, std::string_view v) {
      key.assign(k);
      // Repeated headers are joined like Node's http module does for most fields.
      if (headers.Has(key)) {
        headers.Set(key, headers.Get(key).As<Napi::String>().Utf8Value() + ", " + std::string(v));
      } else {
        headers.Set(key, Napi::String::New(env, v.data(), v.size()));
      }
    });
    o.Set("headers", headers);
    return o;
  }

  // handshake(conn): the request that opened Socket.IO connection `conn` (as HandshakeToJs), or
  // undefined once the connection's close has been delivered.
  Napi::Value GetHandshake(const Napi::CallbackInfo& info) {
    const auto it = handshakes_.find(Id(info[0]));
    if (it == handshakes_.end()) return info.Env().Undefined();
    return HandshakeToJs(info.Env(), *it->second);
  }

  static std::string Str(const Napi::Value& v) { return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string(); }
  // A packet's text as UTF-8, converted in one pass (Utf8Value measures first, then converts): into
  // room for the longest encoding of its UTF-16 length, trimmed after. Longer packets take the two
  // passes rather than three times their size.
  static std::string Packet(const Napi::Value& v) {
    constexpr size_t kOnePassMax = 64 * 1024;
    napi_env env = v.Env();
    size_t units = 0;
    if (napi_get_value_string_utf16(env, v, nullptr, 0, &units) != napi_ok) return std::string();  // not a string
    if (units > kOnePassMax) return Str(v);
    std::string out(units * 3, '\0');
    size_t n = 0;
    NAPI_THROW_IF_FAILED(env, napi_get_value_string_utf8(env, v, out.data(), out.size() + 1, &n), std::string());
    out.resize(n);
    return out;
  }
  static uint64_t Id(const Napi::Value& v) { return static_cast<uint64_t>(v.As<Napi::Number>().DoubleValue()); }
  static std::vector<std::string> Strings(const Napi::Value& v) {
    std::vector<std::string> out;
    if (!v.IsArray()) return out;
    Napi::Array a = v.As<Napi::Array>();
    out.reserve(a.Length());
    for (uint32_t i = 0; i < a.Length(); ++i) out.push_back(Str(a.Get(i)));
    return out;
  }
  // Attachments: an array of Buffers / Uint8Arrays, or undefined.
  static std::vector<std::string> Blobs(const Napi::Value& v) {
    std::vector<std::string> out;
    if (!v.IsArray()) return out;
    Napi::Array a = v.As<Napi::Array>();
    out.reserve(a.Length());
    for (uint32_t i = 0; i < a.Length(); ++i) {
      Napi::Value b = a.Get(i);
      if (!b.IsTypedArray()) throw Napi::TypeError::New(v.Env(), "attachments must be Uint8Arrays");
      Napi::Uint8Array u = b.As<Napi::Uint8Array>();
      out.emplace_back(reinterpret_cast<const char*>(u.Data()), u.ByteLength());
    }
    return out;
  }

  Napi::Value Listen(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    const double port = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
    if (port < 0 || port > 65535) throw Napi::RangeError::New(env, "port must be 0..65535");
    try {
      const auto a = server_->listen(Str(info[1]), static_cast<uint16_t>(port));
      tsfn_.Ref(env);  // listening keeps the process alive, like a net.Server
      Napi::Object o = Napi::Object::New(env);
      o.Set("address", a.address);
      o.Set("family", a.family);
      o.Set("port", a.port);
      return o;
    } catch (const std::system_error& e) {
      Napi::Error err = Napi::Error::New(env, e.what());
      err.Set("code", e.code() == std::errc::address_in_use ? "EADDRINUSE" : "ELISTEN");
      throw err;
    } catch (const collabio::core::TlsError& e) {
      // A bad TLS key, certificate or passphrase: OpenSSL's reason.
      Napi::Error err = Napi::Error::New(env, std::string("collabio: ") + e.what());
      err.Set("code", "ETLS");
      throw err;
    } catch (const std::exception& e) {
      // e.g. the document store could not be opened (store::StoreError says why).
      Napi::Error err = Napi::Error::New(env, std::string("collabio: ") + e.what());
      err.Set("code", "ESTORE");
      throw err;
    }
  }

  // start(): attached mode, the I/O threads without a listening socket (Server::start).
  void Start(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
      server_->start();
      tsfn_.Ref(env);  // like listen(): the process stays up until close()
    } catch (const std::exception& e) {
      Napi::Error err = Napi::Error::New(env, std::string("collabio: ") + e.what());
      err.Set("code", "ESTORE");
      throw err;
    }
  }

  static collabio::core::AdoptOptions AdoptOptionsFrom(const Napi::CallbackInfo& info, size_t at) {
    collabio::core::AdoptOptions o;
    o.address = Str(info[at]);
    o.secure = info[at + 1].ToBoolean();
    return o;
  }
  static std::string Bytes(const Napi::Value& v) {
    if (!v.IsTypedArray()) return {};
    Napi::Uint8Array u = v.As<Napi::Uint8Array>();
    return std::string(reinterpret_cast<const char*>(u.Data()), u.ByteLength());
  }

  // adopt(fd, prefix, address, secure): hands the TCP connection behind the host's descriptor `fd`
  // to the core. The core gets a dup() of it, so the caller still closes its own (without a
  // shutdown: the connection stays open through the duplicate). Returns false when the
  // descriptor cannot be duplicated or the server is not running; the caller then still owns the
  // connection.
  Napi::Value Adopt(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsNumber()) throw Napi::TypeError::New(env, "fd must be a number");
    const int fd = info[0].As<Napi::Number>().Int32Value();
    const int copy = fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (copy < 0) return Napi::Boolean::New(env, false);
    return Napi::Boolean::New(env, server_->adopt(copy, Bytes(info[1]), AdoptOptionsFrom(info, 2)));
  }

  // relay(prefix, address, secure): the host's end of a socket pair the core serves (Server::relay).
  Napi::Value Relay(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    try {
      return Napi::Number::New(env, server_->relay(Bytes(info[0]), AdoptOptionsFrom(info, 1)));
    } catch (const std::exception& e) {
      throw Napi::Error::New(env, std::string("collabio: ") + e.what());
    }
  }

  void ConnectReply(const Napi::CallbackInfo& info) {
    server_->connect_reply(Id(info[0]), Str(info[1]), info[2].ToBoolean(), Str(info[3]));
  }
  // send(conn, packet, attachments, compress = true)
  void Send(const Napi::CallbackInfo& info) {
    server_->send(Id(info[0]), Packet(info[1]), Blobs(info[2]), !info[3].IsBoolean() || info[3].ToBoolean());
  }
  // broadcast(nsp, rooms, exceptRooms, packet, attachments, volatile, compress = true, local = false)
  void Broadcast(const Napi::CallbackInfo& info) {
    server_->broadcast(Str(info[0]), Strings(info[1]), Strings(info[2]), Packet(info[3]), Blobs(info[4]),
                       info[5].ToBoolean(), !info[6].IsBoolean() || info[6].ToBoolean(), info[7].ToBoolean());
  }
  // setRedisAdapter({ url, key, mode: 'classic' | 'sharded', uid, tls?: { caFile, certFile, keyFile,
  // servername, rejectUnauthorized } }) or setRedisAdapter(null) (local).
  void SetRedisAdapter(const Napi::CallbackInfo& info) {
    collabio::core::Server::RedisAdapterOptions o;
    if (info[0].IsObject()) {
      const Napi::Object c = info[0].As<Napi::Object>();
      ReadString(c, "url", o.url);
      ReadString(c, "key", o.key);
      ReadString(c, "uid", o.uid);
      std::string mode;
      ReadString(c, "mode", mode);
      o.sharded = mode == "sharded";
      if (c.Get("tls").IsObject()) {
        const Napi::Object t = c.Get("tls").As<Napi::Object>();
        ReadString(t, "caFile", o.tls_ca_file);
        ReadString(t, "certFile", o.tls_cert_file);
        ReadString(t, "keyFile", o.tls_key_file);
        ReadString(t, "servername", o.tls_server_name);
        ReadBool(t, "rejectUnauthorized", o.tls_verify);
      }
    }
    try {
      server_->set_redis_adapter(std::move(o));
    } catch (const std::invalid_argument& e) {
      Napi::TypeError::New(info.Env(), e.what()).ThrowAsJavaScriptException();
    }
  }
  // adapterNamespace(nsp, on)
  void AdapterNamespace(const Napi::CallbackInfo& info) { server_->adapter_namespace(Str(info[0]), info[1].ToBoolean()); }
  // adapterRoom(nsp, room, on)
  void AdapterRoom(const Napi::CallbackInfo& info) {
    server_->adapter_room(Str(info[0]), Str(info[1]), info[2].ToBoolean());
  }
  // adapterPublish(channel, json, attachments, msgpack)
  void AdapterPublish(const Napi::CallbackInfo& info) {
    server_->adapter_publish(Str(info[0]), Str(info[1]), Blobs(info[2]), info[3].ToBoolean());
  }
  // adapterServerCount(nsp, id): answered by an adapter reply event
  void AdapterServerCount(const Napi::CallbackInfo& info) {
    server_->adapter_server_count(Str(info[0]), static_cast<int64_t>(info[1].As<Napi::Number>().DoubleValue()));
  }
  // adapterCommand(args: string[], id, blocking): answered by an adapter command reply event
  void AdapterCommand(const Napi::CallbackInfo& info) {
    server_->adapter_command(Strings(info[0]), static_cast<int64_t>(info[1].As<Napi::Number>().DoubleValue()),
                             info[2].ToBoolean());
  }
  void Join(const Napi::CallbackInfo& info) { server_->join(Id(info[0]), Str(info[1]), Strings(info[2])); }
  void Leave(const Napi::CallbackInfo& info) { server_->leave(Id(info[0]), Str(info[1]), Str(info[2])); }
  void Disconnect(const Napi::CallbackInfo& info) {
    server_->disconnect(Id(info[0]), Str(info[1]), Str(info[2]), info[3].ToBoolean());
  }
  void Close(const Napi::CallbackInfo&) { server_->close(); }
  Napi::Value Stats(const Napi::CallbackInfo& info) {
    const auto s = server_->stats();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("connections", Napi::Number::New(info.Env(), static_cast<double>(s.connections)));
    o.Set("messagesIn", Napi::Number::New(info.Env(), static_cast<double>(s.messages_in)));
    o.Set("messagesOut", Napi::Number::New(info.Env(), static_cast<double>(s.messages_out)));
    o.Set("bytesQueued", Napi::Number::New(info.Env(), static_cast<double>(s.bytes_queued)));
    o.Set("documents", Napi::Number::New(info.Env(), static_cast<double>(server_->documents_loaded())));
    o.Set("engineClients", Napi::Number::New(info.Env(), static_cast<double>(s.engine_clients)));
    o.Set("acceptErrors", Napi::Number::New(info.Env(), static_cast<double>(s.accept_errors)));
    o.Set("compactionErrors", Napi::Number::New(info.Env(), static_cast<double>(s.compaction_errors)));
    o.Set("handlerExceptions", Napi::Number::New(info.Env(), static_cast<double>(s.handler_exceptions)));
    o.Set("forcedShutdowns", Napi::Number::New(info.Env(), static_cast<double>(s.forced_shutdowns)));
    o.Set("streamAppends", Napi::Number::New(info.Env(), static_cast<double>(s.stream_appends)));
    o.Set("streamAppendsRefused", Napi::Number::New(info.Env(), static_cast<double>(s.stream_appends_refused)));
    o.Set("streamEntriesRead", Napi::Number::New(info.Env(), static_cast<double>(s.stream_entries_read)));
    o.Set("badStreamEntries", Napi::Number::New(info.Env(), static_cast<double>(s.stream_bad_entries)));
    o.Set("streamCompactions", Napi::Number::New(info.Env(), static_cast<double>(s.stream_compactions)));
    o.Set("streamReloads", Napi::Number::New(info.Env(), static_cast<double>(s.stream_reloads)));
    o.Set("streamBootstraps", Napi::Number::New(info.Env(), static_cast<double>(s.stream_bootstraps)));
    o.Set("streamSeeds", Napi::Number::New(info.Env(), static_cast<double>(s.stream_seeds)));
    o.Set("streamRestores", Napi::Number::New(info.Env(), static_cast<double>(s.stream_restores)));
    o.Set("streamTrimmedReloads", Napi::Number::New(info.Env(), static_cast<double>(s.stream_trimmed_reloads)));
    o.Set("inboundBytes", Napi::Number::New(info.Env(), static_cast<double>(s.inbound_bytes)));
    o.Set("inboundEvents", Napi::Number::New(info.Env(), static_cast<double>(s.inbound_events)));
    o.Set("documentInboundBytes", Napi::Number::New(info.Env(), static_cast<double>(s.document_inbound_bytes)));
    o.Set("pausedConnections", Napi::Number::New(info.Env(), static_cast<double>(s.paused_connections)));
    o.Set("inboundPauses", Napi::Number::New(info.Env(), static_cast<double>(s.inbound_pauses)));
    o.Set("adapterBadMessages", Napi::Number::New(info.Env(), static_cast<double>(s.adapter_bad_messages)));
    o.Set("clusterAwarenessDropped", Napi::Number::New(info.Env(), static_cast<double>(s.cluster_awareness_dropped)));
    o.Set("clusterAwarenessAnswers", Napi::Number::New(info.Env(), static_cast<double>(s.cluster_awareness_answers)));
    o.Set("clusterAwarenessQueriesCoalesced",
          Napi::Number::New(info.Env(), static_cast<double>(s.cluster_awareness_queries_coalesced)));
    o.Set("clusterAwarenessResyncs", Napi::Number::New(info.Env(), static_cast<double>(s.cluster_awareness_resyncs)));
    return o;
  }

  // docAuth(conn, mode, reason, address?)
  void DocAuth(const Napi::CallbackInfo& info) {
    server_->doc_auth(Id(info[0]), info[1].As<Napi::Number>().Int32Value(), Str(info[2]),
                      info[3].IsString() ? Str(info[3]) : std::string());
  }
  // docStateless(name, peer (0 = every peer), payload)
  void DocStateless(const Napi::CallbackInfo& info) {
    server_->doc_stateless(Str(info[0]), Id(info[1]), Str(info[2]));
  }
  // docRequest(name, op, arg: string|Uint8Array|undefined, reqId, hold)
  void DocRequest(const Napi::CallbackInfo& info) {
    std::string arg;
    if (info[2].IsTypedArray()) {
      Napi::Uint8Array u = info[2].As<Napi::Uint8Array>();
      arg.assign(reinterpret_cast<const char*>(u.Data()), u.ByteLength());
    } else {
      arg = Str(info[2]);
    }
    server_->doc_request(Str(info[0]), Str(info[1]), std::move(arg),
                         static_cast<int64_t>(info[3].As<Napi::Number>().DoubleValue()), info[4].ToBoolean());
  }
  void DocRelease(const Napi::CallbackInfo& info) { server_->doc_release(Str(info[0])); }

  // handshakeReply(requestId, errorCode (-1 = accept), message, initialHeaders[], headers[])
  void HandshakeReply(const Napi::CallbackInfo& info) {
    server_->handshake_reply(Id(info[0]), info[1].As<Napi::Number>().Int32Value(), Str(info[2]), Strings(info[3]),
                             Strings(info[4]));
  }
  void SetHandshakeHook(const Napi::CallbackInfo& info) { server_->set_handshake_hook(info[0].ToBoolean()); }

  // Engine.IO options as lib/server.js normalizes them (socket.io names resolved there).
  static void ReadEngineOptions(const Napi::Object& e, collabio::core::EngineOptions& eo) {
    const auto& str = ReadString;
    const auto& flag = ReadBool;
    flag(e, "polling", eo.polling);
    flag(e, "websocket", eo.websocket);
    flag(e, "echo", eo.echo);
    ReadNumber(e, "upgradeTimeout", eo.upgrade_timeout);
    ReadDeflate(e, "perMessageDeflate", eo.per_message_deflate);
    str(e, "cookieName", eo.cookie_name);
    str(e, "cookieAttributes", eo.cookie_attributes);
    str(e, "clientDir", eo.client_dir);
    str(e, "clientEtag", eo.client_etag);
    if (!e.Get("cors").IsObject()) return;
    const Napi::Object c = e.Get("cors").As<Napi::Object>();
    auto& cors = eo.cors;
    cors.enabled = true;
    std::string origin_mode;
    str(c, "originMode", origin_mode);  // "any" | "reflect" | "fixed" | "list"
    using O = collabio::core::CorsOptions::Origin;
    cors.origin = origin_mode == "reflect" ? O::Reflect : origin_mode == "fixed" ? O::Fixed : origin_mode == "list" ? O::List : O::Any;
    str(c, "origin", cors.fixed);
    cors.allowed = Strings(c.Get("allowed"));
    cors.patterns = Strings(c.Get("patterns"));
    str(c, "methods", cors.methods);
    str(c, "allowedHeaders", cors.allowed_headers);
    str(c, "exposedHeaders", cors.exposed_headers);
    flag(c, "credentials", cors.credentials);
    ReadNumber(c, "maxAge", cors.max_age);
  }
  // docLoaded(name, state: Uint8Array|null, error: string)
  void DocLoaded(const Napi::CallbackInfo& info) {
    std::string state;
    if (info[1].IsTypedArray()) {
      Napi::Uint8Array u = info[1].As<Napi::Uint8Array>();
      state.assign(reinterpret_cast<const char*>(u.Data()), u.ByteLength());
    }
    server_->doc_loaded(Str(info[0]), std::move(state), Str(info[2]));
  }

  Napi::ThreadSafeFunction tsfn_;
  std::unique_ptr<collabio::core::Server> server_;
  std::vector<Event> batch_;           // main thread
  std::vector<napi_value> values_;     // main thread: the arguments of the call being built
  // Handshakes of the open Socket.IO connections, by connection id (main thread).
  std::unordered_map<uint64_t, std::shared_ptr<const collabio::core::Handshake>> handshakes_;
  bool released_ = false;              // main thread
  std::atomic<bool> closed_{false};    // set by an I/O thread, read on the main thread
  std::atomic<bool> destroying_{false};  // set by the destructor (main thread), read by I/O threads
  // Set when Node has deleted tsfn_ (main thread, its finalizer), read by I/O threads.
  std::shared_ptr<std::atomic<bool>> tsfn_gone_ = std::make_shared<std::atomic<bool>>(false);
};

// `binding.constants`: the numbers of core/host_protocol.h by name, frozen (lib/constants.js).
Napi::Object ExportConstants(Napi::Env env) {
  const auto table = [&](const auto& named) {
    Napi::Object o = Napi::Object::New(env);
    for (const auto& [name, value] : named) o.Set(std::string(name), Napi::Number::New(env, static_cast<double>(value)));
    o.Freeze();
    return o;
  };
  namespace core = collabio::core;
  using collabio::engineio::ErrorCode;
  const core::NamedNumber engine_errors[] = {
      {"UNKNOWN_TRANSPORT", static_cast<int>(ErrorCode::UnknownTransport)},
      {"UNKNOWN_SID", static_cast<int>(ErrorCode::UnknownSid)},
      {"BAD_HANDSHAKE_METHOD", static_cast<int>(ErrorCode::BadHandshakeMethod)},
      {"BAD_REQUEST", static_cast<int>(ErrorCode::BadRequest)},
      {"FORBIDDEN", static_cast<int>(ErrorCode::Forbidden)},
      {"UNSUPPORTED_PROTOCOL_VERSION", static_cast<int>(ErrorCode::UnsupportedProtocolVersion)},
  };
  Napi::Object ranges = Napi::Object::New(env);
  for (const auto& r : core::kEventKindRanges) {
    Napi::Object range = Napi::Object::New(env);
    range.Set("first", r.first);
    range.Set("last", r.last);
    range.Freeze();
    ranges.Set(std::string(r.name), range);
  }
  ranges.Freeze();
  Napi::Object c = Napi::Object::New(env);
  c.Set("eventKinds", table(core::kEventKindNames));
  c.Set("eventKindRanges", ranges);
  c.Set("eventStride", core::kEventStride);
  c.Set("eventSlots", table(core::kEventSlotNames));
  c.Set("eventFields", table(core::kEventFieldNames));
  c.Set("docAuthModes", table(core::kDocAuthModeNames));
  c.Set("handshakeAllowed", core::kHandshakeAllowed);
  c.Set("engineErrors", table(engine_errors));
  c.Freeze();
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("NativeServer", NativeServer::Init(env));
  exports.Set("constants", ExportConstants(env));
  return exports;
}

}  // namespace

NODE_API_MODULE(collabio, Init)
