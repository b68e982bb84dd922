#include "file_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace omniloop::files {

FileReader::FileReader(std::string path, size_t block_size, size_t max_record_bytes)
    : path_(std::move(path)),
      capacity_(std::max<size_t>(block_size, 4096)),
      max_record_bytes_(std::max(max_record_bytes, capacity_)),
      buf_(new char[capacity_ + kPadding]) {
  std::memset(buf_.get(), 0, capacity_ + kPadding);
}

FileReader::~FileReader() { close(); }

void FileReader::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool FileReader::openFile(const std::string& file, std::string* error) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open '" + file + "': " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = "'" + file + "' is not a regular file";
    return false;
  }
  close();
  begin_ = end_ = 0;
  base_ = 0;
  fd_ = fd;
  file_ = file;
  inode_ = static_cast<uint64_t>(st.st_ino);
  return true;
}

namespace {

// FNV-1a, 64 bit: enough to tell the files of one source apart, and cheap (it runs once per
// file, over at most kFingerprintBytes).
uint64_t fnv1a(const char* data, size_t n) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 1099511628211ull;
  }
  return h == 0 ? 1 : h;
}

bool fingerprintFd(int fd, size_t lines, bool whole, uint64_t* out) {
  char buf[FileReader::kFingerprintBytes];
  size_t have = 0;
  while (have < sizeof buf) {
    const ssize_t n = ::pread(fd, buf + have, sizeof buf - have, static_cast<off_t>(have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  size_t end = 0;
  size_t seen = 0;
  while (seen < lines) {
    const void* lf = std::memchr(buf + end, '\n', have - end);
    if (lf == nullptr) break;
    end = static_cast<size_t>(static_cast<const char*>(lf) - buf) + 1;
    ++seen;
  }
  if (seen < lines) {
    if (have == sizeof buf) {
      end = have;  // the prefix is longer than the cap: the cap is the prefix
    } else if (whole && have > 0) {
      end = have;
    } else {
      return false;
    }
  }
  *out = fnv1a(buf, end);
  return true;
}

}  // namespace

bool FileReader::fingerprint(size_t lines, bool whole, uint64_t* out) const {
  return fd_ >= 0 && fingerprintFd(fd_, lines, whole, out);
}

bool FileReader::fingerprintOf(const std::string& file, size_t lines, bool whole, uint64_t* out,
                               uint64_t* inode, uint64_t* size) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok) {
    *inode = static_cast<uint64_t>(st.st_ino);
    *size = static_cast<uint64_t>(st.st_size);
    ok = fingerprintFd(fd, lines, whole, out);
  }
  ::close(fd);
  return ok;
}

bool FileReader::seek(uint64_t offset, std::string* error) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    *error = "cannot seek in '" + file_ + "': " + std::strerror(errno);
    return false;
  }
  begin_ = end_ = 0;
  base_ = offset;
  return true;
}

FileReader::Fill FileReader::fill(std::string* error) {
  if (begin_ > 0) {  // keep the unread tail (at most one partial record) at the front
    std::memmove(buf_.get(), buf_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    base_ += begin_;
    begin_ = 0;
  }
  if (end_ == capacity_) {
    if (capacity_ >= max_record_bytes_) return Fill::kFull;
    size_t grown = std::min(capacity_ * 2, max_record_bytes_);
    std::unique_ptr<char[]> bigger(new char[grown + kPadding]);
    std::memcpy(bigger.get(), buf_.get(), end_);
    std::memset(bigger.get() + end_, 0, grown + kPadding - end_);
    buf_ = std::move(bigger);
    capacity_ = grown;
  }
  for (;;) {
    ssize_t n = ::read(fd_, buf_.get() + end_, capacity_ - end_);
    if (n > 0) {
      end_ += static_cast<size_t>(n);
      return Fill::kData;
    }
    if (n == 0) return Fill::kEof;
    if (errno == EINTR) continue;
    *error = "cannot read '" + file_ + "': " + std::strerror(errno);
    return Fill::kError;
  }
}

FileReader::Change FileReader::detectChange() const {
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) != inode_) {
    return Change::kRotated;
  }
  // (A path that is momentarily missing during rotation is not a change yet.)
  if (fileSize() < base_ + end_) return Change::kTruncated;
  return Change::kNone;
}

uint64_t FileReader::fileSize() const {
  struct stat st {};
  if (fd_ < 0 || ::fstat(fd_, &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

uint64_t FileReader::countNewlinesBefore(uint64_t offset) const {
  std::vector<char> block(1 << 20);
  uint64_t count = 0;
  uint64_t pos = 0;
  while (pos < offset) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(block.size(), offset - pos));
    ssize_t n = ::pread(fd_, block.data(), want, static_cast<off_t>(pos));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    count += static_cast<uint64_t>(std::count(block.data(), block.data() + n, '\n'));
    pos += static_cast<uint64_t>(n);
  }
  return count;
}

}  // namespace omniloop::files
