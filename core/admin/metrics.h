#pragma once
// Prometheus text exposition format 0.0.4 (what GET /metrics answers).
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "admin/snapshot.h"

namespace omniloop::admin {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

using Label = std::pair<std::string_view, std::string_view>;

// Writes metric families: a family's # HELP and # TYPE lines, then its samples, which must
// follow before the next family starts. Label values and help text are escaped.
class MetricsWriter {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, std::initializer_list<Label> labels, double value);
  void sample(std::string_view name, std::initializer_list<Label> labels, uint64_t value);
  void sample(std::string_view name, std::initializer_list<Label> labels, int64_t value);
  const std::string& text() const { return out_; }

 private:
  void labels(std::initializer_list<Label> labels);
  std::string out_;
};

// Label values: backslash, double quote and line feed escaped.
void appendLabelValue(std::string& out, std::string_view value);
// Shortest text that reads back as the same double; "+Inf", "-Inf", "NaN".
std::string formatMetricValue(double v);

// Every omniloop metric (docs/operations.md, "Metrics reference").
std::string renderMetrics(const DaemonSnapshot& snapshot);

}  // namespace omniloop::admin
