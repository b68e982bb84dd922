#include "app/audit_command.h"

#include <ctime>
#include <iostream>

#include "app/rights_args.h"
#include "app/runtime.h"
#include "event/json.h"
#include "store/subject_rights.h"

namespace omniloop::app {

namespace {

constexpr const char* kAuditHelp = R"(usage: omniloop audit [--since DATE] [--json] [options]

Lists the audit log of the CDP store, oldest first: every erasure, export, purge (and
detokenisation, key rotation) with who did it (cli:<OS user>, api:token:<token id>), when,
what, the reason and the rows per table. Subjects appear only as suppression derivatives
(s1:...), never as a clear value or a pseudonym.

options:
  --since DATE   only entries at or after DATE (2026-01-31 or 2026-01-31T08:00:00Z, UTC)
  --json         one JSON array
  --store URI    CDP store (default: from omniloop.yaml)
  --config FILE  omniloop.yaml to use
Exit status: 0 listed, 1 the store failed, 2 bad usage.
)";

}  // namespace

std::optional<int64_t> parseAuditDate(const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  char tail = 0;
  if (text.size() == 10 && std::sscanf(text.c_str(), "%4d-%2d-%2d%c", &y, &mo, &d, &tail) == 3) {
  } else if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s,
                         &tail) == 7 &&
             tail == 'Z' && text.back() == 'Z') {
  } else {
    return std::nullopt;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000000;
}

int runAuditCommand(const std::vector<std::string>& args) {
  return runRightsCommand("audit", [&] {
    const RightsArgs a = parseRightsArgs(args, {"--since", "--store", "--config"}, {"--json"});
    if (a.has("--help")) {
      std::cout << kAuditHelp;
      return 0;
    }
    for (const auto& e : a.errors) std::cerr << "omniloop audit: " << e << "\n";
    if (!a.errors.empty()) return 2;
    int64_t since = 0;
    if (a.has("--since")) {
      const auto t = parseAuditDate(a.one("--since"));
      if (!t) {
        std::cerr << "omniloop audit: --since '" << a.one("--since")
                  << "' is not a date: write 2026-01-31 or 2026-01-31T08:00:00Z (UTC)\n";
        return 2;
      }
      since = *t;
    }
    Runtime rt({a.one("--config"), a.one("--store")});
    const std::vector<store::AuditEntry> entries = store::listAudit(rt.store(), since);
    if (a.has("--json")) {
      std::string out = "[";
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += ',';
        event::JsonObjectWriter o(out);
        o.integer("id", entries[i].id).text("at", event::formatTimestamp(entries[i].at));
        o.text("actor", entries[i].actor)
            .text("action", entries[i].action)
            .textOrNull("subject", entries[i].subject);
        o.raw("details", entries[i].details.empty() ? "{}" : entries[i].details);
      }
      out += "]";
      std::cout << out << "\n";
      return 0;
    }
    if (entries.empty()) std::cout << "no audit entries\n";
    for (const store::AuditEntry& e : entries) {
      std::cout << "#" << e.id << "  " << event::formatTimestamp(e.at) << "  " << e.action
                << "  by " << e.actor;
      if (!e.subject.empty()) std::cout << "  subject " << e.subject.substr(0, 24) << "...";
      std::cout << "\n    " << e.details << "\n";
    }
    return 0;
  });
}

}  // namespace omniloop::app
