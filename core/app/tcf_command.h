#pragma once
// `omniloop tcf decode STRING [--json]`: decodes an IAB TCF v2.2 TC string (privacy/tcf.h).
#include <string>
#include <vector>

namespace omniloop::app {

// args as given to the CLI (args[1] == "tcf"). Exit status: 0 decoded, 2 bad usage or a string
// that is not a decodable TCF v2 string (version 1, garbage, truncated), with a one-line reason.
int runTcfCommand(const std::vector<std::string>& args);

}  // namespace omniloop::app
