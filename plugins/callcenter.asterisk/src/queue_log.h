#pragma once
// Asterisk queue_log ("epoch|callid|queue|agent|event|data1|data2|..."), indexed by callid (the
// caller's channel uniqueid) so a CDR row can be given its queue, agent and wait time.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

namespace omniloop::asterisk {

struct QueueCall {
  std::string queue;
  std::string agent;       // the member that took (or last completed) the call
  std::string outcome;     // waiting | connected | abandoned | completed_by_caller |
                           // completed_by_agent | timeout | exit_empty | exit_with_key
  int64_t entered_at = 0;  // epoch seconds of ENTERQUEUE (0: not seen)
  int64_t wait_seconds = -1;
  int64_t talk_seconds = -1;
  int64_t position = -1;  // position on entering the queue
};

class QueueIndex {
 public:
  explicit QueueIndex(size_t max_calls = 200000) : max_calls_(max_calls) {}

  enum class Line { kUsed, kIgnored, kMalformed };
  // One queue_log line (without its line end). kIgnored: a well-formed line of no interest
  // (membership changes, NONE call ids, events that carry no call data).
  Line add(std::string_view line);
  const QueueCall* find(std::string_view uniqueid) const;
  size_t size() const { return calls_.size(); }

 private:
  QueueCall& callFor(std::string_view callid);

  size_t max_calls_;
  std::unordered_map<std::string, QueueCall> calls_;
  std::deque<std::string> order_;  // oldest first, for eviction past max_calls_
};

}  // namespace omniloop::asterisk
