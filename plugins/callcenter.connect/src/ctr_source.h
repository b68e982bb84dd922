#pragma once
// Source connect.ctr: Amazon Connect contact trace records, one JSON object per line (as
// Kinesis Data Firehose delivers them; objects written back to back on one line are split),
// followed like the Asterisk CDR with the shared filetail helper.
#include <omniloop/plugin.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "tail.h"

namespace omniloop::connect {

namespace sdk = omniloop::sdk;

// The top-level JSON values of one line: "{...}{...}" and "{...} {...}" give two. Returns false
// when the line's brackets or strings do not balance (it is then read as one value).
bool splitConcatenated(std::string_view line, std::vector<std::string_view>* values);

class CtrSource : public sdk::SourceBase {
 public:
  explicit CtrSource(const sdk::Config& config);

  void resume(std::string_view cursor) override;
  ol_status read(sdk::BatchWriter& out, size_t max_events) override;

 private:
  // Appends the events of one line; false when the batch filled before all of them fit (the
  // line is then given back whole and read again by the next call).
  bool emitLine(sdk::BatchWriter& out, const filetail::Tail::Record& rec);
  void emitCtr(sdk::EventBuilder& ev, const sdk::JsonValue& ctr);
  void deadLetter(sdk::EventBuilder& ev, std::string_view raw, uint64_t line,
                  const std::string& why);

  std::string path_;
  bool follow_;
  std::string channel_;
  filetail::Tail tail_;
  std::vector<std::string_view> values_;
  int64_t dead_letters_ = 0;
};

}  // namespace omniloop::connect
