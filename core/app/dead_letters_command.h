#pragma once
// `omniloop dead-letters list|show|replay`: the records a pipeline could not store, with why;
// and, once the cause is fixed, a replay through the pipeline that removes each dead letter
// whose record now goes through and keeps (with its new reason) each one that fails again.
#include <string>
#include <vector>

namespace omniloop::app {

// args as given to the CLI (args[1] == "dead-letters"). Exit status: 0 done (replay: every
// replayed record now went through), 1 the store or the replay run failed, or `show` found no
// such dead letter, 2 bad usage or an invalid file, 3 replay: some records failed again or were
// not found in the source (they stay dead letters).
int runDeadLettersCommand(const std::vector<std::string>& args);

}  // namespace omniloop::app
