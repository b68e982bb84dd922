#include "jsonl_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

namespace omniloop::files {

namespace {
constexpr size_t kFlushThreshold = 1 << 20;  // write out once this much is pending
}  // namespace

JsonlSink::JsonlSink(const sdk::Config& config)
    : path_(config.str("path")), fsync_(config.boolean("fsync", false)) {
  if (path_.empty()) throw sdk::Error("file.jsonl sink: option 'path' must not be empty");
  const bool append = config.boolean("append", true);
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
      throw sdk::Error("file.jsonl sink: cannot create the directory '" + parent.string() +
                       "': " + ec.message());
    }
  }
  // Owner-only permissions: the lines carry whatever personal data the events hold.
  const int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  fd_ = ::open(path_.c_str(), flags, 0600);
  if (fd_ < 0) {
    throw sdk::Error("file.jsonl sink: cannot open '" + path_ + "' for writing: " +
                     std::strerror(errno));
  }
  buf_.reserve(kFlushThreshold + 64 * 1024);
}

JsonlSink::~JsonlSink() {
  if (fd_ >= 0) {
    try {
      drain();
    } catch (...) {
      // Nothing to report to at teardown; the host flushed before committing anyway.
    }
    ::close(fd_);
  }
}

void JsonlSink::write(sdk::BatchView& batch) {
  for (sdk::EventView ev : batch) {
    if (!ev.live()) continue;
    ev.toJson(line_);
    buf_ += line_;
    buf_ += '\n';
  }
  if (buf_.size() >= kFlushThreshold) {
    // A failure here would make the host retry write() and buffer this batch twice: keep the
    // lines and let flush() (which runs before every commit) retry and report.
    try {
      drain();
    } catch (const sdk::Error&) {
    }
  }
}

void JsonlSink::drain() {
  size_t done = 0;
  while (done < buf_.size()) {
    const ssize_t n = ::write(fd_, buf_.data() + done, buf_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      buf_.erase(0, done);  // keep what is not written yet
      const std::string msg =
          "file.jsonl sink: cannot write '" + path_ + "': " + std::strerror(err);
      if (err == ENOSPC || err == EAGAIN || err == EDQUOT) throw sdk::Retry(msg);
      throw sdk::Error(msg);
    }
    done += static_cast<size_t>(n);
  }
  buf_.clear();
}

void JsonlSink::flush() {
  drain();
  if (fsync_ && ::fdatasync(fd_) != 0) {
    throw sdk::Error("file.jsonl sink: cannot sync '" + path_ + "': " + std::strerror(errno));
  }
}

}  // namespace omniloop::files
