#pragma once
// Computed profile traits: the built-ins (event_count, events_by_channel) and the configured
// ones (count, sum, min, max, last, distinct over an event field, optionally only for some
// channels / event types). Kept per profile in memory, folded event by event, combined on a
// merge, and stored as two JSON objects: `traits` for people and programs, `traits_meta` for
// what exact combining needs (the time of each `last` value).
//
// Every operation gives the same result whatever the batch boundaries: sums are kept as exact
// integers of micro-units (6 decimals), `last` compares occurred_at (a later event with an
// equal time wins), `distinct` keeps the smallest Config::max_distinct values in sorted order.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "event/event.h"
#include "identity/config.h"

namespace omniloop::identity {

class Traits {
 public:
  // Sized for `config` on first use (values start empty).
  void observe(const Config& config, const event::Event& e, int64_t seen);
  // Folds `other` (a profile merged into this one) in.
  void combine(const Config& config, const Traits& other);
  // Replaces `traits` and `meta` with the JSON objects.
  void toJson(const Config& config, std::string& traits, std::string& meta) const;
  // From stored JSON; unknown or mistyped members are ignored (a trait removed from the config,
  // or one whose definition changed, starts over). false when the text is not a JSON object.
  bool fromJson(const Config& config, std::string_view traits, std::string_view meta);
  void clear();

  int64_t eventCount() const { return event_count_; }

 private:
  struct Value {
    bool has = false;
    int64_t n = 0;        // count; sum in micro-units; last: occurred_at
    double d = 0;         // min, max
    std::string text;     // last: the value as JSON text
    std::vector<std::string> set;  // distinct: JSON texts, sorted
  };
  void size(const Config& config);

  int64_t event_count_ = 0;
  std::vector<std::pair<std::string, int64_t>> by_channel_;  // sorted by channel
  std::vector<Value> values_;                                // one per Config::traits
};

// Parses a decimal number exactly into micro-units (6 decimals, rounded half away from zero);
// false for anything that is not a finite decimal number in range.
bool parseMicros(std::string_view text, int64_t& out);
// Writes micro-units as the shortest exact decimal ("12.5", "-3", "0.000001").
void appendMicros(std::string& out, int64_t micros);

}  // namespace omniloop::identity
