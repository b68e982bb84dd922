#pragma once
// Source `file.csv`: RFC 4180 CSV, one event per row, every value a string.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csv_parser.h"
#include "file_source.h"

namespace omniloop::files {

class CsvSource final : public FileSource {
 public:
  explicit CsvSource(const sdk::Config& config);
  ol_status read(sdk::BatchWriter& out, size_t max) override;

 private:
  enum class Outcome { kEvent, kSkipped, kBatchFull };
  void onRestart() override;
  void seekTo(uint64_t offset) override;
  // Takes the header row's labels as the column names (after `rename`).
  void setHeader(char* record, size_t length);
  Outcome processRecord(sdk::BatchWriter& out, const CsvScan& scan);
  void deadLetter(sdk::BatchWriter& out, sdk::EventBuilder& ev, uint64_t offset,
                  std::string_view raw, std::string_view reason);
  std::string_view toUtf8(char* record, size_t length, bool* ok);
  // One step through a row longer than max_record_bytes (over_long_ active): consumes what the
  // window holds of it, or at its end appends its one dead letter. False when read() must stop
  // (the batch is full, or a followed file's row is not finished yet).
  bool skipOverLong(sdk::BatchWriter& out, bool* eof, bool* tail_final, bool* batch_full);

  bool header_;
  bool skip_empty_lines_;
  bool pad_short_rows_;
  bool latin1_;
  char delimiter_;
  std::vector<std::pair<std::string, std::string>> rename_;  // header label -> field
  std::vector<std::string> columns_;
  bool have_columns_ = false;
  // Resolves key_fields_ against columns_ (throws naming `where` when one is missing).
  void bindKeyColumns(const std::string& where);
  std::vector<size_t> key_indices_;  // columns of key_fields_, in order
  bool has_key_ = false;
  std::vector<std::string_view> key_values_;  // reused
  std::vector<std::string_view> fields_;      // reused
  std::string scratch_;                       // reused (Latin-1 transcoding)
  std::string reason_;                        // reused
  static constexpr uint64_t kNoOffset = ~uint64_t{0};
  CsvSkipState skip_state_;             // where the scan of an over-long row stopped
  uint64_t skip_first_lf_ = kNoOffset;  // file offset of its first LF (kNoOffset: none yet)
};

}  // namespace omniloop::files
