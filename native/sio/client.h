// One client's Socket.IO side, as socket.io's Client: it reads the Socket.IO packets its Engine.IO
// session carries (decoding them, reassembling binary attachments), knows which namespaces the
// client has joined, and hands events to the host. The session knows nothing of Socket.IO.
//
// Threads and ownership
// - The session owns its client; on_message/on_binary/on_close run on the session's strand and
//   own `pending_`.
// - Namespace membership is written by commands (the command strand) and read by the reader:
//   guarded by `ns_mu_`.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/eio_upper.h"
#include "core/server.h"

namespace collabio::core {
class EioConnection;
class ServerImpl;
}  // namespace collabio::core

namespace collabio::sio {

class Client final : public core::EioUpper {
 public:
  // `session` owns this client; `server` outlives both.
  Client(core::ServerImpl& server, core::EioConnection& session) : server_(server), session_(session) {}

  void on_message(std::string_view text) override;
  void on_binary(std::string&& data) override;
  bool established() const override;
  void on_close() override;

  // Commands (the command strand): the client is now connected to `nsp`, or no longer.
  void set_namespace(const std::string& nsp, bool connected);

 private:
  bool namespace_connected(const std::string& nsp) const;
  // A bad packet: the host hears `error` (its sockets emit 'error'), then the client is dropped
  // as socket.io drops it.
  void fail(std::string error);

  core::ServerImpl& server_;
  core::EioConnection& session_;

  // ---- owner: the session's strand ----
  struct PendingBinary {
    core::Event ev;
    uint32_t remaining = 0;
  };
  std::unique_ptr<PendingBinary> pending_;  // a BINARY_EVENT/ACK waiting for its attachments

  // ---- guarded by ns_mu_ ----
  mutable std::mutex ns_mu_;
  std::vector<std::string> namespaces_;  // connected namespaces (a client rarely has more than one)
  bool any_namespace_ = false;           // ever connected to one (connectTimeout)
};

}  // namespace collabio::sio
