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

bool FileReader::open(std::string* error) {
  close();
  begin_ = end_ = 0;
  base_ = 0;
  int fd = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open '" + path_ + "': " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = "'" + path_ + "' is not a regular file";
    return false;
  }
  fd_ = fd;
  inode_ = static_cast<uint64_t>(st.st_ino);
  return true;
}

bool FileReader::seek(uint64_t offset, std::string* error) {
  if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
    *error = "cannot seek in '" + path_ + "': " + std::strerror(errno);
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
    *error = "cannot read '" + path_ + "': " + std::strerror(errno);
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
