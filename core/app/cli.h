#pragma once
#include <string>
#include <vector>

namespace omniloop::app {
// The `omniloop` command line. Returns the process exit code:
// 0 ok, 1 a pipeline or the store failed, 2 bad usage or invalid configuration.
int runCli(const std::vector<std::string>& args);
}  // namespace omniloop::app
