#pragma once
// The consent ledger's in-memory view: for each (pseudonymised identity, purpose) the newest
// consent decision recorded for it. The CDP store owns one per process (Store::consentLedger),
// fills it from the `consents` table when it opens, applies the records of each batch once the
// batch's transaction has committed, and loads other processes' records when refresh() is due
// (see docs/privacy.md "Consent ledger"). The consent stage reads it. Thread-safe.
//
// Newest captured_at wins: a record older than the one held is ignored (an older record that
// arrives later never overrides a newer one). On an exact tie a denial wins over a grant.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "event/event.h"

namespace omniloop::privacy {

class ConsentLedger {
 public:
  struct Entry {
    event::ConsentStatus status = event::ConsentStatus::Unknown;
    int64_t captured_at = 0;  // UTC micros
  };

  // Applies one record; returns true when it became the current decision for its key.
  bool apply(std::string_view pseudonym, std::string_view purpose, event::ConsentStatus status,
             int64_t captured_at);
  // The current decision for (pseudonym, purpose); false when the ledger has none.
  bool lookup(std::string_view pseudonym, std::string_view purpose, Entry& out) const;
  size_t size() const;
  // Bumped by every apply() that changed a decision.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  // `load` reads records other processes committed since the last call and apply()s them; it
  // runs from maybeRefresh() at most once per `interval` (one caller at a time; the others go
  // on with the view they have). Exceptions from `load` are swallowed and retried next time.
  void setRefresher(std::function<void(ConsentLedger&)> load, std::chrono::milliseconds interval);
  void maybeRefresh();
  std::chrono::milliseconds refreshInterval() const { return interval_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  static void makeKey(std::string& out, std::string_view pseudonym, std::string_view purpose);

  mutable std::shared_mutex mutex_;
  std::unordered_map<std::string, Entry, Hash, std::equal_to<>> entries_;
  std::atomic<uint64_t> version_{0};

  std::mutex refresh_mutex_;
  std::function<void(ConsentLedger&)> load_;
  std::chrono::milliseconds interval_{0};
  std::atomic<int64_t> next_refresh_ns_{0};
};

}  // namespace omniloop::privacy
