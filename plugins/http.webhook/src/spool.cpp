#include "spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

namespace omniloop::webhook {

Spool::Spool(const std::string& dir) : path_(dir + "/webhook.spool") {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::runtime_error("cannot create spool directory '" + dir + "': " + ec.message());
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    throw std::runtime_error("cannot open spool '" + path_ + "': " + std::strerror(errno));
  }
  // Cut a torn last line (a crash inside write()): it was never acknowledged.
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && st.st_size > 0) {
    off_t end = st.st_size;
    char c = 0;
    if (::pread(fd_, &c, 1, end - 1) == 1 && c != '\n') {
      char block[4096];
      off_t pos = end;
      off_t keep = 0;
      while (pos > 0 && keep == 0) {
        const off_t from = pos > static_cast<off_t>(sizeof block) ? pos - sizeof block : 0;
        const ssize_t n = ::pread(fd_, block, static_cast<size_t>(pos - from), from);
        if (n <= 0) break;
        for (ssize_t i = n - 1; i >= 0; --i) {
          if (block[i] == '\n') {
            keep = from + i + 1;
            break;
          }
        }
        pos = from;
      }
      if (::ftruncate(fd_, keep) != 0 || ::fdatasync(fd_) != 0) {
        throw std::runtime_error("cannot repair spool '" + path_ + "': " + std::strerror(errno));
      }
    }
  }
  // The ids already spooled, so a redelivery after a crash is recognised.
  {
    std::string text;
    char block[65536];
    off_t pos = 0;
    for (;;) {
      const ssize_t n = ::pread(fd_, block, sizeof block, pos);
      if (n <= 0) break;
      text.append(block, static_cast<size_t>(n));
      pos += n;
      size_t start = 0;
      for (size_t nl; (nl = text.find('\n', start)) != std::string::npos; start = nl + 1) {
        constexpr std::string_view kHead = "{\"id\":\"";
        const std::string_view line(text.data() + start, nl - start);
        if (line.substr(0, kHead.size()) != kHead) continue;
        const size_t end = line.find('"', kHead.size());
        if (end != std::string_view::npos)
          ids_.emplace(line.substr(kHead.size(), end - kHead.size()));
      }
      text.erase(0, start);
    }
  }
  // Make the file's directory entry durable too.
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

bool Spool::append(std::string_view line, std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  return appendLocked(line, error);
}

bool Spool::appendOnce(const std::string& id, std::string_view line, bool* duplicate,
                       std::string* error) {
  std::lock_guard<std::mutex> lock(mu_);
  *duplicate = ids_.count(id) > 0;
  if (*duplicate) return true;
  if (!appendLocked(line, error)) return false;
  ids_.insert(id);
  return true;
}

bool Spool::appendLocked(std::string_view line, std::string* error) {
  std::string buf(line);
  buf.push_back('\n');
  size_t done = 0;
  while (done < buf.size()) {
    const ssize_t n = ::write(fd_, buf.data() + done, buf.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("cannot write the spool: ") + std::strerror(errno);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) {
    *error = std::string("cannot sync the spool: ") + std::strerror(errno);
    return false;
  }
  return true;
}

}  // namespace omniloop::webhook
