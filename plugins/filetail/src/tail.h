#pragma once
// Follows one append-only text file record by record, the way a PBX or an exporter writes it:
//  - the cursor is the file's identity (a hash of its first bytes, up to kFingerprintBytes) plus
//    the offset and line number just after the last complete record handed out;
//  - an incomplete last record (no line end yet) is never handed out while following: it waits;
//    in batch mode, a file that ends inside a record yields it once as kPartialAtEnd;
//  - rotation by rename-and-create: at EOF the old file is read to its end, then the new one
//    from 0; a restart finds an unfinished rotated file at <path>.1 through its fingerprint;
//  - rotation by copytruncate (the file shrinks, or its first bytes change): read again from 0.
// No host calls: the plugin turns notices into log lines and records into events.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace omniloop::filetail {

struct Cursor {
  uint64_t fingerprint = 0;  // FNV-1a of the first fp_len bytes
  uint64_t fp_len = 0;       // bytes hashed (the file may have been shorter than the maximum)
  uint64_t offset = 0;       // byte after the last complete record
  uint64_t line = 1;         // line number at `offset`
  std::string path;          // the file being read when the cursor was taken (informative)
};

std::string formatCursor(const Cursor& c);
// nullopt when the text is not a cursor this library wrote.
std::optional<Cursor> parseCursor(std::string_view text);

// Length of the first complete record of `window`, its terminator included, or 0 when the window
// holds none yet. at_eof: no more bytes will come (a framer may then fall back to a plain line).
using Framer = std::function<size_t(std::string_view window, bool at_eof)>;
// One record per LF-terminated line.
size_t frameLine(std::string_view window, bool at_eof);

class Tail {
 public:
  static constexpr size_t kFingerprintBytes = 256;

  Tail(std::string path, bool follow, Framer framer, size_t max_record_bytes = 1 << 20);
  ~Tail();
  Tail(const Tail&) = delete;
  Tail& operator=(const Tail&) = delete;

  // Opens the path. Throws std::runtime_error naming the path when it cannot be read.
  void open();
  // Positions after a committed cursor. Returns a notice ("" when the cursor applies as it is).
  // Throws std::runtime_error when the text is not a cursor of this library.
  std::string resume(std::string_view cursor);

  struct Record {
    std::string_view text;  // without its line end (LF or CRLF); valid until the next call
    uint64_t line = 0;      // 1-based line number of its first line
    uint64_t offset = 0;    // byte offset of its start
    bool oversize = false;  // longer than max_record_bytes: text is only its first line
  };
  enum class Next {
    kRecord,        // *out holds a record
    kIdle,          // following: nothing complete now
    kPartialAtEnd,  // the file ends inside a record (batch mode, or a rotated file): *out holds it
    kEnd,           // batch mode: read to the end
  };
  Next next(Record* out);
  // Gives the record just returned back (the batch was full): the next call returns it again.
  void unread();

  // The cursor after the last record handed out (and not given back).
  std::string cursor() const;
  const std::string& path() const { return path_; }
  // Called with a one-line notice on rotation, truncation and restarts (no record content).
  void onNotice(std::function<void(const std::string&)> fn) { notice_ = std::move(fn); }

 private:
  bool openFile(const std::string& path, std::string* error);
  void closeFile();
  void restartAtZero();
  bool fillMore(bool* eof);  // false at EOF
  uint64_t fingerprintOf(int fd, uint64_t len, bool* ok) const;
  void refreshFingerprint();
  bool identityChanged() const;  // the open file shrank or its first bytes changed
  bool pathNamesAnotherFile() const;
  void notice(const std::string& msg) const {
    if (notice_) notice_(msg);
  }

  std::string path_;
  bool follow_;
  Framer framer_;
  size_t max_record_bytes_;
  int fd_ = -1;
  std::string open_path_;  // path_ or the rotated <path>.1 being finished
  uint64_t inode_ = 0;
  uint64_t fingerprint_ = 0;
  uint64_t fp_len_ = 0;
  std::string buf_;  // bytes read but not consumed: buf_[pos_..]
  size_t pos_ = 0;
  uint64_t buf_offset_ = 0;  // file offset of buf_[0]
  uint64_t line_ = 1;        // line number at buf_offset_ + pos_
  size_t last_len_ = 0;      // for unread()
  uint64_t last_lines_ = 0;
  bool finishing_rotated_ = false;
  bool was_idle_ = false;  // the last call found nothing new: check the file's identity first  //
                           // reading <path>.1 after a restart, then switch to path_
  std::function<void(const std::string&)> notice_;
};

}  // namespace omniloop::filetail
