#pragma once
// omniloopd's retention purge: every `interval`, store::purgeExpired in rounds of at most
// `max_rows` events (a short pause between rounds lets pipelines write), until nothing more
// is due. Each round is audited. Runs on a thread of its own; stop() wakes and joins it.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "store/subject_rights.h"

namespace omniloop::store {
class Store;
}

namespace omniloop::app {

class PurgeScheduler {
 public:
  PurgeScheduler(store::Store& store, store::RetentionPolicy policy,
                 std::chrono::microseconds interval, size_t max_rows);
  ~PurgeScheduler();
  PurgeScheduler(const PurgeScheduler&) = delete;
  PurgeScheduler& operator=(const PurgeScheduler&) = delete;

  void start();
  void stop();

 private:
  void loop();
  // Waits `d` or until stop(); false when stopping.
  bool waitFor(std::chrono::microseconds d);

  store::Store& store_;
  store::RetentionPolicy policy_;
  std::chrono::microseconds interval_;
  size_t max_rows_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace omniloop::app
