#include "app/erase_command.h"

#include <iostream>

#include "app/rights_args.h"
#include "app/runtime.h"
#include "event/json.h"

namespace omniloop::app {

namespace {

constexpr const char* kEraseHelp =
    R"(usage: omniloop erase --identity TYPE:VALUE [--identity TYPE:VALUE ...] --reason TEXT [options]

Erases a data subject (GDPR Art. 17) from the CDP store: the profile each identity belongs to
and every profile merged into it, their identities, events, consents (the audit entry keeps the
latest status per purpose as proof, without any identifier), dead letters, identity conflicts.
Every identity the subject had gets a suppression entry (a one-way HMAC derivative under the
suppression key, never the pseudonym), so later events carrying it are dropped at ingestion and
counted as `suppressed`. The erasure is audited (omniloop audit). Safe while omniloopd runs.
An identity that matches nothing prints "no data held" (still audited and suppressed).
  omniloop erase --identity email:jane@example.com --reason "request 2024-117"
  omniloop erase --identity email:jane@example.com --identity phone:+447700900123 --reason "ticket 88"

options:
  --identity TYPE:VALUE  an identity of the subject (repeatable); the value is normalised and
                         pseudonymised like ingested ones (a pseudonym h1:... is taken as is)
  --reason TEXT          why (your request reference); required; write no personal data in it
  --store URI            CDP store (default: from omniloop.yaml)
  --config FILE          omniloop.yaml to use
  --json                 print the report as JSON
Exit status: 0 erased or no data held, 1 the store failed (nothing changed), 2 bad usage.
)";

}  // namespace

std::string eraseReportJson(const store::EraseReport& r) {
  std::string out;
  event::JsonObjectWriter o(out);
  o.raw("held", r.held ? "true" : "false").integer("profiles", r.profiles);
  std::string rows;
  {
    event::JsonObjectWriter t(rows);
    for (const auto& c : r.deleted) t.integer(c.table, c.rows);
  }
  o.raw("deleted", rows).integer("suppressions", r.suppressions).integer("audit_id", r.audit_id);
  o.raw("storage_clean", r.storage_clean ? "true" : "false");
  return out;
}

int runEraseCommand(const std::vector<std::string>& args) {
  return runRightsCommand("erase", [&] {
    const RightsArgs a =
        parseRightsArgs(args, {"--identity", "--reason", "--store", "--config"}, {"--json"});
    if (a.has("--help")) {
      std::cout << kEraseHelp;
      return 0;
    }
    for (const auto& e : a.errors) std::cerr << "omniloop erase: " << e << "\n";
    if (!a.errors.empty()) return 2;
    if (a.all("--identity").empty()) {
      std::cerr << "omniloop erase: name the subject with --identity TYPE:VALUE (e.g. "
                   "email:jane@example.com)\n";
      return 2;
    }
    if (a.one("--reason").find_first_not_of(" \t") == std::string::npos) {
      std::cerr << "omniloop erase: give the reason with --reason TEXT (your request reference; no "
                   "personal "
                   "data)\n";
      return 2;
    }
    Runtime rt({a.one("--config"), a.one("--store")});
    store::EraseRequest request;
    const std::vector<std::string> types = rt.identityTypes();
    for (const std::string& text : a.all("--identity")) {
      request.identities.push_back(store::parseSubjectIdentity(text, types, {}));
    }
    request.reason = a.one("--reason");
    request.actor = store::cliActor();
    const store::EraseReport r = store::eraseSubject(rt.store(), rt.rightsKeys(), request);
    if (a.has("--json")) {
      std::cout << eraseReportJson(r) << "\n";
    } else if (!r.held) {
      std::cout << "no data held for the given identities; audited as #" << r.audit_id << ", "
                << r.suppressions << " suppression entr" << (r.suppressions == 1 ? "y" : "ies")
                << " keep them from being ingested\n";
    } else {
      std::cout << "erased " << r.profiles << " profile" << (r.profiles == 1 ? "" : "s")
                << " (merged ones included); rows deleted:";
      for (const auto& c : r.deleted) std::cout << " " << c.table << " " << c.rows;
      std::cout << "\n"
                << r.suppressions << " suppression entr" << (r.suppressions == 1 ? "y" : "ies")
                << " written; audited as #" << r.audit_id << "\n";
    }
    if (!r.storage_clean) {
      std::cerr << "omniloop erase: warning: another process was reading the store, so the WAL "
                   "could not be "
                   "truncated yet; the erased bytes leave it at the next checkpoint (stop "
                   "omniloopd briefly or "
                   "run the erasure again to force it)\n";
    }
    return 0;
  });
}

}  // namespace omniloop::app
