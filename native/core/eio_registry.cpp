#include "core/eio_registry.h"

#include "core/server_impl.h"

namespace collabio::core {

std::shared_ptr<EioRegistry> make_eio_registry() { return std::make_shared<EioRegistry>(); }

void EioRegistry::add(const std::string& sid, const std::shared_ptr<EioConnection>& s) {
  std::lock_guard lk(mu_);
  sessions_[sid] = s;
}

std::shared_ptr<EioConnection> EioRegistry::find(std::string_view sid) {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(std::string(sid));
  return it == sessions_.end() ? nullptr : it->second.lock();
}

void EioRegistry::remove(const std::string& sid, const EioConnection* which) {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(sid);
  if (it == sessions_.end()) return;
  auto s = it->second.lock();
  if (!s || s.get() == which) sessions_.erase(it);
}

std::vector<std::shared_ptr<EioConnection>> EioRegistry::all() {
  std::lock_guard lk(mu_);
  std::vector<std::shared_ptr<EioConnection>> out;
  out.reserve(sessions_.size());
  for (auto& [sid, w] : sessions_)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

uint64_t EioRegistry::add_pending(Continuation k) {
  std::lock_guard lk(mu_);
  const uint64_t id = next_request_++;
  pending_.emplace(id, std::move(k));
  return id;
}

EioRegistry::Continuation EioRegistry::take_pending(uint64_t id) {
  std::lock_guard lk(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return {};
  Continuation k = std::move(it->second);
  pending_.erase(it);
  return k;
}

std::vector<EioRegistry::Continuation> EioRegistry::take_all_pending() {
  std::lock_guard lk(mu_);
  std::vector<Continuation> out;
  out.reserve(pending_.size());
  for (auto& [id, k] : pending_) out.push_back(std::move(k));
  pending_.clear();
  return out;
}

}  // namespace collabio::core
