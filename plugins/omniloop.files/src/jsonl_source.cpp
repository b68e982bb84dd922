#include "jsonl_source.h"

#include <charconv>
#include <cstring>

namespace omniloop::files {

namespace {
constexpr size_t kRawPreview = 4096;  // bytes of an over-long line kept in its dead letter
}  // namespace

// Forwards flattened fields to the host and picks out the key and time fields on the way.
class JsonlSource::Visitor final : public FieldVisitor {
 public:
  Visitor(const ol_host_api* api, ol_event* ev, const JsonlSource& src)
      : api_(api), ev_(ev), src_(src) {}

  void onString(std::string_view path, std::string_view v) override {
    api_->event_set_string(ev_, path.data(), path.size(), v.data(), v.size());
    if (isKey(path)) key = v, key_found = true;
    if (isTime(path)) time = epochOrIso(v);
  }
  void onInt(std::string_view path, int64_t v) override {
    api_->event_set_int(ev_, path.data(), path.size(), v);
    if (isKey(path)) {
      auto [end, ec] = std::to_chars(int_key_, int_key_ + sizeof int_key_, v);
      (void)ec;
      key = std::string_view(int_key_, static_cast<size_t>(end - int_key_));
      key_found = true;
    }
    if (isTime(path)) {
      time_seen = true;
      if (*src_.time_format_ != TimeFormat::kIso8601) time = epochToMicros(v, *src_.time_format_);
    }
  }
  void onDouble(std::string_view path, double v) override {
    api_->event_set_double(ev_, path.data(), path.size(), v);
    if (isTime(path)) {
      time_seen = true;
      if (*src_.time_format_ != TimeFormat::kIso8601) time = epochToMicros(v, *src_.time_format_);
    }
  }
  void onBool(std::string_view path, bool v) override {
    api_->event_set_bool(ev_, path.data(), path.size(), v ? 1 : 0);
    if (isTime(path)) time_seen = true;
  }
  void onNull(std::string_view path) override {
    api_->event_set_null(ev_, path.data(), path.size());
  }
  void onJson(std::string_view path, std::string_view raw) override {
    api_->event_set_json(ev_, path.data(), path.size(), raw.data(), raw.size());
    if (isTime(path)) time_seen = true;
  }

  std::string_view key;
  bool key_found = false;
  std::optional<int64_t> time;
  bool time_seen = false;

 private:
  bool isKey(std::string_view path) const {
    return !src_.key_field_.empty() && path == src_.key_field_;
  }
  bool isTime(std::string_view path) const {
    return src_.time_format_ && path == src_.time_field_;
  }
  std::optional<int64_t> epochOrIso(std::string_view v) {
    time_seen = true;
    if (*src_.time_format_ == TimeFormat::kIso8601) return parseIso8601Micros(v);
    return epochTextToMicros(v, *src_.time_format_);
  }

  const ol_host_api* api_;
  ol_event* ev_;
  const JsonlSource& src_;
  char int_key_[24] = {};
};

JsonlSource::JsonlSource(const sdk::Config& config)
    : FileSource(config, "file.jsonl"), time_field_(config.str("time_field", "")) {
  const std::string format = config.str("time_format", "");
  if (!format.empty()) {
    time_format_ = parseTimeFormat(format);
    if (!time_format_) {
      throw sdk::Error("file.jsonl: option 'time_format' must be iso8601, unix or unix_ms, not '" +
                       format + "'");
    }
  }
  if (time_field_.empty()) {
    time_format_.reset();  // (a host may fill in the schema's default format)
  } else if (!time_format_) {
    time_format_ = TimeFormat::kIso8601;
  }
  static_assert(simdjson::SIMDJSON_PADDING <= FileReader::kPadding, "file buffer padding too small");
}

void JsonlSource::deadLetter(sdk::EventBuilder& ev, uint64_t offset, std::string_view raw,
                             std::string_view reason) {
  ev.key(offsetKey(offset));
  setStaticEnvelope(ev);
  ev.deadLetter(raw, reason);
  ++dead_letters_;
}

JsonlSource::Outcome JsonlSource::processLine(sdk::BatchWriter& out, const char* line,
                                              size_t len, uint64_t offset) {
  if (len > 0 && line[len - 1] == '\r') --len;
  size_t first = 0;
  while (first < len && (line[first] == ' ' || line[first] == '\t')) ++first;
  if (first == len) return Outcome::kSkipped;  // blank line

  sdk::EventBuilder ev = out.append();
  if (!ev) return Outcome::kBatchFull;
  Visitor visitor(host().api(), ev.handle(), *this);
  if (!parser_.parse(line, len, reader_.capacityFrom(line), visitor, &error_)) {
    out.discardLast();  // drop the fields set before the error
    ev = out.append();
    reason_ = "file.jsonl: invalid JSON at line " + std::to_string(absoluteLine(lines_)) + ": " +
              error_;
    deadLetter(ev, offset, std::string_view(line, len), reason_);
    return Outcome::kEvent;
  }
  if (key_field_.empty()) {
    ev.key(offsetKey(offset));
  } else if (visitor.key_found && !visitor.key.empty()) {
    ev.key(visitor.key);
  } else {
    ev.key(fallbackKey(offset));
    ++missing_keys_;
  }
  setStaticEnvelope(ev);
  if (visitor.time) {
    ev.time(*visitor.time);
  } else if (visitor.time_seen) {
    ++bad_times_;  // kept without occurred_at; counted, never logged (it is data)
  }
  return Outcome::kEvent;
}

ol_status JsonlSource::read(sdk::BatchWriter& out, size_t max) {
  bool eof = false;
  bool full = false;
  size_t appended = 0;
  bool batch_full = false;
  while (appended < max) {
    stripBom(eof);
    const std::string_view w = reader_.window();
    if (skipping_) {  // inside a line longer than max_record_bytes
      const void* lf = std::memchr(w.data(), '\n', w.size());
      if (lf) {
        reader_.consume(static_cast<size_t>(static_cast<const char*>(lf) - w.data()) + 1);
        ++lines_;
        skipping_ = false;
        continue;
      }
      reader_.consume(w.size());
      if (eof) {
        skipping_ = follow_;  // a finished file ends the line; a followed one may continue it
        break;
      }
      fill(&eof, &full);
      continue;
    }
    const void* lf = std::memchr(w.data(), '\n', w.size());
    size_t len = 0;
    size_t consumed = 0;
    if (lf) {
      len = static_cast<size_t>(static_cast<const char*>(lf) - w.data());
      consumed = len + 1;
    } else if (!eof) {
      if (fill(&eof, &full) || !full) continue;
      // One line longer than max_record_bytes: dead-letter its start and skip the rest.
      sdk::EventBuilder ev = out.append();
      if (!ev) {
        batch_full = true;
        break;
      }
      reason_ = "file.jsonl: line " + std::to_string(absoluteLine(lines_)) +
                " is longer than max_record_bytes; skipped (its first 4 KiB kept)";
      deadLetter(ev, reader_.offset(), w.substr(0, kRawPreview), reason_);
      ++appended;
      skipping_ = true;
      continue;
    } else {
      // At EOF with an unterminated last line: complete unless the file is followed and has
      // not been rotated away (then the writer may still finish it).
      if (w.empty() || (follow_ && !tailIsFinal())) break;
      len = w.size();
      consumed = len;
    }
    const Outcome outcome = processLine(out, w.data(), len, reader_.offset());
    if (outcome == Outcome::kBatchFull) {
      batch_full = true;
      break;
    }
    reader_.consume(consumed);
    ++lines_;
    if (outcome == Outcome::kEvent) ++appended;
  }
  return finishRead(out, eof, batch_full, appended, max);
}

}  // namespace omniloop::files
