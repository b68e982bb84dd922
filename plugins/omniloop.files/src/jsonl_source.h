#pragma once
// Source `file.jsonl`: one JSON object per line, flattened to dotted attribute paths.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "file_source.h"
#include "jsonl_parser.h"
#include "time_parse.h"

namespace omniloop::files {

class JsonlSource final : public FileSource {
 public:
  explicit JsonlSource(const sdk::Config& config);
  ol_status read(sdk::BatchWriter& out, size_t max) override;

 private:
  class Visitor;
  enum class Outcome { kEvent, kSkipped, kBatchFull };
  Outcome processLine(sdk::BatchWriter& out, const char* line, size_t len, uint64_t offset);
  void deadLetter(sdk::EventBuilder& ev, uint64_t offset, std::string_view raw,
                  std::string_view reason);

  std::string time_field_;
  std::optional<TimeFormat> time_format_;
  JsonlParser parser_;
  std::string error_;   // reused
  std::string reason_;  // reused
  // Per record, the values of key_fields_ (reused; found: the field was present).
  std::vector<std::string> key_values_;
  std::vector<std::string_view> key_views_;
  std::vector<char> key_found_;
};

}  // namespace omniloop::files
