#include "tail.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <stdexcept>

namespace omniloop::filetail {

namespace {

constexpr size_t kReadBlock = 64 * 1024;

uint64_t fnv1a(const char* p, size_t n, uint64_t h = 1469598103934665603ULL) {
  for (size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(p[i]);
    h *= 1099511628211ULL;
  }
  return h;
}

bool parseU64(std::string_view s, uint64_t* out, int base = 10) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string formatCursor(const Cursor& c) {
  char fp[17];
  std::snprintf(fp, sizeof fp, "%016llx", static_cast<unsigned long long>(c.fingerprint));
  return "tail1;fp=" + std::string(fp) + ";fplen=" + std::to_string(c.fp_len) +
         ";offset=" + std::to_string(c.offset) + ";line=" + std::to_string(c.line) +
         ";path=" + c.path;
}

std::optional<Cursor> parseCursor(std::string_view text) {
  constexpr std::string_view kMagic = "tail1;";
  if (text.substr(0, kMagic.size()) != kMagic) return std::nullopt;
  text.remove_prefix(kMagic.size());
  Cursor c;
  int seen = 0;
  while (!text.empty()) {
    const size_t eq = text.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view name = text.substr(0, eq);
    if (name == "path") {  // last: may itself hold ';'
      c.path = std::string(text.substr(eq + 1));
      break;
    }
    const size_t semi = text.find(';', eq);
    const std::string_view value = text.substr(
        eq + 1, semi == std::string_view::npos ? std::string_view::npos : semi - eq - 1);
    uint64_t* slot = name == "fp"       ? &c.fingerprint
                     : name == "fplen"  ? &c.fp_len
                     : name == "offset" ? &c.offset
                     : name == "line"   ? &c.line
                                        : nullptr;
    if (!slot || !parseU64(value, slot, name == "fp" ? 16 : 10)) return std::nullopt;
    ++seen;
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  if (seen != 4 || c.fp_len > Tail::kFingerprintBytes || c.line == 0) return std::nullopt;
  return c;
}

size_t frameLine(std::string_view window, bool /*at_eof*/) {
  const size_t nl = window.find('\n');
  return nl == std::string_view::npos ? 0 : nl + 1;
}

Tail::Tail(std::string path, bool follow, Framer framer, size_t max_record_bytes)
    : path_(std::move(path)),
      follow_(follow),
      framer_(std::move(framer)),
      max_record_bytes_(std::max<size_t>(max_record_bytes, 1024)) {}

Tail::~Tail() {
  closeFile();
}

void Tail::closeFile() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Tail::openFile(const std::string& path, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = "cannot open '" + path + "': " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    *error = "'" + path + "' is not a regular file";
    return false;
  }
  closeFile();
  fd_ = fd;
  open_path_ = path;
  inode_ = static_cast<uint64_t>(st.st_ino);
  buf_.clear();
  pos_ = 0;
  buf_offset_ = 0;
  line_ = 1;
  fp_len_ = 0;
  fingerprint_ = fnv1a(nullptr, 0);
  refreshFingerprint();
  return true;
}

void Tail::open() {
  std::string error;
  if (!openFile(path_, &error)) throw std::runtime_error(error);
  finishing_rotated_ = false;
}

uint64_t Tail::fingerprintOf(int fd, uint64_t len, bool* ok) const {
  char block[kFingerprintBytes];
  const ssize_t n = ::pread(fd, block, static_cast<size_t>(len), 0);
  *ok = n == static_cast<ssize_t>(len);
  return fnv1a(block, *ok ? static_cast<size_t>(len) : 0);
}

void Tail::refreshFingerprint() {
  if (fp_len_ >= kFingerprintBytes || fd_ < 0) return;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return;
  const uint64_t len = std::min<uint64_t>(kFingerprintBytes, static_cast<uint64_t>(st.st_size));
  if (len <= fp_len_) return;
  bool ok = false;
  const uint64_t fp = fingerprintOf(fd_, len, &ok);
  if (!ok) return;
  fingerprint_ = fp;
  fp_len_ = len;
}

bool Tail::identityChanged() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return false;
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size < buf_offset_ + buf_.size()) return true;  // shorter than what was read: truncated
  if (fp_len_ == 0) return false;
  bool ok = false;
  const uint64_t fp = fingerprintOf(fd_, fp_len_, &ok);
  return !ok || fp != fingerprint_;
}

bool Tail::pathNamesAnotherFile() const {
  struct stat st {};
  return ::stat(path_.c_str(), &st) == 0 && static_cast<uint64_t>(st.st_ino) != inode_;
}

void Tail::restartAtZero() {
  buf_.clear();
  pos_ = 0;
  buf_offset_ = 0;
  line_ = 1;
  fp_len_ = 0;
  fingerprint_ = fnv1a(nullptr, 0);
  refreshFingerprint();
}

std::string Tail::resume(std::string_view text) {
  const auto c = parseCursor(text);
  if (!c) {
    throw std::runtime_error("the checkpoint cursor for '" + path_ +
                             "' was not written by this connector; reset the pipeline's "
                             "checkpoint");
  }
  auto matches = [&](int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || static_cast<uint64_t>(st.st_size) < c->offset) return false;
    if (static_cast<uint64_t>(st.st_size) < c->fp_len) return false;
    bool ok = false;
    const uint64_t fp = fingerprintOf(fd, c->fp_len, &ok);
    return ok && fp == c->fingerprint;
  };
  auto position = [&] {
    buf_.clear();
    pos_ = 0;
    buf_offset_ = c->offset;
    line_ = c->line;
  };
  if (matches(fd_)) {
    position();
    return "";
  }
  // Rotated while we were away: finish <path>.1 first when it is the checkpointed file.
  const std::string rotated = path_ + ".1";
  const std::string current = open_path_;
  std::string error;
  if (openFile(rotated, &error)) {
    if (matches(fd_)) {
      position();
      finishing_rotated_ = true;
      return "'" + path_ + "' was rotated since the checkpoint: finishing '" + rotated +
             "' from offset " + std::to_string(c->offset) + ", then reading the new file";
    }
  }
  if (!openFile(current, &error)) throw std::runtime_error(error);
  return "'" + path_ +
         "' is not the file the checkpoint was taken from (rotated or truncated); "
         "reading it from the start";
}

bool Tail::fillMore(bool* eof) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_offset_ += pos_;
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > buf_.size() / 2) {
    buf_offset_ += pos_;
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  const size_t old = buf_.size();
  buf_.resize(old + kReadBlock);
  for (;;) {
    const ssize_t n =
        ::pread(fd_, buf_.data() + old, kReadBlock, static_cast<off_t>(buf_offset_ + old));
    if (n > 0) {
      buf_.resize(old + static_cast<size_t>(n));
      refreshFingerprint();
      return true;
    }
    buf_.resize(old);
    if (n == 0) {
      *eof = true;
      return false;
    }
    if (errno == EINTR) continue;
    throw std::runtime_error("cannot read '" + open_path_ + "': " + std::strerror(errno));
  }
}

Tail::Next Tail::next(Record* out) {
  for (;;) {
    const std::string_view window(buf_.data() + pos_, buf_.size() - pos_);
    size_t len = window.empty() ? 0 : framer_(window, false);
    bool oversize = false;
    if (len == 0 && window.size() > max_record_bytes_) {
      len = frameLine(window, true);  // no record ends within the limit: cut at the first line
      if (len == 0) len = window.size();
      oversize = true;
    }
    if (len > 0) {
      std::string_view text = window.substr(0, len);
      const uint64_t lines = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
      if (!text.empty() && text.back() == '\n') text.remove_suffix(1);
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      out->text = text;
      out->line = line_;
      out->offset = buf_offset_ + pos_;
      out->oversize = oversize;
      pos_ += len;
      line_ += lines;
      last_len_ = len;
      last_lines_ = lines;
      return Next::kRecord;
    }
    if (follow_ && was_idle_) {
      // Before reading what was appended since the last poll: is it still the same file? A
      // copytruncate followed by new rows longer than what was read shows only here.
      was_idle_ = false;
      if (identityChanged()) {
        notice("'" + path_ +
               "' was truncated or rewritten (copytruncate); reading it from the start");
        restartAtZero();
        continue;
      }
    }
    bool eof = false;
    if (fillMore(&eof)) continue;
    // At the end of what the file holds now.
    const std::string_view rest(buf_.data() + pos_, buf_.size() - pos_);
    if (!rest.empty() && (!follow_ || finishing_rotated_)) {
      // No more bytes will come: the framer may end a record it would wait on otherwise (while
      // following, the writer may still be in the middle of it).
      const size_t at_end = framer_(rest, true);
      if (at_end > 0 && at_end <= rest.size() && rest.substr(0, at_end).back() == '\n') {
        const size_t keep = pos_;
        std::string_view text = rest.substr(0, at_end);
        const uint64_t lines = static_cast<uint64_t>(std::count(text.begin(), text.end(), '\n'));
        text.remove_suffix(1);
        if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
        out->text = text;
        out->line = line_;
        out->offset = buf_offset_ + keep;
        out->oversize = false;
        pos_ += at_end;
        line_ += lines;
        last_len_ = at_end;
        last_lines_ = lines;
        return Next::kRecord;
      }
    }
    const bool rotated_away = finishing_rotated_ || (follow_ && pathNamesAnotherFile());
    if (rotated_away) {
      // Read the old file to its very end first (a writer may have appended before the rename).
      bool eof2 = false;
      if (fillMore(&eof2)) continue;
      if (pos_ < buf_.size()) {  // the old file ends inside a record: it will never be completed
        out->text = std::string_view(buf_.data() + pos_, buf_.size() - pos_);
        out->line = line_;
        out->offset = buf_offset_ + pos_;
        out->oversize = false;
        last_len_ = buf_.size() - pos_;
        last_lines_ = 0;
        pos_ = buf_.size();
        return Next::kPartialAtEnd;
      }
      const std::string old = open_path_;
      std::string error;
      if (!openFile(path_, &error)) {
        if (!follow_) throw std::runtime_error(error);
        return Next::kIdle;  // the new file is not there yet
      }
      finishing_rotated_ = false;
      notice("'" + old + "' was rotated; reading the new '" + path_ + "' from the start");
      continue;
    }
    if (!follow_) {
      if (!rest.empty()) {
        out->text = rest;
        out->line = line_;
        out->offset = buf_offset_ + pos_;
        out->oversize = false;
        last_len_ = rest.size();
        last_lines_ = 0;
        pos_ = buf_.size();
        return Next::kPartialAtEnd;
      }
      return Next::kEnd;
    }
    if (identityChanged()) {
      notice("'" + path_ +
             "' was truncated or rewritten (copytruncate); reading it from the start");
      restartAtZero();
      continue;
    }
    was_idle_ = true;
    return Next::kIdle;  // an incomplete last record waits for its line end
  }
}

void Tail::unread() {
  pos_ -= last_len_;
  line_ -= last_lines_;
  last_len_ = 0;
  last_lines_ = 0;
}

std::string Tail::cursor() const {
  Cursor c;
  c.fingerprint = fingerprint_;
  c.fp_len = fp_len_;
  c.offset = buf_offset_ + pos_;
  c.line = line_;
  c.path = open_path_;
  return formatCursor(c);
}

}  // namespace omniloop::filetail
