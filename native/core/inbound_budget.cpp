#include "core/inbound_budget.h"

#include <algorithm>

namespace collabio::core {

void InboundBudget::charge(uint64_t conn, uint64_t bytes, uint64_t events) {
  std::lock_guard lk(mu_);
  total_bytes_ += bytes;
  total_events_ += events;
  if (conn == 0) return;
  Entry& e = entry_locked(conn);
  e.bytes += bytes;
  e.events += events;
}

void InboundBudget::release(const std::vector<Charge>& charges) {
  std::vector<std::function<void()>> resumes;
  {
    std::lock_guard lk(mu_);
    const bool was_over_total = limits_.total_bytes != 0 && total_bytes_ >= limits_.total_bytes;
    for (const Charge& c : charges) {
      total_bytes_ -= std::min(total_bytes_, c.bytes);
      total_events_ -= std::min(total_events_, c.events);
      if (c.conn == 0) continue;
      const auto it = conns_.find(c.conn);
      if (it == conns_.end()) continue;
      Entry& e = it->second;
      e.bytes -= std::min(e.bytes, c.bytes);
      e.events -= std::min(e.events, c.events);
      maybe_resume_locked(c.conn, e, resumes);
      if (e.bytes == 0 && e.events == 0 && !e.resume) erase_locked(it);
    }
    // The total fell under its limit: connections paused only for it may read again.
    if (was_over_total && total_bytes_ < limits_.total_bytes) {
      for (const uint64_t id : std::vector<uint64_t>(paused_)) {
        const auto it = conns_.find(id);
        if (it != conns_.end()) maybe_resume_locked(id, it->second, resumes);
      }
    }
  }
  for (auto& fn : resumes) fn();
}

std::shared_ptr<void> InboundBudget::hold(uint64_t conn, uint64_t bytes) {
  charge(conn, bytes);
  // The handle points at this budget (never null, so that a handle tests true); its deleter
  // releases.
  return std::shared_ptr<void>(static_cast<void*>(this), [self = shared_from_this(), conn, bytes](void*) {
    self->release(conn, bytes);
  });
}

bool InboundBudget::pause_if_over(uint64_t conn, const MakeResume& make_resume) {
  std::lock_guard lk(mu_);
  const auto it = conns_.find(conn);
  if (it == conns_.end()) return false;  // nothing waiting: never over
  Entry& e = it->second;
  if (e.resume || !over_locked(e)) return false;
  e.resume = make_resume();
  paused_.push_back(conn);
  ++pauses_;
  return true;
}

InboundBudget::Stats InboundBudget::stats() const {
  std::lock_guard lk(mu_);
  return Stats{total_bytes_, total_events_, paused_.size(), pauses_};
}

InboundBudget::Entry& InboundBudget::entry_locked(uint64_t conn) {
  const auto it = conns_.find(conn);
  if (it != conns_.end()) return it->second;
  if (spare_.empty()) return conns_[conn];
  auto node = std::move(spare_.back());
  spare_.pop_back();
  node.key() = conn;
  return conns_.insert(std::move(node)).position->second;
}

void InboundBudget::erase_locked(std::unordered_map<uint64_t, Entry>::iterator it) {
  if (spare_.size() < kSpareEntries) {
    spare_.push_back(conns_.extract(it));  // blank: no bytes, no events, no resume callback
  } else {
    conns_.erase(it);
  }
}

bool InboundBudget::over_locked(const Entry& e) const {
  if (limits_.conn_bytes != 0 && e.bytes >= limits_.conn_bytes) return true;
  if (limits_.conn_events != 0 && e.events >= limits_.conn_events) return true;
  return limits_.total_bytes != 0 && total_bytes_ >= limits_.total_bytes && e.bytes > 0;
}

void InboundBudget::maybe_resume_locked(uint64_t id, Entry& e, std::vector<std::function<void()>>& out) {
  if (!e.resume || over_locked(e)) return;
  out.push_back(std::move(e.resume));
  e.resume = nullptr;
  const auto at = std::find(paused_.begin(), paused_.end(), id);
  if (at != paused_.end()) paused_.erase(at);
}

}  // namespace collabio::core
