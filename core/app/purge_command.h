#pragma once
// `omniloop purge`: applies the retention policy (omniloop.yaml `retention:`) once.
#include <string>
#include <vector>

namespace omniloop::app {

// Exit status: 0 done, 1 the store failed, 2 bad usage or no retention configured.
int runPurgeCommand(const std::vector<std::string>& args);

}  // namespace omniloop::app
