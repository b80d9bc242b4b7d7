// Redis Cluster routing: the slot map, redirections and retries over per-master Connections
// (which do the I/O; this file instantiates no socket template).
#include "redis/cluster.h"

#include <array>
#include <cstdio>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <deque>
#include <map>
#include <mutex>
#include <optional>

#include "redis/slots.h"

namespace collabio::redis {

namespace net = boost::asio;
using Strand = net::strand<net::io_context::executor_type>;

namespace {

struct Address {
  std::string host;
  uint16_t port = 0;
  std::string key() const { return host + ":" + std::to_string(port); }
};

bool starts_with(const std::string& s, std::string_view prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

}  // namespace

// Which master serves each slot, shared by a client and its siblings. Thread-safe (its mutex).
class SlotMap {
 public:
  SlotMap() { owner_.fill(kUnknown); }

  std::optional<Address> owner(uint16_t slot) const {
    std::lock_guard lock(mu_);
    const uint16_t i = owner_[slot];
    if (i == kUnknown) return std::nullopt;
    return nodes_[i];
  }

  // Any master that serves a slot (for commands without a key); nullopt when none is known.
  std::optional<Address> any() const {
    std::lock_guard lock(mu_);
    for (uint16_t i : owner_) {
      if (i != kUnknown) return nodes_[i];
    }
    return std::nullopt;
  }

  // The masters that serve at least one slot.
  std::vector<Address> masters() const {
    std::lock_guard lock(mu_);
    std::vector<bool> seen(nodes_.size());
    std::vector<Address> out;
    for (uint16_t i : owner_) {
      if (i != kUnknown && !seen[i]) {
        seen[i] = true;
        out.push_back(nodes_[i]);
      }
    }
    return out;
  }

  void assign(uint16_t slot, const Address& a) {
    std::lock_guard lock(mu_);
    owner_[slot] = index(a);
  }

  // CLUSTER SLOTS's ranges; `asked` stands in for a master whose host Redis did not know.
  void replace(const std::vector<SlotRange>& ranges, const Address& asked) {
    std::lock_guard lock(mu_);
    owner_.fill(kUnknown);
    for (const auto& r : ranges) {
      const uint16_t i = index({r.host.empty() ? asked.host : r.host, r.port});
      for (uint32_t s = r.first; s <= r.last; ++s) owner_[s] = i;
    }
  }

 private:
  static constexpr uint16_t kUnknown = 0xFFFF;
  uint16_t index(const Address& a) {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].host == a.host && nodes_[i].port == a.port) return static_cast<uint16_t>(i);
    }
    // A map lists at most 16384 masters; addresses seen over a long life are bounded by what the
    // cluster announced, far below 0xFFFF.
    nodes_.push_back(a);
    return static_cast<uint16_t>(nodes_.size() - 1);
  }

  mutable std::mutex mu_;
  std::array<uint16_t, kSlotCount> owner_;  // index into nodes_
  std::vector<Address> nodes_;
};

class ClusterClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(net::io_context& ioc, ClusterOptions options, std::shared_ptr<SlotMap> map)
      : ioc_(ioc), options_(std::move(options)), map_(std::move(map)), strand_(net::make_strand(ioc)), refresh_timer_(strand_) {
    seeds_.push_back({options_.node.endpoint.host, options_.node.endpoint.port});
    for (const auto& e : options_.more_seeds) seeds_.push_back({e.host, e.port});
  }

  Strand& strand() { return strand_; }

  void detach() {
    std::lock_guard lock(gate_);
    detached_ = true;
  }

  void do_start() {
    if (started_ || closed_) return;
    started_ = true;
    if (!map_->any()) do_refresh();
  }

  void do_close() {
    if (closed_) return;
    closed_ = true;
    refresh_timer_.cancel();
    for (auto& [key, conn] : conns_) conn->close();  // their unanswered commands fail with Errc::closed
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& r : waiting) user(r.done, make_error_code(Errc::closed), Reply{});
  }

  // One command and what routing it has been through.
  struct Request {
    std::shared_ptr<const std::vector<std::string>> args;
    std::optional<uint16_t> slot;
    ReplyHandler done;
    int redirects = 0;
    int retries = 0;
  };

  void do_command(Request r) {
    if (closed_) return user(r.done, make_error_code(Errc::closed), Reply{});
    std::optional<Address> to = r.slot ? map_->owner(*r.slot) : map_->any();
    if (!to) {
      if (waiting_.size() >= options_.node.max_queued) return user(r.done, make_error_code(Errc::queue_full), Reply{});
      waiting_.push_back(std::move(r));
      do_refresh();
      return;
    }
    send(std::move(r), *to, false);
  }

 private:
  Connection& connection(const Address& a) {
    auto& conn = conns_[a.key()];
    if (!conn) {
      Options o = options_.node;
      o.endpoint.host = a.host;
      o.endpoint.port = a.port;
      o.role = Role::Commands;
      o.on_state = nullptr;  // one state per master would mislead a caller expecting one connection
      conn = std::make_unique<Connection>(ioc_, std::move(o));
      conn->start();
    }
    return *conn;
  }

  void send(Request r, const Address& to, bool asking) {
    Connection& conn = connection(to);
    // ASKING holds for the next command on this connection only; both go out in this order.
    if (asking) conn.command({"ASKING"});
    auto args = r.args;
    conn.command(std::vector<std::string>(*args),
                 [self = shared_from_this(), r = std::move(r), to](std::error_code ec, Reply reply) mutable {
                   net::post(self->strand_, [self, r = std::move(r), to, ec, reply = std::move(reply)]() mutable {
                     self->on_reply(std::move(r), to, ec, std::move(reply));
                   });
                 });
  }

  void on_reply(Request r, const Address& from, std::error_code ec, Reply reply) {
    if (closed_ || ec) {
      // A master lost (or a failover): what serves its slots now is asked before the next command.
      if (ec == Errc::connection_lost) do_refresh();
      return user(r.done, ec, std::move(reply));
    }
    if (reply.is_error()) {
      if (auto redirect = parse_redirect(reply.str); redirect && r.redirects < options_.max_redirects) {
        ++r.redirects;
        Address to{redirect->host.empty() ? from.host : redirect->host, redirect->port};
        if (redirect->kind == Redirect::Kind::Moved) {
          map_->assign(redirect->slot, to);
          do_refresh();
          return send(std::move(r), to, false);
        }
        return send(std::move(r), to, true);
      }
      if ((starts_with(reply.str, "TRYAGAIN") || starts_with(reply.str, "CLUSTERDOWN")) && r.retries < options_.max_retries) {
        ++r.retries;
        auto timer = std::make_shared<net::steady_timer>(strand_, options_.retry_delay);
        timer->async_wait([self = shared_from_this(), timer, r = std::move(r)](boost::system::error_code) mutable {
          self->do_command(std::move(r));
        });
        return;
      }
    }
    user(r.done, ec, std::move(reply));
  }

  // CLUSTER SLOTS, asked in turn of the known masters and the seeds, so a dead master (or seed) is
  // not asked twice in a row. One at a time: a refresh asked for while one is in flight runs once
  // it ends. An answer that does not come within connect_timeout counts as a failure (a command
  // to a master that is down waits in its connection's queue).
  void do_refresh() {
    if (closed_) return;
    if (refreshing_) {
      refresh_again_ = true;
      return;
    }
    refreshing_ = true;
    refresh_again_ = false;
    std::vector<Address> candidates = map_->masters();
    candidates.insert(candidates.end(), seeds_.begin(), seeds_.end());
    const Address ask = candidates[refresh_round_++ % candidates.size()];
    const uint64_t generation = ++refresh_generation_;
    refresh_timer_.expires_after(options_.node.connect_timeout);
    refresh_timer_.async_wait([self = shared_from_this(), ask, generation](boost::system::error_code e) {
      if (!e && generation == self->refresh_generation_ && self->refreshing_) {
        self->on_refresh(ask, generation, make_error_code(Errc::connection_lost), Reply{});
      }
    });
    connection(ask).command({"CLUSTER", "SLOTS"}, [self = shared_from_this(), ask, generation](std::error_code ec, Reply reply) {
      net::post(self->strand_, [self, ask, generation, ec, reply = std::move(reply)] { self->on_refresh(ask, generation, ec, reply); });
    });
  }

  void on_refresh(const Address& asked, uint64_t generation, std::error_code ec, const Reply& reply) {
    if (generation != refresh_generation_ || !refreshing_) return;  // timed out before, or late
    refreshing_ = false;
    refresh_timer_.cancel();
    if (closed_) return;
    std::vector<SlotRange> ranges;
    if (ec || !parse_cluster_slots(reply, ranges) || ranges.empty()) {
      if (refresh_failures_++ == 0 || refresh_failures_ % 50 == 0) {
        log("redis cluster: cannot read the slot map from " + asked.key() + ": " +
            (ec ? ec.message() : reply.is_error() ? reply.str : std::string("no slots assigned")));
      }
      refresh_timer_.expires_after(std::chrono::milliseconds(200));
      refresh_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e) self->do_refresh();
      });
      return;
    }
    refresh_failures_ = 0;
    map_->replace(ranges, asked);
    // Commands whose slot is still unserved (a failover in progress) wait for a later map, as
    // CLUSTERDOWN would; past max_retries maps they get that error.
    auto waiting = std::move(waiting_);
    waiting_.clear();
    for (auto& r : waiting) {
      if (!r.slot || map_->owner(*r.slot)) {
        do_command(std::move(r));
      } else if (r.retries++ < options_.max_retries) {
        waiting_.push_back(std::move(r));
      } else {
        Reply e;
        e.type = Reply::Type::Error;
        e.str = "CLUSTERDOWN Hash slot not served";
        user(r.done, std::error_code{}, std::move(e));
      }
    }
    if (!waiting_.empty()) {
      refresh_timer_.expires_after(options_.retry_delay * 4);
      refresh_timer_.async_wait([self = shared_from_this()](boost::system::error_code e) {
        if (!e) self->do_refresh();
      });
    } else if (refresh_again_) {
      do_refresh();
    }
  }

  void log(const std::string& line) {
    if (options_.node.log) return user(options_.node.log, std::string_view(line));
    std::fprintf(stderr, "%s\n", line.c_str());
  }

  template <class F, class... Args>
  void user(const F& f, Args&&... args) {
    std::lock_guard lock(gate_);
    if (detached_ || !f) return;
    f(std::forward<Args>(args)...);
  }

  std::recursive_mutex gate_;  // held while a user callback runs; guards detached_
  bool detached_ = false;

  net::io_context& ioc_;
  const ClusterOptions options_;
  const std::shared_ptr<SlotMap> map_;  // thread-safe, shared with siblings
  // Everything below is owned by strand_.
  Strand strand_;
  net::steady_timer refresh_timer_;  // the refresh in flight's deadline, or the delay before the next one
  std::vector<Address> seeds_;
  std::map<std::string, std::unique_ptr<Connection>> conns_;  // by "host:port"; one per master used
  std::deque<Request> waiting_;  // commands whose slot has no known owner yet
  bool started_ = false;
  bool closed_ = false;
  bool refreshing_ = false;
  bool refresh_again_ = false;
  uint64_t refresh_failures_ = 0;
  uint64_t refresh_round_ = 0;       // which candidate the next refresh asks
  uint64_t refresh_generation_ = 0;  // the refresh in flight; older answers are ignored
};

ClusterClient::ClusterClient(net::io_context& ioc, ClusterOptions options)
    : ClusterClient(ioc, std::move(options), std::make_shared<SlotMap>()) {}

ClusterClient::ClusterClient(net::io_context& ioc, ClusterOptions options, std::shared_ptr<SlotMap> map)
    : ioc_(ioc), options_(options), map_(map), impl_(std::make_shared<Impl>(ioc, std::move(options), std::move(map))) {}

ClusterClient::~ClusterClient() {
  impl_->detach();
  close();
}

void ClusterClient::start() {
  net::post(impl_->strand(), [impl = impl_] { impl->do_start(); });
}

void ClusterClient::close() {
  net::post(impl_->strand(), [impl = impl_] { impl->do_close(); });
}

void ClusterClient::command(std::vector<std::string> args, ReplyHandler done) {
  Impl::Request r;
  r.slot = command_slot(args);
  r.args = std::make_shared<const std::vector<std::string>>(std::move(args));
  r.done = std::move(done);
  net::post(impl_->strand(), [impl = impl_, r = std::move(r)]() mutable { impl->do_command(std::move(r)); });
}

std::unique_ptr<ClusterClient> ClusterClient::sibling() const {
  return std::unique_ptr<ClusterClient>(new ClusterClient(ioc_, options_, map_));
}

}  // namespace collabio::redis
