// A private redis-server for tests: started on a free loopback port in a temporary directory,
// never the system service. Missing redis-server is a test failure with the install command, not
// a skip.
#pragma once

#include <string>
#include <vector>

namespace collabio::test {

class RedisServer {
 public:
  /// Extra arguments are passed to redis-server (e.g. {"--requirepass", "pw"}).
  explicit RedisServer(std::vector<std::string> extra_args = {});
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// Starts the server and waits until it accepts connections; throws std::runtime_error with a
  /// clear message when it cannot (redis-server missing, or it exited).
  void start();
  /// SIGTERM and wait. Safe to call twice.
  void stop();
  /// SIGKILL and wait.
  void kill();

  int port() const { return port_; }
  int tls_port() const { return tls_port_; }
  const std::string& dir() const { return dir_; }
  /// Runs `redis-cli -p <port> <args...>` against the plain port and returns its output.
  std::string cli(const std::vector<std::string>& args) const;
  /// Writes a self-signed CA and a server certificate for `localhost` / 127.0.0.1 into dir() and
  /// makes the next start() listen for TLS on tls_port() too. Returns the CA file's path.
  std::string enable_tls();

  static int free_port();

 private:
  std::vector<std::string> extra_;
  std::string dir_;
  int port_ = 0;
  int tls_port_ = 0;
  int pid_ = -1;
};

}  // namespace collabio::test
