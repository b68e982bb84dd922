#pragma once
// Reads one file in large blocks into a reusable, padded buffer and exposes the unread bytes as
// a window the record parsers consume from. No allocation per record: the buffer only grows
// when one record is larger than it (up to max_record_bytes).
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace omniloop::files {

class FileReader {
 public:
  // Readable bytes guaranteed after the end of the window (simdjson needs 64).
  static constexpr size_t kPadding = 64;

  FileReader(std::string path, size_t block_size, size_t max_record_bytes);
  ~FileReader();
  FileReader(const FileReader&) = delete;
  FileReader& operator=(const FileReader&) = delete;

  // Opens the path (again) and positions at 0. On failure returns false and sets `error` to a
  // message naming the path and the OS reason.
  bool open(std::string* error) { return openFile(path_, error); }
  // Opens another file in place of the path (a rotated sibling being drained), at 0. path()
  // still names the configured path; file() names the one open.
  bool openFile(const std::string& file, std::string* error);
  // Positions at an absolute offset of the open file, dropping the window.
  bool seek(uint64_t offset, std::string* error);

  enum class Fill { kData, kEof, kFull, kError };
  // Appends the next block to the window. kFull: the window already holds max_record_bytes.
  Fill fill(std::string* error);

  std::string_view window() const { return {buf_.get() + begin_, end_ - begin_}; }
  char* windowData() { return buf_.get() + begin_; }
  // Absolute file offset of window().data().
  uint64_t offset() const { return base_ + begin_; }
  void consume(size_t n) { begin_ += n; }
  // Bytes readable from p (inside the window) to the end of the allocation, padding included.
  size_t capacityFrom(const char* p) const {
    return static_cast<size_t>(buf_.get() + capacity_ + kPadding - p);
  }

  enum class Change { kNone, kRotated, kTruncated };
  // Follow mode, called at EOF: has the path been replaced by another file (rotation), or has the
  // open file become shorter than what was read (truncation)?
  Change detectChange() const;

  uint64_t inode() const { return inode_; }
  uint64_t fileSize() const;
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }

  // A file's identity that survives rename, restart and copytruncate: a 64-bit hash (never 0)
  // of its first `lines` lines, at most kFingerprintBytes. Returns false when the file does not
  // hold that prefix yet, unless `whole`: then the bytes there are (up to the cap) are hashed.
  static constexpr size_t kFingerprintBytes = 4096;
  bool fingerprint(size_t lines, bool whole, uint64_t* out) const;
  // The same for a file given by name; also reports its inode and size. False when the file
  // cannot be read or (without `whole`) does not hold the prefix yet.
  static bool fingerprintOf(const std::string& file, size_t lines, bool whole, uint64_t* out,
                            uint64_t* inode, uint64_t* size);
  // Newlines in [0, offset) of the open file (line numbers for messages after a resume).
  uint64_t countNewlinesBefore(uint64_t offset) const;

 private:
  void close();

  std::string path_;
  std::string file_;  // the file open: path_, or a rotated sibling being drained
  size_t capacity_;
  size_t max_record_bytes_;
  std::unique_ptr<char[]> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  uint64_t base_ = 0;  // file offset of buf_[0]
  int fd_ = -1;
  uint64_t inode_ = 0;
};

}  // namespace omniloop::files
