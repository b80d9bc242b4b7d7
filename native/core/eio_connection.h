// One Engine.IO v4 session over the WebSocket transport, carrying Socket.IO v5 packets.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_set>

#include "core/ws_connection.h"

namespace collabio::core {

class EioConnection final : public WsConnection {
 public:
  EioConnection(std::shared_ptr<ServerImpl> server, tcp::socket socket, std::shared_ptr<const Handshake> hs);

  // Namespace membership as seen by the reader (any thread): packets for a namespace the client has
  // not joined are ignored, as socket.io does.
  void set_namespace(const std::string& nsp, bool connected);

 private:
  void on_started() override;
  void on_ws_message(bool binary, std::string&& payload) override;
  void on_closed(const std::string& reason) override;

  void schedule_ping(uint32_t delay_ms, bool expect_pong);
  void on_text_packet(std::string_view text);
  void on_socketio_packet(std::string_view text);
  bool namespace_connected(const std::string& nsp);
  void fail(const char* reason) { do_close(ws::kPolicyViolation, reason, true); }
  // A bad Socket.IO packet: like socket.io, report the parser error to the sockets ('error'), then
  // drop the client with an empty close frame and the reason "forced close".
  void fail_packet(std::string error);

  const std::shared_ptr<const Handshake> handshake_;

  // ---- owner: the strand ----
  net::steady_timer ping_timer_;
  net::steady_timer connect_timer_;
  uint64_t ping_generation_ = 0;
  bool awaiting_pong_ = false;
  struct PendingBinary {
    Event ev;
    uint32_t remaining = 0;
  };
  std::optional<PendingBinary> pending_;  // a BINARY_EVENT/ACK waiting for its attachments

  // ---- guarded by ns_mu_ (written by commands, read by the strand) ----
  std::mutex ns_mu_;
  std::unordered_set<std::string> namespaces_;
  bool any_namespace_ = false;
};

}  // namespace collabio::core
