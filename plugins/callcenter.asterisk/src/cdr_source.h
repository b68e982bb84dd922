#pragma once
// Source asterisk.cdr: Asterisk cdr_csv Master.csv rows -> call events, optionally joined with
// queue_log lines (queue, agent, wait and talk time) by uniqueid.
#include <omniloop/plugin.hpp>

#include <memory>
#include <string>
#include <vector>

#include "phone.h"
#include "queue_log.h"
#include "tail.h"

namespace omniloop::asterisk {

namespace sdk = omniloop::sdk;

class CdrSource : public sdk::SourceBase {
 public:
  explicit CdrSource(const sdk::Config& config);

  void resume(std::string_view cursor) override;
  ol_status read(sdk::BatchWriter& out, size_t max_events) override;

 private:
  // One complete row -> one event (or a dead letter).
  void emit(sdk::EventBuilder& ev, const filetail::Tail::Record& rec);
  void deadLetter(sdk::EventBuilder& ev, std::string_view raw, uint64_t line,
                  const std::string& why);
  void readQueueLog();
  std::string cursor() const;

  std::string path_;
  bool follow_;
  std::string channel_;
  bool latin1_;
  int64_t utc_offset_ = 0;
  PhoneNormalizer phones_;
  filetail::Tail tail_;
  std::unique_ptr<filetail::Tail> queue_tail_;
  QueueIndex queue_;
  std::vector<std::string> fields_;  // reused per row
  std::string scratch_;
  // Forked legs can be byte-identical rows (written at the same instant, one after the other):
  // the n-th repeat of a row gets "#n" on its key. Carried in the cursor so a resume agrees.
  std::string last_row_hash_;
  int64_t repeat_ = 0;
  int64_t dead_letters_ = 0;
  int64_t queue_bad_lines_ = 0;
  bool queue_warned_ = false;
};

}  // namespace omniloop::asterisk
