#include "app/purge_command.h"

#include <iostream>
#include <map>

#include "app/rights_args.h"
#include "app/runtime.h"
#include "store/clock.h"
#include "store/subject_rights.h"

namespace omniloop::app {

namespace {

constexpr const char* kPurgeHelp = R"(usage: omniloop purge [--dry-run] [options]

Applies the retention policy of omniloop.yaml once, e.g.
  retention: { default: 3y, call_center: 400d, dead_letters: 30d }
An event is kept for the duration of its type, else of its channel, else the default (by when
it occurred, else when it was ingested); dead letters for dead_letters, else the default.
Profiles left without events go too, with their identities, consents, conflicts and merges.
Prints what it deleted (--dry-run: what it would delete, changing nothing). omniloopd does the
same on a schedule (purge: { interval: 1h, max_rows: 10000 }). Audited (omniloop audit).

options:
  --dry-run      count only
  --store URI    CDP store (default: from omniloop.yaml)
  --config FILE  omniloop.yaml to use
Exit status: 0 done, 1 the store failed, 2 bad usage or no retention configured.
)";

}  // namespace

int runPurgeCommand(const std::vector<std::string>& args) {
  return runRightsCommand("purge", [&] {
    const RightsArgs a = parseRightsArgs(args, {"--store", "--config"}, {"--dry-run"});
    if (a.has("--help")) {
      std::cout << kPurgeHelp;
      return 0;
    }
    for (const auto& e : a.errors) std::cerr << "omniloop purge: " << e << "\n";
    if (!a.errors.empty()) return 2;
    Runtime rt({a.one("--config"), a.one("--store")});
    const store::RetentionPolicy policy = store::parseRetention(rt.config().retention_json);
    if (policy.empty()) {
      std::cerr
          << "omniloop purge: no retention configured: add e.g. `retention: { default: 3y }` to "
          << (rt.config().file.empty() ? std::string("omniloop.yaml") : rt.config().file) << "\n";
      return 2;
    }
    const bool dry = a.has("--dry-run");
    const int64_t now = store::nowMicros();
    std::map<std::string, uint64_t> totals;
    std::vector<std::string> order;
    // Rounds of bounded size, like omniloopd's, until nothing more is due.
    for (;;) {
      const store::PurgeReport r =
          store::purgeExpired(rt.store(), policy, dry, dry ? 0 : 10000, now, store::cliActor());
      for (const auto& c : r.deleted) {
        if (!totals.count(c.table)) order.push_back(c.table);
        totals[c.table] += c.rows;
      }
      if (!r.more) break;
    }
    std::cout << (dry ? "would delete:" : "deleted:");
    for (const auto& t : order) std::cout << " " << t << " " << totals[t];
    std::cout << "\n";
    return 0;
  });
}

}  // namespace omniloop::app
