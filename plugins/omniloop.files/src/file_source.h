#pragma once
// What file.jsonl and file.csv share: opening the file, the cursor, resume, rotation and
// truncation while following, BOM stripping and line numbers for dead-letter reasons.
#include <omniloop/plugin.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

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
  // At EOF while following: reopens a rotated file or rewinds a truncated one (after draining
  // the rest of a copytruncate copy, when one is found). True when it did.
  bool handleRotation(bool truncation_only = false);
  // First thing in every read(): after a read that ended at EOF while following, checks that
  // the file is still the one being read (see handleRotation).
  void startRead();
  // At EOF of a rotated sibling being drained: opens the next generation in pending_, else the
  // path, and reads it from 0.
  void finishDrain();
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
  // The default natural key: "<file fingerprint>:<byte offset>" (kept in keybuf_), so the
  // records of two files (before and after a rotation) never share a key.
  std::string_view offsetKey(uint64_t offset);
  // The key of a record whose key fields are all missing or empty: "offset:<fingerprint>:<n>"
  // (cannot collide with a key_field value like "17").
  std::string_view fallbackKey(uint64_t offset);
  // The natural key from the key field values (one per key_fields_ entry, "" when absent):
  // the value itself for one field, the values joined by '\x1f' for several. Empty when every
  // value is empty (the caller then uses fallbackKey). Kept in joined_key_.
  std::string_view joinKey(const std::string_view* values, size_t n);
  // Absolute 1-based line number of the line `lines_read` lines after the start position.
  uint64_t absoluteLine(uint64_t lines_read);
  // "line N of 'FILE'" for dead-letter reasons (FILE: the file being read, a rotated sibling
  // while draining one).
  std::string lineOf(uint64_t lines_read);
  // The open file's fingerprint, computed once its first `fingerprint_lines_` lines exist.
  uint64_t fingerprint();

  // A record longer than max_record_bytes being skipped across blocks (and reads): its one dead
  // letter is appended when its end is found, and until then the batch cursor stays at its
  // start, so a restart in between reads it again from there.
  struct OverLong {
    bool active = false;
    uint64_t offset = 0;  // where the record starts
    uint64_t lines = 0;   // lines_ at its start
    std::string reason;
    std::string preview;  // its first kRawPreview bytes, kept in the dead letter
  };
  static constexpr size_t kRawPreview = 4096;
  // Starts skipping the record at the window's start: `reason` is its dead letter's reason.
  void startOverLong(std::string reason);
  // Keeps the record's bytes passing by (up to kRawPreview in all) for its dead letter.
  void keepPreview(std::string_view bytes);
  // Adds the skipped record's dead letter, with `last` (the record's bytes in the window before
  // its end) kept too. False (nothing changed) when the batch is full.
  bool appendOverLong(sdk::BatchWriter& out, std::string_view last);
  // The reason of a record over the limit: "<kind>: <where> is longer than max_record_bytes
  // (N bytes); skipped".
  std::string overLongReason(const std::string& where) const;

  std::string kind_;
  std::string path_;
  bool follow_ = false;
  size_t max_record_bytes_;  // option max_record_bytes: the longest record read as an event
  OverLong over_long_;
  std::vector<std::string> key_fields_;  // option key_field: one name or several
  size_t fingerprint_lines_ = 1;         // lines that identify a file (2 with a CSV header)
  std::string type_;
  std::string channel_;
  FileReader reader_;
  uint64_t lines_ = 0;  // lines consumed since `line_origin_`
  uint64_t dead_letters_ = 0;
  uint64_t bad_times_ = 0;
  uint64_t missing_keys_ = 0;

 private:
  void restartAtZero();
  // A sibling of the path (path.1, path-20240501, ...) that is the file a checkpoint or the
  // reader was on: same fingerprint (and holding more than `offset` bytes), the same inode
  // preferred. Compressed siblings are not read. Empty when none.
  std::string findRotated(uint64_t fingerprint, uint64_t inode, uint64_t offset) const;
  // The files beside the path named like its rotated generations (path.1, path-20240501,
  // path_old), compressed ones left out; sorted by name.
  std::vector<std::string> siblings() const;
  // Fills pending_ with the generations of the same numbered scheme as `drained` that were
  // rotated after it (newer mtime), oldest first.
  void queueNewerGenerations(const std::string& drained);
  // Opens `sibling` (the old file) at `offset`; at its end reading goes on with pending_, then
  // at 0 of the path.
  void drain(const std::string& sibling, uint64_t fingerprint, uint64_t offset);
  void resetFingerprint() {
    fp_ = 0;
    fp_final_ = false;
  }

  uint64_t fp_ = 0;         // fingerprint of the open file (0: not known yet)
  bool fp_final_ = false;   // fp_ was taken over the whole identifying prefix
  bool draining_ = false;   // the open file is a rotated sibling, not the path
  bool recheck_ = false;    // the last read ended at EOF while following
  bool announced_ = false;  // "resumed at line N ...: nothing new" said once
  bool resumed_ = false;    // reading started from a checkpoint
  uint64_t read_since_resume_ = 0;
  std::string joined_key_;
  std::vector<std::string> pending_;  // rotated generations to read before the path

  bool check_bom_ = true;
  uint64_t line_origin_offset_ = 0;  // where `lines_` counting started
  bool line_origin_known_ = true;    // line number of line_origin_offset_ is known
  uint64_t line_origin_ = 0;         // newlines before line_origin_offset_
  char keybuf_[64] = {};
};

}  // namespace omniloop::files
