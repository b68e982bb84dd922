#pragma once
// `omniloop detokenize TOKEN --reason TEXT`: prints the clear value behind a vault token (the
// `mask` stage's tokenize method) and writes an audit_log row: who (the OS user), when, which
// token and why, never the value. Needs the vault key (vault_key_file).
#include <string>
#include <vector>

namespace omniloop::app {

// The OS user running this process (for audit rows): $LOGNAME / $USER when they name the real
// uid's account, else the account name of the real uid, else "uid:<n>".
std::string osUser();

// args as given to the CLI (args[1] == "detokenize"). Exit status: 0 printed, 1 unknown token
// or no usable key, 2 bad usage.
int runDetokenizeCommand(const std::vector<std::string>& args);

}  // namespace omniloop::app
