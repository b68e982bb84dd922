#pragma once
// Counts by (family, label) that a pipeline's components report through event::Batch::count:
// why events were dropped or identities rejected ("consent_denied" by purpose,
// "identity_rejected" by reason, "suppressed" by identity type, ...). The run summary,
// /metrics and /v1/pipelines show every family without knowing them in advance.
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "event/event.h"

namespace omniloop::pipeline {

// (family, label) -> count, ordered so every rendering is stable.
using ReasonCounts = std::map<std::pair<std::string, std::string>, uint64_t>;

// Thread-safe: the worker thread adds once per batch, readers (admin API, progress) snapshot.
class ReasonCounters {
 public:
  void add(const event::Batch& batch) {
    if (batch.tallies().empty()) return;
    std::lock_guard lock(mu_);
    for (const event::Batch::Tally& t : batch.tallies()) {
      counts_[{std::string(t.family), std::string(t.label)}] += t.n;
    }
  }
  void add(const ReasonCounts& other) {
    std::lock_guard lock(mu_);
    for (const auto& [key, n] : other) counts_[key] += n;
  }
  ReasonCounts snapshot() const {
    std::lock_guard lock(mu_);
    return counts_;
  }

 private:
  mutable std::mutex mu_;
  ReasonCounts counts_;
};

// Adds `from` into `into`.
inline void addCounts(ReasonCounts& into, const ReasonCounts& from) {
  for (const auto& [key, n] : from) into[key] += n;
}

}  // namespace omniloop::pipeline
