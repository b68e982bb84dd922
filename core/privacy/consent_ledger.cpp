#include "privacy/consent_ledger.h"

#include <cstring>

namespace omniloop::privacy {

void ConsentLedger::makeKey(std::string& out, std::string_view pseudonym,
                            std::string_view purpose) {
  out.clear();
  out.append(pseudonym);
  out.push_back('\x1f');
  out.append(purpose);
}

bool ConsentLedger::apply(std::string_view pseudonym, std::string_view purpose,
                          event::ConsentStatus status, int64_t captured_at) {
  if (status == event::ConsentStatus::Unknown || pseudonym.empty() || purpose.empty()) {
    return false;
  }
  std::string key;
  makeKey(key, pseudonym, purpose);
  std::unique_lock lock(mutex_);
  auto [it, inserted] = entries_.try_emplace(std::move(key), Entry{status, captured_at});
  if (!inserted) {
    Entry& e = it->second;
    const bool newer = captured_at > e.captured_at ||
                       (captured_at == e.captured_at && status == event::ConsentStatus::Denied &&
                        e.status != status);
    if (!newer) return false;
    e = Entry{status, captured_at};
  }
  version_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

bool ConsentLedger::lookup(std::string_view pseudonym, std::string_view purpose, Entry& out) const {
  // Keys are built on the stack for typical pseudonyms (h1:<8>:<64> = 76 bytes + purpose).
  char buf[192];
  std::string heap;
  std::string_view key;
  if (pseudonym.size() + purpose.size() + 1 <= sizeof buf) {
    std::memcpy(buf, pseudonym.data(), pseudonym.size());
    buf[pseudonym.size()] = '\x1f';
    std::memcpy(buf + pseudonym.size() + 1, purpose.data(), purpose.size());
    key = std::string_view(buf, pseudonym.size() + 1 + purpose.size());
  } else {
    makeKey(heap, pseudonym, purpose);
    key = heap;
  }
  std::shared_lock lock(mutex_);
  const auto it = entries_.find(key);
  if (it == entries_.end()) return false;
  out = it->second;
  return true;
}

size_t ConsentLedger::size() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

void ConsentLedger::setRefresher(std::function<void(ConsentLedger&)> load,
                                 std::chrono::milliseconds interval) {
  std::lock_guard lock(refresh_mutex_);
  load_ = std::move(load);
  interval_ = interval;
  next_refresh_ns_.store(0, std::memory_order_release);
}

void ConsentLedger::maybeRefresh() {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (now < next_refresh_ns_.load(std::memory_order_acquire)) return;
  std::unique_lock lock(refresh_mutex_, std::try_to_lock);
  if (!lock.owns_lock() || !load_) return;
  next_refresh_ns_.store(
      now + std::chrono::duration_cast<std::chrono::nanoseconds>(interval_).count(),
      std::memory_order_release);
  try {
    load_(*this);
  } catch (...) {
    // keep the schedule: a store that is down is asked again after the interval
  }
}

}  // namespace omniloop::privacy
