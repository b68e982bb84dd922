#pragma once
// The durable spool between the HTTP endpoint and the pipeline: one line per accepted request,
//   {"id":"<delivery id>","received_at":<µs>,"body":<the body, compact JSON>}
// appended with one write() and made durable (fdatasync) before the sender gets its 2xx. The
// source reads it with filetail like any followed file, so an accepted event survives kill -9.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace omniloop::webhook {

class Spool {
 public:
  // Creates <dir>/webhook.spool (and dir) if needed. A last line left incomplete by a crash
  // (never acknowledged: the 2xx comes after the fsync) is cut off. Throws std::runtime_error.
  explicit Spool(const std::string& dir);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  const std::string& path() const { return path_; }
  // Appends one line (without its LF) durably. Thread-safe. false + error on failure.
  bool append(std::string_view line, std::string* error);

 private:
  std::string path_;
  int fd_ = -1;
  std::mutex mu_;
};

}  // namespace omniloop::webhook
