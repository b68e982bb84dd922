#include "csv_source.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

namespace omniloop::files {

namespace {

// Latin-1 bytes to UTF-8 (every byte is a code point below 256).
void latin1ToUtf8(const char* in, size_t len, std::string* out) {
  out->clear();
  for (size_t i = 0; i < len; ++i) {
    const unsigned char c = static_cast<unsigned char>(in[i]);
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else {
      out->push_back(static_cast<char>(0xC0 | (c >> 6)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
}
}  // namespace

CsvSource::CsvSource(const sdk::Config& config)
    : FileSource(config, "file.csv"),
      header_(config.boolean("header", true)),
      skip_empty_lines_(config.boolean("skip_empty_lines", true)),
      pad_short_rows_(true),
      latin1_(false),
      delimiter_(',') {
  if (header_) fingerprint_lines_ = 2;  // the header alone is the same in every rotated file
  const std::string delimiter = config.str("delimiter", ",");
  if (delimiter == "\\t" || delimiter == "tab") {
    delimiter_ = '\t';
  } else if (delimiter.size() == 1 && delimiter[0] != '"' && delimiter[0] != '\n' &&
             delimiter[0] != '\r') {
    delimiter_ = delimiter[0];
  } else {
    throw sdk::Error("file.csv: option 'delimiter' must be one character other than a quote or a "
                     "line break (or \"tab\")");
  }
  const std::string short_rows = config.str("short_rows", "pad");
  if (short_rows == "dead_letter") {
    pad_short_rows_ = false;
  } else if (short_rows != "pad") {
    throw sdk::Error("file.csv: option 'short_rows' must be pad or dead_letter, not '" +
                     short_rows + "'");
  }
  const std::string encoding = config.str("encoding", "utf-8");
  if (encoding == "latin-1" || encoding == "latin1" || encoding == "iso-8859-1") {
    latin1_ = true;
  } else if (encoding != "utf-8" && encoding != "utf8") {
    throw sdk::Error("file.csv: option 'encoding' must be utf-8 or latin-1, not '" + encoding +
                     "'");
  }
  const sdk::Config rename = config.object("rename");
  for (const auto& member : rename.root().members()) {
    if (!member.second.isString()) {
      throw sdk::Error("file.csv: option 'rename' maps header labels to field names; the value "
                       "for '" + member.first + "' must be a string");
    }
    rename_.emplace_back(member.first, member.second.text());
  }
  const bool has_columns = config.has("columns");
  if (header_) {
    if (has_columns) {
      throw sdk::Error("file.csv: option 'columns' names the columns of a file without a header "
                       "row (header: false); to rename header labels use rename: {label: field}");
    }
  } else {
    if (!has_columns) {
      throw sdk::Error("file.csv: option 'columns' is required when header is false (list the "
                       "field name of every column, in order)");
    }
    if (!rename_.empty()) {
      throw sdk::Error("file.csv: option 'rename' applies to header labels; with header: false "
                       "name the fields in 'columns'");
    }
    columns_ = config.strings("columns");
    if (columns_.empty()) throw sdk::Error("file.csv: option 'columns' must not be empty");
    for (size_t i = 0; i < columns_.size(); ++i) {
      if (columns_[i].empty()) {
        throw sdk::Error("file.csv: option 'columns' item " + std::to_string(i + 1) +
                         " is empty");
      }
      for (size_t j = 0; j < i; ++j) {
        if (columns_[j] == columns_[i]) {
          throw sdk::Error("file.csv: option 'columns' names '" + columns_[i] + "' twice");
        }
      }
    }
    have_columns_ = true;
    bindKeyColumns("one of 'columns'");
  }
}

void CsvSource::bindKeyColumns(const std::string& where) {
  key_indices_.clear();
  has_key_ = false;
  for (const std::string& name : key_fields_) {
    auto it = std::find(columns_.begin(), columns_.end(), name);
    if (it == columns_.end()) {
      throw sdk::Error("file.csv: key_field '" + name + "' is not " + where);
    }
    key_indices_.push_back(static_cast<size_t>(it - columns_.begin()));
  }
  key_values_.resize(key_indices_.size());
  has_key_ = !key_indices_.empty();
}

void CsvSource::onRestart() {
  if (header_) {
    have_columns_ = false;
    columns_.clear();
    has_key_ = false;
  }
}

void CsvSource::setHeader(char* record, size_t length) {
  bool ok = true;
  const std::string_view text = toUtf8(record, length, &ok);
  if (!ok) {
    throw sdk::Error("file.csv: the header row of '" + reader_.file() +
                     "' is not valid UTF-8; set encoding: latin-1 if the file is Latin-1");
  }
  splitCsvRecord(scratch_.data(), text.size(), delimiter_, &fields_);
  columns_.clear();
  for (size_t i = 0; i < fields_.size(); ++i) {
    std::string name(fields_[i]);
    for (const auto& [label, field] : rename_) {
      if (label == name) {
        name = field;
        break;
      }
    }
    if (name.empty()) name = "column_" + std::to_string(i + 1);
    // Two columns with one name would overwrite each other: number the later ones.
    std::string unique = name;
    for (int n = 2; std::find(columns_.begin(), columns_.end(), unique) != columns_.end(); ++n) {
      unique = name + "_" + std::to_string(n);
    }
    columns_.push_back(std::move(unique));
  }
  for (const auto& entry : rename_) {
    if (std::find(fields_.begin(), fields_.end(), std::string_view(entry.first)) == fields_.end()) {
      host().warn("file.csv: rename: the header of '" + reader_.file() + "' has no column '" +
                  entry.first + "'");
    }
  }
  have_columns_ = true;
  bindKeyColumns("a column of '" + reader_.file() + "' (after rename)");
}

void CsvSource::seekTo(uint64_t offset) {
  FileSource::seekTo(0);
  if (header_ && !have_columns_) {
    // The column names come from the header row, so read it before jumping to the cursor.
    bool eof = false;
    bool full = false;
    for (;;) {
      stripBom(eof);
      const std::string_view w = reader_.window();
      if (w.empty() && eof) break;  // an empty file: read() takes the header when it comes
      const CsvScan scan = scanCsvRecord(w, delimiter_, eof);
      if (scan.status == CsvScanStatus::kNeedMore && !eof) {
        if (!fill(&eof, &full) && full) {
          throw sdk::Error("file.csv: the header row of '" + reader_.file() +
                           "' is longer than max_record_bytes");
        }
        continue;
      }
      if (scan.status != CsvScanStatus::kRecord) break;  // no complete header: read() waits
      if (scan.length == 0 && skip_empty_lines_ && !w.empty()) {
        reader_.consume(scan.consumed);
        lines_ += scan.newlines;
        continue;
      }
      if (scan.length > max_record_bytes_) {
        throw sdk::Error("file.csv: the header row of '" + reader_.file() +
                         "' is longer than max_record_bytes (" +
                         std::to_string(max_record_bytes_) + " bytes)");
      }
      setHeader(reader_.windowData(), scan.length);
      reader_.consume(scan.consumed);
      lines_ += scan.newlines;
      break;
    }
    if (offset <= reader_.offset()) return;  // the cursor is at or before the first row
  }
  FileSource::seekTo(offset);
}

std::string_view CsvSource::toUtf8(char* record, size_t length, bool* ok) {
  *ok = true;
  if (latin1_) {
    latin1ToUtf8(record, length, &scratch_);
  } else {
    scratch_.assign(record, length);
    *ok = simdjson::validate_utf8(record, length);
  }
  return scratch_;
}

void CsvSource::deadLetter(sdk::BatchWriter& out, sdk::EventBuilder& ev, uint64_t offset,
                           std::string_view raw, std::string_view reason) {
  (void)out;
  ev.key(offsetKey(offset));
  setStaticEnvelope(ev);
  ev.deadLetter(raw, reason);
  ++dead_letters_;
}

CsvSource::Outcome CsvSource::processRecord(sdk::BatchWriter& out, const CsvScan& scan) {
  char* record = reader_.windowData();
  const std::string_view raw(record, scan.length);
  const uint64_t offset = reader_.offset();
  if (scan.length == 0 && skip_empty_lines_) return Outcome::kSkipped;
  if (!have_columns_) {
    setHeader(record, scan.length);
    return Outcome::kSkipped;
  }
  sdk::EventBuilder ev = out.append();
  if (!ev) return Outcome::kBatchFull;
  if (scan.malformed) {
    reason_ = "file.csv: the row at " + lineOf(lines_) + " has text after a closing quote";
    deadLetter(out, ev, offset, raw, reason_);
    return Outcome::kEvent;
  }
  if (scan.fields > columns_.size() || (scan.fields < columns_.size() && !pad_short_rows_)) {
    reason_ = "file.csv: the row at " + lineOf(lines_) + " has " + std::to_string(scan.fields) +
              " fields, expected " + std::to_string(columns_.size()) +
              (header_ ? " (the header's)" : " (option columns)");
    deadLetter(out, ev, offset, raw, reason_);
    return Outcome::kEvent;
  }
  bool ok = true;
  const std::string_view text = toUtf8(record, scan.length, &ok);
  if (!ok) {
    reason_ = "file.csv: the row at " + lineOf(lines_) +
              " is not valid UTF-8 (set encoding: latin-1 for a Latin-1 file)";
    deadLetter(out, ev, offset, raw, reason_);
    return Outcome::kEvent;
  }
  splitCsvRecord(scratch_.data(), text.size(), delimiter_, &fields_);
  // A short row (exports omit trailing empty cells) gets its missing columns as "".
  while (fields_.size() < columns_.size()) fields_.emplace_back();
  if (!has_key_) {
    ev.key(offsetKey(offset));
  } else {
    for (size_t i = 0; i < key_indices_.size(); ++i) key_values_[i] = fields_[key_indices_[i]];
    const std::string_view key = joinKey(key_values_.data(), key_values_.size());
    if (!key.empty()) {
      ev.key(key);
    } else {
      ev.key(fallbackKey(offset));
      ++missing_keys_;
    }
  }
  setStaticEnvelope(ev);
  const ol_host_api* api = host().api();
  for (size_t i = 0; i < fields_.size(); ++i) {
    api->event_set_string(ev.handle(), columns_[i].data(), columns_[i].size(), fields_[i].data(),
                          fields_[i].size());
  }
  return Outcome::kEvent;
}

bool CsvSource::skipOverLong(sdk::BatchWriter& out, bool* eof, bool* tail_final, bool* batch_full) {
  std::string_view w = reader_.window();
  if (w.empty() && !*eof) {
    bool full = false;
    fill(eof, &full);
    return true;
  }
  const bool final_tail = *eof && (!follow_ || *tail_final);
  if (w.empty() && !final_tail) {
    // Following: the writer has not finished the row yet (unless the file was rotated away).
    if (!*tail_final && tailIsFinal()) {
      *tail_final = true;
      return true;
    }
    return false;
  }
  const CsvSkip skip = skipCsvRecord(w, skip_state_, delimiter_, final_tail);
  if (skip_first_lf_ == kNoOffset) {
    if (const void* lf = std::memchr(w.data(), '\n', skip.consumed)) {
      skip_first_lf_ =
          reader_.offset() + static_cast<uint64_t>(static_cast<const char*>(lf) - w.data());
    }
  }
  if (!skip.found) {
    keepPreview(w.substr(0, skip.length));
    reader_.consume(skip.consumed);
    lines_ += skip.newlines;
    skip_state_ = skip.state;
    return true;
  }
  if (skip.unterminated && skip_first_lf_ != kNoOffset) {
    // As for a row that fits: an unterminated quote costs the row's first line, and reading
    // resumes on the next one.
    const uint64_t first_line = skip_first_lf_ - over_long_.offset;
    const uint64_t passed = reader_.offset() - over_long_.offset;  // bytes of it consumed
    if (over_long_.preview.size() > first_line) {
      over_long_.preview.resize(static_cast<size_t>(first_line));
    }
    const std::string_view rest = first_line > passed
                                      ? w.substr(0, static_cast<size_t>(first_line - passed))
                                      : std::string_view();
    const std::string reason = "file.csv: the row at " + lineOf(over_long_.lines) +
                               " has an unterminated quoted field; skipped to the next line";
    over_long_.reason = reason;
    if (!appendOverLong(out, rest)) {
      *batch_full = true;
      return false;
    }
    std::string error;
    if (!reader_.seek(skip_first_lf_ + 1, &error)) throw sdk::Error("file.csv: " + error);
    lines_ = over_long_.lines + 1;
    *eof = false;
    return true;
  }
  if (!appendOverLong(out, w.substr(0, skip.length))) {
    *batch_full = true;
    return false;
  }
  reader_.consume(skip.consumed);
  lines_ += skip.newlines;
  return true;
}

ol_status CsvSource::read(sdk::BatchWriter& out, size_t max) {
  startRead();
  bool eof = false;
  bool full = false;
  bool tail_final = false;  // at EOF, a record without a terminator is complete
  size_t appended = 0;
  bool batch_full = false;
  while (appended < max) {
    if (over_long_.active) {  // inside a row longer than max_record_bytes
      if (!skipOverLong(out, &eof, &tail_final, &batch_full)) break;
      if (!over_long_.active) ++appended;  // its dead letter
      continue;
    }
    stripBom(eof);
    const std::string_view w = reader_.window();
    if (w.empty()) {
      if (eof) break;
      fill(&eof, &full);
      continue;
    }
    const CsvScan scan =
        scanCsvRecord(w, delimiter_, eof && (!follow_ || tail_final));
    if (scan.status == CsvScanStatus::kNeedMore && w.size() > max_record_bytes_ + 1) {
      // Longer than the limit whatever follows: skip it, one dead letter at its end.
      if (!have_columns_) {
        throw sdk::Error("file.csv: the header row of '" + reader_.file() +
                         "' is longer than max_record_bytes (" + std::to_string(max_record_bytes_) +
                         " bytes)");
      }
      startOverLong(overLongReason("the row at " + lineOf(lines_)));
      skip_state_ = CsvSkipState{};
      skip_first_lf_ = kNoOffset;
      continue;
    }
    if (scan.status == CsvScanStatus::kNeedMore) {
      if (!eof) {
        if (fill(&eof, &full) || !full) continue;
      } else {
        if (!tail_final && tailIsFinal()) {
          tail_final = true;
          continue;
        }
        break;  // following: the writer has not finished this record yet
      }
    }
    if (scan.status != CsvScanStatus::kRecord) {
      // An unterminated quote at EOF: dead-letter its first line and carry on after it.
      sdk::EventBuilder ev = out.append();
      if (!ev) {
        batch_full = true;
        break;
      }
      const size_t len = firstLineLength(w);
      reason_ = "file.csv: the row at " + lineOf(lines_) +
                (full ? " is longer than max_record_bytes" : " has an unterminated quoted field") +
                "; skipped to the next line";
      deadLetter(out, ev, reader_.offset(), w.substr(0, std::min(len, kRawPreview)), reason_);
      reader_.consume(len < w.size() ? len + 1 : len);
      if (len < w.size()) ++lines_;
      ++appended;
      full = false;
      continue;
    }
    if (scan.length > max_record_bytes_) {
      if (!have_columns_) {
        throw sdk::Error("file.csv: the header row of '" + reader_.file() +
                         "' is longer than max_record_bytes (" + std::to_string(max_record_bytes_) +
                         " bytes)");
      }
      sdk::EventBuilder ev = out.append();
      if (!ev) {
        batch_full = true;
        break;
      }
      reason_ = overLongReason("the row at " + lineOf(lines_));
      deadLetter(out, ev, reader_.offset(), w.substr(0, std::min(scan.length, kRawPreview)),
                 reason_);
      reader_.consume(scan.consumed);
      lines_ += scan.newlines;
      ++appended;
      continue;
    }
    const Outcome outcome = processRecord(out, scan);
    if (outcome == Outcome::kBatchFull) {
      batch_full = true;
      break;
    }
    reader_.consume(scan.consumed);
    lines_ += scan.newlines;
    if (outcome == Outcome::kEvent) ++appended;
  }
  return finishRead(out, eof, batch_full, appended, max);
}

}  // namespace omniloop::files
