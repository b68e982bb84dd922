#include "app/export_command.h"

#include <sys/stat.h>

#include <fstream>
#include <iostream>

#include "app/rights_args.h"
#include "app/runtime.h"
#include "store/subject_rights.h"

namespace omniloop::app {

namespace {

constexpr const char* kExportHelp =
    R"(usage: omniloop export --identity TYPE:VALUE [--identity ...] [--output FILE] [options]

Writes one JSON document (GDPR Art. 15 access, Art. 20 portability) with everything the CDP
store holds about the data subject: the profile and every profile merged into it, identities
with their source systems and seen ranges, events with their attributes as stored, consents
with their evidence, merges, identity conflicts, dead letters, and the audit entries about
the subject. A "privacy" section says which values are pseudonymised or masked and why.
The export itself is audited.
  omniloop export --identity email:jane@example.com --output jane.json

options:
  --identity TYPE:VALUE  an identity of the subject (repeatable)
  --output FILE          write the document there (mode 0600; default: standard output)
  --store URI            CDP store (default: from omniloop.yaml)
  --config FILE          omniloop.yaml to use
Exit status: 0 written, 1 the store failed, 2 bad usage.
)";

}  // namespace

int runExportCommand(const std::vector<std::string>& args) {
  return runRightsCommand("export", [&] {
    const RightsArgs a =
        parseRightsArgs(args, {"--identity", "--output", "--store", "--config"}, {});
    if (a.has("--help")) {
      std::cout << kExportHelp;
      return 0;
    }
    for (const auto& e : a.errors) std::cerr << "omniloop export: " << e << "\n";
    if (!a.errors.empty()) return 2;
    if (a.all("--identity").empty()) {
      std::cerr << "omniloop export: name the subject with --identity TYPE:VALUE (e.g. "
                   "email:jane@example.com)\n";
      return 2;
    }
    Runtime rt({a.one("--config"), a.one("--store")});
    std::vector<store::SubjectIdentity> ids;
    const std::vector<std::string> types = rt.identityTypes();
    for (const std::string& text : a.all("--identity"))
      ids.push_back(store::parseSubjectIdentity(text, types, {}));
    const std::string output = a.one("--output");
    const std::string doc =
        store::exportSubject(rt.store(), rt.rightsKeys(), ids, store::cliActor());
    if (output.empty() || output == "-") {
      std::cout << doc << "\n";
      return 0;
    }
    const mode_t old = ::umask(077);  // personal data: readable by its owner only
    std::ofstream f(output, std::ios::binary | std::ios::trunc);
    ::umask(old);
    f << doc << "\n";
    f.close();
    if (!f) {
      std::cerr << "omniloop export: cannot write " << output
                << ": check the directory exists and is writable\n";
      return 1;
    }
    std::cerr << "omniloop export: wrote " << output << "\n";
    return 0;
  });
}

}  // namespace omniloop::app
