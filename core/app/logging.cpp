// Logging: every logger (the program's default one and one per pipeline) writes through one
// shared distribution sink, so a reload swaps the output (stderr or a rotating file) and the
// format for all of them at once, including pipeline loggers created before the reload.
#include "app/logging.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <stdexcept>
#include <utility>
#include <vector>

#include <spdlog/details/os.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/dist_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "omniloop/redact.hpp"

namespace omniloop::app {

namespace {

constexpr std::size_t kMaxFileBytes = 10 * 1024 * 1024;
constexpr std::size_t kMaxFiles = 5;
constexpr const char* kTextPattern = "%Y-%m-%dT%H:%M:%S.%e%z %l %n: %v";
// RateLimiter: from this many keys on, keys whose window is over with nothing pending are dropped.
constexpr std::size_t kRateLimiterPurgeAt = 4096;

spdlog::level::level_enum parseLevel(const std::string& level) {
  if (level == "trace") return spdlog::level::trace;
  if (level == "debug") return spdlog::level::debug;
  if (level == "info") return spdlog::level::info;
  if (level == "warn" || level == "warning") return spdlog::level::warn;
  if (level == "error") return spdlog::level::err;
  throw std::invalid_argument("log.level: unknown level '" + level +
                              "': use trace, debug, info, warn or error");
}

void append(spdlog::memory_buf_t& out, std::string_view s) {
  out.append(s.data(), s.data() + s.size());
}

// Length of the well-formed UTF-8 sequence at s[i], or 0 when the byte there starts none
// (stray continuation byte, overlong form, surrogate, beyond U+10FFFF, truncated).
std::size_t utf8SequenceLength(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  std::size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return len;
}

// Appends s as a JSON string (with the quotes). Control characters are escaped; bytes that are
// not well-formed UTF-8 become U+FFFD so every line stays valid JSON.
void appendJsonString(spdlog::memory_buf_t& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"': append(out, "\\\""); break;
        case '\\': append(out, "\\\\"); break;
        case '\n': append(out, "\\n"); break;
        case '\r': append(out, "\\r"); break;
        case '\t': append(out, "\\t"); break;
        case '\b': append(out, "\\b"); break;
        case '\f': append(out, "\\f"); break;
        default:
          if (c < 0x20 || c == 0x7F) {
            const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
            out.append(esc, esc + sizeof esc);
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    const std::size_t len = utf8SequenceLength(s, i);
    if (len == 0) {
      append(out, "\\ufffd");
      ++i;
    } else {
      append(out, s.substr(i, len));
      i += len;
    }
  }
  out.push_back('"');
}

// {"ts":"2024-05-01T12:00:00.123Z","level":"info","logger":"omniloopd","msg":"..."}
// Timestamps are UTC so lines from hosts in different zones sort together in a collector.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    using namespace std::chrono;
    const auto since_epoch = msg.time.time_since_epoch();
    auto secs = duration_cast<seconds>(since_epoch);
    auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
    if (millis < 0) {  // before 1970: floor, not truncate
      secs -= seconds(1);
      millis += 1000;
    }
    const std::tm tm = spdlog::details::os::gmtime(static_cast<std::time_t>(secs.count()));
    char ts[48];
    const int n = std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                tm.tm_min, tm.tm_sec, static_cast<int>(millis));
    append(dest, "{\"ts\":\"");
    if (n > 0 && static_cast<std::size_t>(n) < sizeof ts) dest.append(ts, ts + n);
    append(dest, "\",\"level\":");
    const auto level = spdlog::level::to_string_view(msg.level);
    appendJsonString(dest, std::string_view(level.data(), level.size()));
    append(dest, ",\"logger\":");
    appendJsonString(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    append(dest, ",\"msg\":");
    appendJsonString(dest, std::string_view(msg.payload.data(), msg.payload.size()));
    append(dest, "}\n");
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// Every log line, ours and the plugins', goes through omniloop's one redaction
// (omniloop/redact.hpp) before it is formatted: a connection string or URI with a password that
// reaches a message anyway is printed with [secret].
class RedactingFormatter final : public spdlog::formatter {
 public:
  explicit RedactingFormatter(std::unique_ptr<spdlog::formatter> inner)
      : inner_(std::move(inner)) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const std::string redacted = sdk::redactSecrets(payload);
    if (redacted == payload) {
      inner_->format(msg, dest);
      return;
    }
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(redacted.data(), redacted.size());
    inner_->format(copy, dest);
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<RedactingFormatter>(inner_->clone());
  }

 private:
  std::unique_ptr<spdlog::formatter> inner_;
};

std::unique_ptr<spdlog::formatter> makeFormatter(const std::string& format) {
  if (format == "text") {
    return std::make_unique<RedactingFormatter>(
        std::make_unique<spdlog::pattern_formatter>(kTextPattern));
  }
  if (format == "json") return std::make_unique<RedactingFormatter>(std::make_unique<JsonFormatter>());
  throw std::invalid_argument("log.format: unknown format '" + format + "': use text or json");
}

// The distribution sink all our loggers share, and the level they run at.
struct State {
  std::mutex mu;
  std::shared_ptr<spdlog::sinks::dist_sink_mt> sink;
  spdlog::level::level_enum level = spdlog::level::info;
};

State& state() {
  static State s;
  return s;
}

// With s.mu held. Before setupLogging: stderr, text, info.
std::shared_ptr<spdlog::sinks::dist_sink_mt> sharedSinkLocked(State& s) {
  if (!s.sink) {
    auto out = std::make_shared<spdlog::sinks::stderr_sink_st>();
    out->set_formatter(makeFormatter("text"));
    s.sink = std::make_shared<spdlog::sinks::dist_sink_mt>(
        std::vector<std::shared_ptr<spdlog::sinks::sink>>{out});
  }
  return s.sink;
}

}  // namespace

void setupLogging(const config::LogConfig& config, std::string_view program) {
  // Everything that can fail happens before the running configuration is touched, so a reload
  // with a bad log section keeps logging where it did.
  const spdlog::level::level_enum level = parseLevel(config.level);
  std::unique_ptr<spdlog::formatter> formatter = makeFormatter(config.format);
  std::shared_ptr<spdlog::sinks::sink> out;
  if (config.file.empty()) {
    out = std::make_shared<spdlog::sinks::stderr_sink_st>();
  } else {
    try {
      out = std::make_shared<spdlog::sinks::rotating_file_sink_st>(config.file, kMaxFileBytes,
                                                                    kMaxFiles);
    } catch (const spdlog::spdlog_ex& e) {
      throw std::runtime_error("log.file: cannot open " + config.file + ": " + e.what() +
                               ": make its directory writable by the service user, or remove "
                               "log.file to log to standard error");
    }
  }
  out->set_formatter(std::move(formatter));

  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto shared = sharedSinkLocked(s);
  shared->set_sinks({out});
  s.level = level;

  auto logger = std::make_shared<spdlog::logger>(std::string(program.empty() ? "omniloop" : program),
                                                 shared);
  logger->set_level(level);
  // Few lines (never one per event at info): write each one through, so `tail -f` and a crash
  // lose nothing.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  // Every registered logger (pipeline loggers included) follows the configured level.
  spdlog::set_level(level);
  spdlog::flush_on(spdlog::level::trace);
}

std::shared_ptr<spdlog::logger> pipelineLogger(std::string_view pipeline) {
  std::string name = "pipeline.";
  name += pipeline;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (auto existing = spdlog::get(name)) return existing;
  auto logger = std::make_shared<spdlog::logger>(std::move(name), sharedSinkLocked(s));
  logger->set_level(s.level);
  logger->flush_on(spdlog::level::trace);
  spdlog::register_logger(logger);
  return logger;
}

RateLimiter::RateLimiter(int burst, std::chrono::seconds window)
    : burst_(burst < 1 ? 1 : burst), window_(window), purge_at_(kRateLimiterPurgeAt) {}

bool RateLimiter::allow(std::string_view key, uint64_t& suppressed) {
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = slots_.find(std::string(key));
  if (it == slots_.end()) {
    if (slots_.size() >= purge_at_) {
      for (auto s = slots_.begin(); s != slots_.end();) {
        if (s->second.suppressed == 0 && now - s->second.window_start >= window_) {
          s = slots_.erase(s);
        } else {
          ++s;
        }
      }
      // Amortised: the next sweep waits until the map has grown again by as much.
      purge_at_ = std::max(kRateLimiterPurgeAt, 2 * slots_.size());
    }
    it = slots_.emplace(std::string(key), Slot{now, 0, 0}).first;
  }
  Slot& slot = it->second;
  if (now - slot.window_start >= window_) {
    slot.window_start = now;
    slot.count = 0;
  }
  if (slot.count < burst_) {
    ++slot.count;
    suppressed = slot.suppressed;
    slot.suppressed = 0;
    return true;
  }
  ++slot.suppressed;
  suppressed = 0;
  return false;
}

}  // namespace omniloop::app
