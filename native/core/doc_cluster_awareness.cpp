#include "core/doc_cluster_awareness.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <random>

#include "core/documents.h"
#include "yjs/awareness_wire.h"

namespace collabio::core {

namespace wire = yjs::awareness_wire;

namespace {

constexpr std::string_view kSuffix = "}:awareness";

std::string random_node_id() {
  std::random_device rd;
  const uint64_t v = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  static const char* hex = "0123456789abcdef";
  std::string id(16, '0');
  for (int i = 0; i < 16; ++i) id[i] = hex[(v >> (60 - 4 * i)) & 15];
  return id;
}

}  // namespace

// ---- AnswerLimiter ----

AnswerLimiter::Decision AnswerLimiter::on_query(int64_t now_ms) {
  if (pending_) return {Verdict::Coalesced};
  if (!last_ms_ || now_ms - *last_ms_ >= interval_ms_) return {Verdict::Now};
  pending_ = true;
  return {Verdict::Later, *last_ms_ + interval_ms_};
}

void AnswerLimiter::answered(int64_t now_ms) {
  pending_ = false;
  last_ms_ = now_ms;
}

// ---- DocClusterAwareness ----

DocClusterAwareness::DocClusterAwareness(boost::asio::io_context& ioc, redis::Options redis, std::string prefix,
                                         FindDocument find, std::atomic<uint64_t>& dropped)
    : ioc_(ioc), prefix_(std::move(prefix)), node_id_(random_node_id()), find_(std::move(find)), dropped_(dropped) {
  if (redis.client_name.empty()) redis.client_name = "collabio-awareness-" + node_id_;
  redis::Options sub = redis;
  redis.role = redis::Role::Commands;
  redis.max_queued = kMaxQueuedPublishes;
  // The state and message handlers run on their connection's strand; the connections are ours,
  // and none runs once they are destroyed (~DocClusterAwareness), so `this` outlives them.
  redis.on_state = [this](redis::State state, std::string_view) { on_publisher_state(state); };
  publisher_ = std::make_unique<redis::Connection>(ioc, std::move(redis));
  sub.role = redis::Role::Subscriber;
  sub.on_state = [this](redis::State state, std::string_view) { on_subscriber_state(state); };
  subscriber_ = std::make_unique<redis::Connection>(ioc, std::move(sub));
  subscriber_->on_message([this](redis::Message&& m) { on_message(std::move(m)); });
}

DocClusterAwareness::~DocClusterAwareness() {
  // The connections' destructors wait for a running handler: none runs once they are gone.
  subscriber_.reset();
  publisher_.reset();
}

void DocClusterAwareness::start() {
  publisher_->start();
  subscriber_->start();
}

void DocClusterAwareness::close() {
  subscriber_->close();
  publisher_->close();
}

void DocClusterAwareness::close_after_flush(std::chrono::milliseconds grace) {
  if (flushing_.exchange(true)) return;
  if (!publisher_ready_.load()) {
    close();
    return;
  }
  subscriber_->close();
  // Replies come in command order: the PING's answer means every PUBLISH before it was answered.
  // The timer bounds the wait when Redis does not answer; whichever comes first closes, on one
  // strand, so the timer is cancelled (and shutdown not held) once the PING is answered.
  auto self = shared_from_this();
  auto strand = std::make_shared<boost::asio::strand<boost::asio::io_context::executor_type>>(
      boost::asio::make_strand(ioc_));
  auto timer = std::make_shared<boost::asio::steady_timer>(*strand, grace);
  timer->async_wait([self, timer](boost::system::error_code) { self->publisher_->close(); });
  publisher_->command({"PING"}, [self, strand, timer](std::error_code, redis::Reply) {
    boost::asio::post(*strand, [self, timer] {
      timer->cancel();
      self->publisher_->close();
    });
  });
}

std::string DocClusterAwareness::channel(const std::string& name) const {
  return prefix_ + ":{" + name + std::string(kSuffix);
}

void DocClusterAwareness::join(const std::string& name) {
  start();  // no effect after the first time
  std::lock_guard lk(mu_);
  if (joined_[name]++ > 0) return;
  // Once Redis confirmed the subscription, nothing the other nodes answer can be missed.
  subscriber_->subscribe(redis::SubscriptionKind::Channel, {channel(name)},
                         [this, name](std::error_code ec, std::string_view error_reply) {
                           if (!ec && error_reply.empty()) publish_query(name);
                         });
}

void DocClusterAwareness::leave(const std::string& name) {
  std::lock_guard lk(mu_);
  auto it = joined_.find(name);
  if (it == joined_.end()) return;
  if (--it->second > 0) return;
  joined_.erase(it);
  subscriber_->unsubscribe(redis::SubscriptionKind::Channel, {channel(name)});
}

void DocClusterAwareness::publish_update(const std::string& name, uint64_t peer, std::span<const uint8_t> update) {
  wire::Message m;
  m.kind = wire::Kind::Update;
  m.node = node_id_;
  m.peer = peer;
  m.update.assign(update.begin(), update.end());
  const auto bytes = wire::encode(m);
  publisher_->command({"PUBLISH", channel(name), std::string(bytes.begin(), bytes.end())});
}

void DocClusterAwareness::publish_query(const std::string& name) {
  wire::Message m;
  m.kind = wire::Kind::Query;
  m.node = node_id_;
  const auto bytes = wire::encode(m);
  publisher_->command({"PUBLISH", channel(name), std::string(bytes.begin(), bytes.end())});
}

// Subscriber strand. The first Ready is the first connection (join() queries then); every later
// one follows a lost connection, after which the connection subscribes again to every channel.
void DocClusterAwareness::on_subscriber_state(redis::State state) {
  if (state != redis::State::Ready) return;
  if (!subscriber_was_ready_) {
    subscriber_was_ready_ = true;
    return;
  }
  resync();
}

// Publisher strand: as above, a later Ready follows a lost connection.
void DocClusterAwareness::on_publisher_state(redis::State state) {
  publisher_ready_.store(state == redis::State::Ready);
  if (state != redis::State::Ready) return;
  if (!publisher_was_ready_) {
    publisher_was_ready_ = true;
    return;
  }
  if (!flushing_.load()) republish(joined_names());
}

std::vector<std::string> DocClusterAwareness::joined_names() {
  std::lock_guard lk(mu_);
  std::vector<std::string> names;
  names.reserve(joined_.size());
  for (const auto& [name, count] : joined_) names.push_back(name);
  return names;
}

void DocClusterAwareness::republish(const std::vector<std::string>& names) {
  for (const auto& name : names)
    if (auto doc = find_(name)) boost::asio::post(doc->strand(), [doc] { doc->awareness_query(); });
}

// Subscriber strand. Messages published while the Subscriber was away are lost: ask the other
// nodes again, and tell them again what this node's clients hold.
void DocClusterAwareness::resync() {
  auto names = joined_names();
  if (names.empty() || flushing_.load()) return;
  resyncs.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::string> channels;
  channels.reserve(names.size());
  for (const auto& name : names) channels.push_back(channel(name));
  // Subscribing to channels already held changes nothing, but Redis confirms it after the
  // resubscription the connection has just sent: from then on no answer can be missed.
  subscriber_->subscribe(redis::SubscriptionKind::Channel, std::move(channels),
                         [this, names = std::move(names)](std::error_code ec, std::string_view error_reply) {
                           if (ec || !error_reply.empty()) return;
                           for (const auto& name : names) publish_query(name);
                           republish(names);
                         });
}

// Subscriber strand.
void DocClusterAwareness::on_message(redis::Message&& message) {
  const std::string& ch = message.channel;
  const std::string head = prefix_ + ":{";
  if (ch.size() < head.size() + kSuffix.size() || ch.compare(0, head.size(), head) != 0 ||
      ch.compare(ch.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return;  // not one of ours (we subscribe to nothing else)
  const std::string name = ch.substr(head.size(), ch.size() - head.size() - kSuffix.size());
  wire::Message m;
  std::string error;
  const auto* data = reinterpret_cast<const uint8_t*>(message.payload.data());  // bytes as received
  if (!wire::decode({data, message.payload.size()}, m, error)) {
    count_dropped();
    return;
  }
  if (m.node == node_id_) return;  // our own, echoed
  auto doc = find_(name);
  if (!doc) return;  // unloaded meanwhile
  boost::asio::post(doc->strand(), [this, doc, m = std::move(m)]() mutable {
    if (m.kind == wire::Kind::Query) {
      doc->awareness_query();
    } else if (!doc->remote_awareness(m.node, m.peer, m.update)) {
      count_dropped();
    }
  });
}

}  // namespace collabio::core
