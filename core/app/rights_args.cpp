#include "app/rights_args.h"

#include <algorithm>
#include <iostream>
#include <stdexcept>

#include "store/store.h"

namespace omniloop::app {

const std::vector<std::string>& RightsArgs::all(const std::string& name) const {
  static const std::vector<std::string> kNone;
  auto it = values.find(name);
  return it == values.end() ? kNone : it->second;
}

RightsArgs parseRightsArgs(const std::vector<std::string>& args,
                           const std::vector<std::string>& with_value,
                           const std::vector<std::string>& flags) {
  RightsArgs a;
  auto in = [](const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  for (size_t i = 2; i < args.size(); ++i) {
    std::string name = args[i], value;
    bool inline_value = false;
    if (const size_t eq = name.find('='); name.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    if (name == "--help" || name == "-h") {
      a.values["--help"].push_back("");
    } else if (in(with_value, name)) {
      if (!inline_value) {
        if (i + 1 >= args.size()) {
          a.errors.push_back(name + " needs a value");
          continue;
        }
        value = args[++i];
      }
      a.values[name].push_back(value);
    } else if (in(flags, name) && !inline_value) {
      a.values[name].push_back("");
    } else {
      a.errors.push_back(name.rfind("-", 0) == 0 ? "unknown option " + name
                                                 : "unexpected argument '" + name + "'");
    }
  }
  return a;
}

int runRightsCommand(const std::string& command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "omniloop " << command << ": " << e.what() << "\n";
    return 2;
  } catch (const store::StoreError& e) {
    std::cerr << "omniloop " << command << ": the store failed, nothing was changed: " << e.what()
              << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "omniloop " << command << ": " << e.what() << "\n";
    return 1;
  }
}

}  // namespace omniloop::app
