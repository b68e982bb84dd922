#pragma once
// `omniloop status`: asks a running omniloopd for its pipelines (GET /v1/pipelines) and prints
// them as a table.
#include <string>
#include <vector>

namespace omniloop::app {

// args as given to the CLI (args[1] == "status"). Exit status: 0 the daemon answered, 1 it is
// unreachable or refused the request, 2 bad usage or an invalid config file.
int runStatusCommand(const std::vector<std::string>& args);

}  // namespace omniloop::app
