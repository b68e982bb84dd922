#pragma once
// `omniloop keys status|rotate|retire`: the pseudonymisation key's rotation (docs/privacy.md
// "Keys and rotation"). rotate writes a new key into key_file and keeps the old one as
// <key_file>.previous: during this dual-hash period identities stored under the old key are
// renamed to their new-key pseudonym the first time their clear value is ingested again, so
// one person keeps one profile. retire deletes the previous key and ends the period. Each
// writes an audit_log row.
#include <string>
#include <vector>

namespace omniloop::app {

// args as given to the CLI (args[1] == "keys"). Exit status: 0 done, 1 refused or failed,
// 2 bad usage.
int runKeysCommand(const std::vector<std::string>& args);

}  // namespace omniloop::app
