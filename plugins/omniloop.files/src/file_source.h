#pragma once
// What file.jsonl and file.csv share: opening the file, the cursor, resume, rotation and
// truncation while following, BOM stripping and line numbers for dead-letter reasons.
#include <omniloop/plugin.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include "file_reader.h"

namespace omniloop::files {

namespace sdk = omniloop::sdk;

class FileSource : public sdk::SourceBase {
 public:
  void resume(std::string_view cursor) override;

 protected:
  // `kind` ("file.jsonl") prefixes every message. Opens the file: throws sdk::Error naming the
  // path when it cannot be read.
  FileSource(const sdk::Config& config, std::string kind);

  // Called whenever reading (re)starts at offset 0 of a file (first open, rotation,
  // truncation, a stale cursor).
  virtual void onRestart() {}
  // Positions after a valid cursor. The CSV source overrides it to read the header first.
  virtual void seekTo(uint64_t offset);

  // Appends the next block. Returns false at EOF (sets eof), throws on a read error. kFull
  // (one record larger than max_record_bytes) is reported through `full`.
  bool fill(bool* eof, bool* full);
  // At EOF while following: reopens a rotated file or rewinds a truncated one. True when it
  // did (reading restarts at 0).
  bool handleRotation();
  // At EOF while following: true when the path now names another file, so the open file's
  // unterminated last record will never be completed and is read as it is.
  bool tailIsFinal() const { return reader_.detectChange() == FileReader::Change::kRotated; }
  // Adds this call's dead letters (and unparsed times) to the plugin counters.
  void reportCounters();
  // Strips a UTF-8 BOM at offset 0, once the window holds enough bytes (or at EOF).
  void stripBom(bool eof);

  void setCursor(sdk::BatchWriter& out);
  // The end of every read(): at EOF while following, follows a rotation (unless the batch
  // stopped early); publishes the cursor and counters; then OL_END (a finite file read
  // whole), OL_OK (events appended or the batch is full) or OL_IDLE.
  ol_status finishRead(sdk::BatchWriter& out, bool eof, bool batch_full, size_t appended, size_t max);
  void setStaticEnvelope(sdk::EventBuilder& ev) const;
  // The decimal byte offset used as the default natural key (kept in keybuf_).
  std::string_view offsetKey(uint64_t offset);
  // The key of a record whose key_field is missing or empty: "offset:<n>" (cannot collide with
  // a key_field value like "17", which an offset alone could).
  std::string_view fallbackKey(uint64_t offset);
  // Absolute 1-based line number of the line `lines_read` lines after the start position.
  uint64_t absoluteLine(uint64_t lines_read);

  std::string kind_;
  std::string path_;
  bool follow_ = false;
  std::string key_field_;
  std::string type_;
  std::string channel_;
  FileReader reader_;
  uint64_t lines_ = 0;  // lines consumed since `line_origin_`
  uint64_t dead_letters_ = 0;
  uint64_t bad_times_ = 0;
  uint64_t missing_keys_ = 0;

 private:
  void restartAtZero();

  bool check_bom_ = true;
  uint64_t line_origin_offset_ = 0;  // where `lines_` counting started
  bool line_origin_known_ = true;    // line number of line_origin_offset_ is known
  uint64_t line_origin_ = 0;         // newlines before line_origin_offset_
  char keybuf_[40] = {};
};

}  // namespace omniloop::files
