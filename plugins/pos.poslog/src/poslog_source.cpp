#include "poslog_source.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "iso_time.h"

namespace omniloop::poslog {

namespace fs = std::filesystem;

namespace {

constexpr size_t kChunkBytes = 256 * 1024;
constexpr uint64_t kFingerprintBytes = 4096;

// A decimal as a JSON number when it is one, else as a JSON string.
void appendNumberOrString(std::string& out, const std::string& v) {
  char* end = nullptr;
  if (!v.empty()) {
    std::strtod(v.c_str(), &end);
    if (end == v.c_str() + v.size() && v.find_first_of("xXnN") == std::string::npos &&
        (std::isdigit(static_cast<unsigned char>(v[0])) || v[0] == '-')) {
      out += v;
      return;
    }
  }
  if (v.empty()) {
    out += "null";
  } else {
    sdk::appendJsonString(out, v);
  }
}

std::string hex64(uint64_t v) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kHex[v & 0xf];
  return s;
}

}  // namespace

PoslogSource::PoslogSource(const sdk::Config& config)
    : path_(config.str("path")),
      glob_(config.str("glob", "*.xml")),
      follow_(config.boolean("follow", false)),
      done_dir_(config.str("done_dir", "")),
      channel_(config.str("channel", "pos")) {
  if (path_.empty()) throw sdk::Error("pos.poslog: option 'path' must not be empty");
  const std::string tz = config.str("timezone", "Z");
  const auto offset = parseOffset(tz);
  if (!offset) {
    throw sdk::Error("pos.poslog: option 'timezone' must be an offset such as +01:00 or Z, not '" +
                     tz + "'");
  }
  default_offset_s_ = *offset;
  std::error_code ec;
  if (fs::is_directory(path_, ec)) {
    is_dir_ = true;
  } else if (!fs::exists(path_, ec) && !follow_) {
    throw sdk::Error("pos.poslog: '" + path_ + "' does not exist (check option 'path')");
  }
  if (!done_dir_.empty() && !is_dir_) {
    throw sdk::Error("pos.poslog: option 'done_dir' needs 'path' to be a directory");
  }
}

PoslogSource::~PoslogSource() {
  if (file_ && file_->fd >= 0) ::close(file_->fd);
}

std::string PoslogSource::fingerprintOf(int fd, uint64_t max_bytes) {
  char buf[kFingerprintBytes];
  const ssize_t n =
      ::pread(fd, buf, static_cast<size_t>(std::min<uint64_t>(max_bytes, sizeof buf)), 0);
  uint64_t h = 1469598103934665603ull;  // FNV-1a 64
  for (ssize_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(buf[i]);
    h *= 1099511628211ull;
  }
  return hex64(h) + ":" + std::to_string(n < 0 ? 0 : n);
}

void PoslogSource::resume(std::string_view cursor) {
  if (cursor.empty()) return;
  sdk::JsonValue c;
  try {
    c = sdk::JsonValue::parse(cursor);
  } catch (const sdk::Error&) {
    throw sdk::Error(
        "pos.poslog: the checkpoint cursor was not written by pos.poslog; reset the "
        "pipeline's checkpoint");
  }
  if (const auto* f = c.member("file"); f && f->isString()) resume_name_ = f->text();
  if (const auto* f = c.member("fp"); f && f->isString()) resume_fingerprint_ = f->text();
  if (const auto* o = c.member("offset"); o && o->asInt64()) {
    resume_offset_ = static_cast<uint64_t>(*o->asInt64());
  }
  if (const auto* d = c.member("done"); d && d->isArray()) {
    for (const auto& item : d->items()) {
      if (item.isString()) done_.insert(item.text());
    }
  }
  // Files the committed cursor says are read to their end move to done_dir now: only a
  // committed cursor proves that their events are stored.
  if (!done_dir_.empty() && !done_.empty()) {
    std::error_code ec;
    fs::create_directories(done_dir_, ec);
    for (const auto& entry : fs::directory_iterator(path_, ec)) {
      if (!entry.is_regular_file(ec)) continue;
      const std::string name = entry.path().filename().string();
      const int fd = ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      const std::string key = name + "|" + fingerprintOf(fd, kFingerprintBytes);
      ::close(fd);
      if (done_.count(key) == 0) continue;
      fs::rename(entry.path(), fs::path(done_dir_) / name, ec);
      if (ec) {
        host().warn("pos.poslog: cannot move a finished file to done_dir: " + ec.message());
      } else {
        done_.erase(key);
      }
    }
  }
}

std::vector<std::string> PoslogSource::candidates() const {
  std::vector<std::string> names;
  std::error_code ec;
  if (!is_dir_) {
    if (fs::exists(path_, ec)) names.push_back(fs::path(path_).filename().string());
    return names;
  }
  for (const auto& entry : fs::directory_iterator(path_, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    const std::string name = entry.path().filename().string();
    if (::fnmatch(glob_.c_str(), name.c_str(), 0) == 0) names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

bool PoslogSource::openNext() {
  for (const std::string& name : candidates()) {
    const std::string path = is_dir_ ? (fs::path(path_) / name).string() : path_;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // gone since the listing
    struct stat st {};
    if (::fstat(fd, &st) != 0 || st.st_size == 0) {
      ::close(fd);
      continue;  // an empty file may still be being created: look again later
    }
    // The resumed file is recognised by the fingerprint length the cursor recorded (a file
    // shorter than 4 KiB when first seen may have grown since).
    std::string fp = fingerprintOf(fd, kFingerprintBytes);
    if (name == resume_name_ && !resume_fingerprint_.empty()) {
      const size_t colon = resume_fingerprint_.rfind(':');
      const uint64_t len = std::strtoull(resume_fingerprint_.c_str() + colon + 1, nullptr, 10);
      if (fingerprintOf(fd, len) == resume_fingerprint_) fp = resume_fingerprint_;
    }
    if (done_.count(name + "|" + fp) > 0) {
      ::close(fd);
      continue;
    }
    file_ = std::make_unique<OpenFile>();
    file_->name = name;
    file_->path = path;
    file_->fingerprint = fp;
    file_->fd = fd;
    file_->parser = std::make_unique<PoslogParser>();
    if (name == resume_name_ && fp == resume_fingerprint_) file_->skip_until = resume_offset_;
    last_offset_ = file_->skip_until;
    return true;
  }
  return false;
}

void PoslogSource::finishFile() {
  done_.insert(file_->name + "|" + file_->fingerprint);
  ::close(file_->fd);
  file_.reset();
  last_offset_ = 0;
}

std::string PoslogSource::cursorText() const {
  std::string c = "{\"v\":1";
  if (file_) {
    c += ",\"file\":";
    sdk::appendJsonString(c, file_->name);
    c += ",\"fp\":";
    sdk::appendJsonString(c, file_->fingerprint);
    c += ",\"offset\":" + std::to_string(last_offset_);
  }
  c += ",\"done\":[";
  bool first = true;
  for (const std::string& d : done_) {
    if (!first) c += ',';
    first = false;
    sdk::appendJsonString(c, d);
  }
  c += "]}";
  return c;
}

bool PoslogSource::emit(sdk::BatchWriter& out, const Transaction& t) {
  const std::string where = file_->path + ":" + std::to_string(t.line);
  // A transaction's own identity (store, till, day, number) keys it, so the same transaction
  // exported twice is one event; a record that could not be read is keyed by its place.
  std::string key;
  if (t.error.empty() && !t.store.empty() && !t.sequence.empty()) {
    key = "txn:" + t.store + "/" + t.workstation + "/" + t.business_day + "/" + t.sequence;
  } else {
    key = "file:" + file_->fingerprint + ":" + std::to_string(t.start_offset);
  }
  if (!t.error.empty()) {
    sdk::EventBuilder ev = out.append();
    if (!ev) return false;
    ev.key(key).deadLetter(t.raw, where + ": " + t.error);
    return true;
  }
  if (t.kind != Transaction::Kind::Retail) {
    host().counter(t.kind == Transaction::Kind::Control ? "control_transactions"
                                                        : "other_transactions");
    return true;
  }
  if (t.training) {
    host().counter("training_transactions");
    return true;
  }
  if (t.cancelled) {
    host().counter("voided_transactions");
    return true;
  }
  std::optional<int64_t> when;
  const std::string& time_text = !t.end_time.empty() ? t.end_time : t.begin_time;
  if (!time_text.empty()) {
    when = parseIsoTime(time_text, default_offset_s_);
    if (!when) {
      sdk::EventBuilder ev = out.append();
      if (!ev) return false;
      ev.key(key).deadLetter(
          t.raw, where + ": EndDateTime '" + time_text + "' is not an ISO 8601 date-time");
      return true;
    }
  }
  sdk::EventBuilder ev = out.append();
  if (!ev) return false;
  bool sales = false, returns = false;
  for (const LineItem& item : t.items) (item.is_return ? returns : sales) = true;
  ev.key(key).channel(channel_).type(returns && !sales ? "order.returned" : "order.placed");
  if (when) ev.time(*when);
  if (!t.loyalty_id.empty()) ev.identity("loyalty_id", t.loyalty_id);
  if (!t.email.empty()) ev.identity("email", t.email);
  if (!t.phone.empty()) ev.identity("phone", t.phone);
  auto text = [&](std::string_view path, const std::string& v) {
    if (!v.empty()) ev.str(path, v);
  };
  text("store_id", t.store);
  text("workstation_id", t.workstation);
  text("sequence_number", t.sequence);
  text("business_day", t.business_day);
  text("operator_id", t.operator_id);
  text("currency", t.currency);
  text("poslog_version", t.version);
  ev.f64("total", std::strtod(t.total.c_str(), nullptr));
  scratch_.assign("[");
  for (size_t i = 0; i < t.items.size(); ++i) {
    const LineItem& item = t.items[i];
    if (i) scratch_ += ',';
    scratch_ +=
        item.is_return ? "{\"kind\":\"return\",\"item_id\":" : "{\"kind\":\"sale\",\"item_id\":";
    sdk::appendJsonString(scratch_, item.item_id);
    scratch_ += ",\"description\":";
    sdk::appendJsonString(scratch_, item.description);
    scratch_ += ",\"quantity\":";
    appendNumberOrString(scratch_, item.quantity.empty() ? std::string("1") : item.quantity);
    scratch_ += ",\"unit_price\":";
    appendNumberOrString(scratch_, item.unit_price);
    scratch_ += ",\"amount\":";
    appendNumberOrString(scratch_, item.amount);
    scratch_ += '}';
  }
  scratch_ += ']';
  ev.json("items", scratch_);
  scratch_.assign("[");
  for (size_t i = 0; i < t.tenders.size(); ++i) {
    if (i) scratch_ += ',';
    scratch_ += "{\"type\":";
    sdk::appendJsonString(scratch_, t.tenders[i].type);
    scratch_ += ",\"amount\":";
    appendNumberOrString(scratch_, t.tenders[i].amount);
    scratch_ += '}';
  }
  scratch_ += ']';
  ev.json("tenders", scratch_);
  if (t.voided_lines > 0) {
    ev.i64("voided_lines", static_cast<int64_t>(t.voided_lines));
    host().counter("voided_lines", static_cast<int64_t>(t.voided_lines));
  }
  if (!t.original.empty()) {
    text("original_transaction.store_id", t.original.store);
    text("original_transaction.workstation_id", t.original.workstation);
    text("original_transaction.sequence_number", t.original.sequence);
    text("original_transaction.business_day", t.original.business_day);
  }
  text("customer.id", t.customer_id);
  text("customer.first_name", t.first_name);
  text("customer.last_name", t.last_name);
  return true;
}

ol_status PoslogSource::read(sdk::BatchWriter& out, size_t) {
  std::string chunk;
  while (!out.full()) {
    if (!file_ && !openNext()) {
      if (out.appended() > 0) break;
      out.cursor(cursorText());
      return follow_ ? OL_IDLE : OL_END;
    }
    auto& ready = file_->parser->ready();
    if (!ready.empty()) {
      const Transaction& t = ready.front();
      if (t.end_offset > file_->skip_until) {
        if (!emit(out, t)) break;  // the batch is full: this record goes first next time
        last_offset_ = t.end_offset;
      }
      ready.pop_front();
      continue;
    }
    chunk.resize(kChunkBytes);
    const ssize_t n =
        ::pread(file_->fd, chunk.data(), chunk.size(), static_cast<off_t>(file_->fed));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw sdk::Retry("pos.poslog: cannot read " + file_->path + ": " + std::strerror(errno));
    }
    if (n > 0) {
      file_->parser->feed(std::string_view(chunk.data(), static_cast<size_t>(n)), false);
      file_->fed += static_cast<uint64_t>(n);
      if (const auto back = file_->parser->takeRewind()) {  // resync inside earlier bytes
        file_->parser->rewound(*back);
        file_->fed = *back;
      }
      continue;
    }
    // End of the file as it is now (every record parsed so far has been taken).
    if (file_->parser->documentEnded() || file_->ended) {
      finishFile();
      continue;
    }
    if (follow_) {
      // Still being written: what is complete has been read; wait for the rest. (In a
      // directory another file may be complete meanwhile, but files are read in name order.)
      break;
    }
    file_->parser->feed({}, true);  // a truncated file: its open transaction is dead-lettered
    if (const auto back = file_->parser->takeRewind()) {
      file_->parser->rewound(*back);
      file_->fed = *back;
      continue;
    }
    file_->ended = true;
  }
  out.cursor(cursorText());
  if (out.appended() == 0 && follow_ && !out.full()) return OL_IDLE;
  return OL_OK;
}

}  // namespace omniloop::poslog
