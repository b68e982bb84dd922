#include "jsonl_source.h"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace omniloop::files {

// Forwards flattened fields to the host and picks out the key and time fields on the way.
class JsonlSource::Visitor final : public FieldVisitor {
 public:
  Visitor(const ol_host_api* api, ol_event* ev, JsonlSource& src) : api_(api), ev_(ev), src_(src) {
    std::fill(src_.key_found_.begin(), src_.key_found_.end(), 0);
  }

  void onString(std::string_view path, std::string_view v) override {
    api_->event_set_string(ev_, path.data(), path.size(), v.data(), v.size());
    if (const size_t k = keyIndex(path); k != kNoKey) {
      src_.key_values_[k].assign(v.data(), v.size());
      src_.key_found_[k] = 1;
    }
    if (isTime(path)) time = epochOrIso(v);
  }
  void onInt(std::string_view path, int64_t v) override {
    api_->event_set_int(ev_, path.data(), path.size(), v);
    if (const size_t k = keyIndex(path); k != kNoKey) {
      char digits[24];
      auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
      (void)ec;
      src_.key_values_[k].assign(digits, static_cast<size_t>(end - digits));
      src_.key_found_[k] = 1;
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

  std::optional<int64_t> time;
  bool time_seen = false;

 private:
  static constexpr size_t kNoKey = ~size_t{0};
  size_t keyIndex(std::string_view path) const {
    for (size_t i = 0; i < src_.key_fields_.size(); ++i) {
      if (path == src_.key_fields_[i]) return i;
    }
    return kNoKey;
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
  JsonlSource& src_;
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
  key_values_.resize(key_fields_.size());
  key_views_.resize(key_fields_.size());
  key_found_.resize(key_fields_.size());
  static_assert(simdjson::SIMDJSON_PADDING <= FileReader::kPadding,
                "file buffer padding too small");
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
    reason_ = "file.jsonl: invalid JSON at " + lineOf(lines_) + ": " + error_;
    deadLetter(ev, offset, std::string_view(line, len), reason_);
    return Outcome::kEvent;
  }
  if (key_fields_.empty()) {
    ev.key(offsetKey(offset));
  } else {
    for (size_t i = 0; i < key_fields_.size(); ++i) {
      key_views_[i] = key_found_[i] ? std::string_view(key_values_[i]) : std::string_view();
    }
    const std::string_view key = joinKey(key_views_.data(), key_views_.size());
    if (!key.empty()) {
      ev.key(key);
    } else {
      ev.key(fallbackKey(offset));
      ++missing_keys_;
    }
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
  startRead();
  bool eof = false;
  bool full = false;
  size_t appended = 0;
  bool batch_full = false;
  while (appended < max) {
    stripBom(eof);
    const std::string_view w = reader_.window();
    const void* lf = std::memchr(w.data(), '\n', w.size());
    if (over_long_.active) {  // inside a line longer than max_record_bytes
      if (lf == nullptr) {
        keepPreview(w);
        reader_.consume(w.size());
        if (!eof) {
          fill(&eof, &full);
          continue;
        }
        // A finished file ends the line; a followed one may go on with it.
        if (follow_ && !tailIsFinal()) break;
        if (!appendOverLong(out, {})) {
          batch_full = true;
          break;
        }
        ++appended;
        continue;
      }
      size_t len = static_cast<size_t>(static_cast<const char*>(lf) - w.data());
      const size_t consumed = len + 1;
      if (len > 0 && w[len - 1] == '\r') --len;
      if (!appendOverLong(out, w.substr(0, len))) {
        batch_full = true;
        break;
      }
      reader_.consume(consumed);
      ++lines_;
      ++appended;
      continue;
    }
    size_t len = 0;
    size_t consumed = 0;
    if (lf) {
      len = static_cast<size_t>(static_cast<const char*>(lf) - w.data());
      consumed = len + 1;
    } else if (w.size() > max_record_bytes_ + 1) {
      // Longer than the limit whatever follows: skip it, one dead letter at its end.
      startOverLong(overLongReason(lineOf(lines_)));
      continue;
    } else if (!eof) {
      fill(&eof, &full);
      continue;
    } else {
      // At EOF with an unterminated last line: complete unless the file is followed and has
      // not been rotated away (then the writer may still finish it).
      if (w.empty() || (follow_ && !tailIsFinal())) break;
      len = w.size();
      consumed = len;
    }
    const size_t record = len > 0 && w[len - 1] == '\r' ? len - 1 : len;
    if (record > max_record_bytes_) {
      sdk::EventBuilder ev = out.append();
      if (!ev) {
        batch_full = true;
        break;
      }
      reason_ = overLongReason(lineOf(lines_));
      deadLetter(ev, reader_.offset(), w.substr(0, std::min(record, kRawPreview)), reason_);
      reader_.consume(consumed);
      ++lines_;
      ++appended;
      continue;
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
