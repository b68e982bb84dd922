#pragma once
// JSON bodies of the admin API.
#include <string>
#include <string_view>

#include "admin/snapshot.h"

namespace omniloop::admin {

// {"error": ..., "hint": ...} (no "hint" when empty).
std::string errorJson(std::string_view error, std::string_view hint = {});
// One pipeline: name, file, state, cursor, counters, stages, sinks, last_error, restarts...
std::string pipelineJson(const PipelineSnapshot& p);
// {"version":..., "pipelines":[...]}.
std::string pipelinesJson(const DaemonSnapshot& s);

struct Readiness {
  bool ready = false;
  std::string json;  // {"status":"ready"|"not ready", "reasons":[...]}
};
// Ready when the daemon is not stopping and every pipeline but the invalid ones is running or
// done. Invalid files are listed as warnings but do not hold readiness back (they never start).
Readiness readiness(const DaemonSnapshot& s);

}  // namespace omniloop::admin
