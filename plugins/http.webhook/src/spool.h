#pragma once
// The durable spool between the HTTP endpoint and the pipeline: one line per accepted request,
//   {"id":"<delivery id>","received_at":<µs>,"body":<the body, compact JSON>}
// appended with one write() and made durable (fdatasync) before the sender gets its 2xx. The
// source reads it with filetail like any followed file, so an accepted event survives kill -9.
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>

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
  // The same for a request with the sender's delivery id: a redelivery of an id already in the
  // spool (a retry after an answer lost to a crash) is not written again; *duplicate says so.
  bool appendOnce(const std::string& id, std::string_view line, bool* duplicate,
                  std::string* error);

 private:
  std::string path_;
  bool appendLocked(std::string_view line, std::string* error);

  int fd_ = -1;
  std::mutex mu_;
  std::unordered_set<std::string> ids_;  // delivery ids in the spool (read back at start)
};

}  // namespace omniloop::webhook
