#pragma once
// Command-line parsing shared by the data subject's rights commands (erase, export, audit,
// purge): options may repeat (--identity), and every failure is a sentence for stderr.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/loader.h"
#include "config/pipeline_spec.h"

namespace omniloop::app {

struct RightsArgs {
  std::map<std::string, std::vector<std::string>> values;  // --name -> values (flags: "")
  std::vector<std::string> errors;

  bool has(const std::string& name) const { return values.count(name) > 0; }
  std::string one(const std::string& name) const {
    auto it = values.find(name);
    return it == values.end() || it->second.empty() ? std::string() : it->second.back();
  }
  const std::vector<std::string>& all(const std::string& name) const;
};

// args[0] = "omniloop", args[1] = the command. `with_value`: options that take a value;
// `flags`: options that take none. Anything else is an error.
RightsArgs parseRightsArgs(const std::vector<std::string>& args,
                           const std::vector<std::string>& with_value,
                           const std::vector<std::string>& flags);

// Runs `body` and maps failures to exit codes: bad usage / configuration 2, the store (or
// anything else) 1; messages go to stderr prefixed "omniloop <command>: ".
int runRightsCommand(const std::string& command, const std::function<int()>& body);

}  // namespace omniloop::app
