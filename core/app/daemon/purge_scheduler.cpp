#include "app/daemon/purge_scheduler.h"

#include <spdlog/spdlog.h>

#include "store/clock.h"
#include "store/store.h"

namespace omniloop::app {

PurgeScheduler::PurgeScheduler(store::Store& store, store::RetentionPolicy policy,
                               std::chrono::microseconds interval, size_t max_rows)
    : store_(store),
      policy_(std::move(policy)),
      interval_(interval),
      max_rows_(std::max<size_t>(max_rows, 1)) {}

PurgeScheduler::~PurgeScheduler() {
  stop();
}

void PurgeScheduler::start() {
  if (policy_.empty() || thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
}

void PurgeScheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool PurgeScheduler::waitFor(std::chrono::microseconds d) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return stopping_; });
}

void PurgeScheduler::loop() {
  while (waitFor(interval_)) {
    const int64_t now = store::nowMicros();
    uint64_t total = 0;
    for (;;) {
      try {
        const store::PurgeReport r =
            store::purgeExpired(store_, policy_, false, max_rows_, now, "omniloopd:retention");
        for (const auto& c : r.deleted) total += c.rows;
        if (!r.more) break;
      } catch (const std::exception& e) {
        spdlog::warn("retention purge failed (tried again at the next round): {}", e.what());
        break;
      }
      if (!waitFor(std::chrono::milliseconds(200))) return;  // let the pipelines write
    }
    if (total > 0)
      spdlog::info("retention purge deleted {} rows (omniloop audit shows them per table)", total);
  }
}

}  // namespace omniloop::app
