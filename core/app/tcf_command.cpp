#include "app/tcf_command.h"

#include <iostream>

#include "privacy/tcf.h"

namespace omniloop::app {

namespace {

constexpr const char* kTcfHelp = R"(usage: omniloop tcf decode STRING [--json]

Decodes an IAB TCF v2.2 TC string (the consent string a CMP banner writes, e.g. the euconsent-v2
cookie): the core segment (dates, CMP, purposes, special features, vendor consents and
legitimate interests, publisher restrictions) and the disclosed-vendors, allowed-vendors and
publisher-TC segments.
  --json                one JSON object {"core": {...}, "segments": [...]} with the IAB field
                        names (Version, Created, PurposesConsent, VendorConsents, ...)
Exit status: 0 decoded, 2 usage or a string that is not a TCF v2 string (the reason on stderr).
)";

}  // namespace

int runTcfCommand(const std::vector<std::string>& args) {
  bool json = false;
  std::vector<std::string> positional;
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--json") {
      json = true;
    } else if (args[i] == "--help" || args[i] == "-h") {
      std::cout << kTcfHelp;
      return 0;
    } else {
      positional.push_back(args[i]);
    }
  }
  if (positional.size() != 2 || positional[0] != "decode") {
    std::cerr << "omniloop tcf: expected `omniloop tcf decode STRING [--json]`\n";
    return 2;
  }
  privacy::tcf::TcString tc;
  std::string error;
  if (!privacy::tcf::decode(positional[1], tc, error)) {
    std::cerr << "omniloop tcf decode: not a TCF v2 string: " << error << "\n";
    return 2;
  }
  if (json) {
    std::cout << privacy::tcf::toJson(tc) << "\n";
  } else {
    std::cout << privacy::tcf::toText(tc);
  }
  return 0;
}

}  // namespace omniloop::app
