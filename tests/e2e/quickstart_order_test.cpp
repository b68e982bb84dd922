// The quickstart's unified profiles do not depend on the order its pipelines ran in (issue 10
// §1, docs/store.md "Identity resolution"): every order of the pipelines in
// examples/quickstart/pipelines/ (today four, so 24 orders), each run by `omniloop run` as a
// user would, ends with the same profiles: the same identities grouped together, the same
// events on each, the same traits. Profile ids may differ (a profile is named by the identity
// that opened it), so profiles are compared by their identities.
//
// The pipelines are whatever *.yaml the quickstart holds: the test follows the quickstart when
// its pipelines change. Orders share prefixes, so each prefix runs once and its store is copied
// for the orders that continue it (4 + 12 + 24 + 24 runs for four pipelines, not 96).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "command.h"
#include "sqlite_query.h"

namespace omniloop::testing {
namespace {

namespace fs = std::filesystem;

// The quickstart's pipelines: the one list the test takes them from.
std::vector<std::string> quickstartPipelines(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// The store as profiles named by their identities: "identities | events | traits" per profile,
// sorted, plus the events without a profile.
std::string partition(const std::string& db) {
  std::map<std::string, std::set<std::string>> ids, events;
  std::map<std::string, std::string> traits;
  std::stringstream rows(
      query(db,
            "SELECT lower(hex(profile_id)) || '|' || type || ':' || lower(hex(hash)) "
            "FROM identities"));
  for (std::string line; std::getline(rows, line);) {
    const size_t bar = line.find('|');
    ids[line.substr(0, bar)].insert(line.substr(bar + 1));
  }
  std::stringstream evs(query(
      db, "SELECT coalesce(lower(hex(profile_id)), '-') || '|' || lower(hex(id)) FROM events"));
  for (std::string line; std::getline(evs, line);) {
    const size_t bar = line.find('|');
    events[line.substr(0, bar)].insert(line.substr(bar + 1));
  }
  std::stringstream ps(query(db, "SELECT lower(hex(id)) || '|' || traits FROM profiles"));
  for (std::string line; std::getline(ps, line);) {
    const size_t bar = line.find('|');
    traits[line.substr(0, bar)] = line.substr(bar + 1);
  }
  std::set<std::string> out;
  for (const auto& [profile, t] : traits) {
    std::string row;
    for (const std::string& id : ids[profile]) row += id + " ";
    row += "| events:";
    for (const std::string& e : events[profile]) row += " " + e;
    row += " | " + t;
    out.insert(row);
  }
  std::string text = std::to_string(out.size()) + " profiles\n";
  for (const std::string& r : out) text += r + "\n";
  text += "without a profile:";
  for (const std::string& e : events["-"]) text += " " + e;
  return text + "\n";
}

class QuickstartOrder : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tempDir("quickstart-order");
    fs::create_directories(fs::path(root_) / "examples");
    fs::create_directories(fs::path(root_) / "var");
    fs::create_directories(fs::path(root_) / "stores");
    fs::copy(sourceDir() + "/examples/quickstart", fs::path(root_) / "examples" / "quickstart",
             fs::copy_options::recursive);
    quickstart_ = (fs::path(root_) / "examples" / "quickstart").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string storePath(const std::vector<std::string>& prefix) const {
    std::string name = "s";
    for (const std::string& p : prefix) name += "-" + p;
    return root_ + "/stores/" + name + ".db";
  }

  // Runs `pipeline` into a copy of `prefix`'s store; returns false (and fails) when it fails.
  bool runAfter(const std::vector<std::string>& prefix, const std::string& pipeline) {
    std::vector<std::string> next = prefix;
    next.push_back(pipeline);
    if (!prefix.empty()) {
      for (const char* suffix : {"", "-wal"}) {
        if (fs::exists(storePath(prefix) + suffix))
          fs::copy_file(storePath(prefix) + suffix, storePath(next) + suffix);
      }
    }
    const CommandResult r = runCommand(
        {omniloopBin(), "run", quickstart_ + "/pipelines/" + pipeline + ".yaml", "--config",
         quickstart_ + "/omniloop.yaml", "--store", "sqlite:" + storePath(next), "--no-progress"});
    EXPECT_EQ(r.exit_code, 0) << pipeline << " after " << prefix.size() << " others\n"
                              << r.out << r.err;
    return r.exit_code == 0;
  }

  // Every order continuing `prefix`: the final store's partition per order.
  void explore(const std::vector<std::string>& prefix, const std::vector<std::string>& all,
               std::map<std::string, std::string>& results) {
    if (prefix.size() == all.size()) {
      std::string order;
      for (const std::string& p : prefix) order += (order.empty() ? "" : ", ") + p;
      results[order] = partition(storePath(prefix));
      return;
    }
    for (const std::string& p : all) {
      if (std::find(prefix.begin(), prefix.end(), p) != prefix.end()) continue;
      if (!runAfter(prefix, p)) return;
      std::vector<std::string> next = prefix;
      next.push_back(p);
      explore(next, all, results);
      if (::testing::Test::HasFailure()) return;
    }
  }

  std::string root_, quickstart_;
};

TEST_F(QuickstartOrder, EveryOrderOfThePipelinesGivesTheSameProfiles) {
  const std::vector<std::string> pipelines = quickstartPipelines(quickstart_ + "/pipelines");
  ASSERT_GE(pipelines.size(), 2u) << "the quickstart has no pipelines to order";
  // The orders share one pseudonymisation key: the first run creates it (it then persists).
  std::map<std::string, std::string> results;
  explore({}, pipelines, results);
  ASSERT_FALSE(HasFailure());
  size_t expected = 1;
  for (size_t i = 2; i <= pipelines.size(); ++i) expected *= i;
  ASSERT_EQ(results.size(), expected);
  const auto& [first_order, first] = *results.begin();
  for (const auto& [order, got] : results) {
    EXPECT_EQ(got, first) << "order " << order << " differs from " << first_order;
  }
  // Not trivially equal: the quickstart has people on several channels, some merged.
  EXPECT_NE(first.find(" profiles\n"), std::string::npos);
  std::cout << "quickstart, " << results.size() << " orders, all alike:\n" << first;
}

}  // namespace
}  // namespace omniloop::testing
