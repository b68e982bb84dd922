#pragma once
// Logging for the CLI and the daemon: spdlog to stderr (journald picks it up) or to a rotating
// file; `text` or `json` lines; one logger per pipeline ("pipeline.<name>"); repeated errors
// rate-limited. Never log personal data: ids, counts, hashes only.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "config/loader.h"

namespace omniloop::app {

// Installs the default logger from the config (level, format, file). Safe to call again (reload).
void setupLogging(const config::LogConfig& config, std::string_view program);
// The logger of one pipeline, sharing the default logger's sinks.
std::shared_ptr<spdlog::logger> pipelineLogger(std::string_view pipeline);

// Lets the first `burst` messages per key through in each `window`, then counts the rest and
// reports "(N similar messages suppressed)" with the next one let through.
class RateLimiter {
 public:
  explicit RateLimiter(int burst = 5, std::chrono::seconds window = std::chrono::seconds(60));
  // Returns true when a message for `key` may be logged; `suppressed` receives how many were
  // dropped since the last one let through.
  bool allow(std::string_view key, uint64_t& suppressed);

 private:
  struct Slot {
    std::chrono::steady_clock::time_point window_start;
    int count = 0;
    uint64_t suppressed = 0;
  };
  int burst_;
  std::chrono::seconds window_;
  std::mutex mu_;
  std::unordered_map<std::string, Slot> slots_;
  std::size_t purge_at_;  // slot count at which keys idle for a window are dropped
};

}  // namespace omniloop::app
