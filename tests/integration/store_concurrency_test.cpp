// Two `omniloop run` processes ingest overlapping customers into one PostgreSQL store at the
// same time; the store must end with the same profiles as one process ingesting both inputs:
// no lost merge, no duplicate identity, no lost or duplicated event, no deadlock left
// unhandled. Profiles are compared by what they are (the set of identities they hold, their
// event count and per-channel counts), since which writer created a profile first decides its id.
#include <algorithm>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "../e2e/command.h"
#include "store_backends.h"

namespace omniloop::testing {
namespace {

using store::testing::PgRaw;

constexpr int kCustomers = 6000;
constexpr int kEventsPerInput = 40000;

// Customer c is known by email, crm id and loyalty card. An input shows each event with one or
// two of them, so a customer often appears under different identifiers in the two inputs and
// only an event carrying two of them links the profiles (a merge, possibly across writers).
void writeInput(const std::string& path, int first_customer, int last_customer, uint64_t seed,
                const std::string& prefix) {
  std::ofstream f(path);
  std::mt19937_64 rng(seed);
  const char* channels[] = {"pos", "web", "call_center", "crm"};
  const int span = last_customer - first_customer;
  for (int i = 0; i < kEventsPerInput; ++i) {
    const uint64_t r = rng();
    const int c = first_customer + static_cast<int>(r % static_cast<uint64_t>(span));
    const unsigned shape = static_cast<unsigned>((r >> 16) % 10);
    f << "{\"id\":\"" << prefix << i << "\",\"channel\":\"" << channels[(r >> 24) % 4]
      << "\",\"ts\":" << 1704067200LL + static_cast<long long>((r >> 32) % 10000000);
    if (shape <= 3 || shape == 8) f << ",\"email\":\"person" << c << "@shop.example\"";
    if ((shape >= 4 && shape <= 6) || shape == 8 || shape == 9) f << ",\"crm\":\"CRM-" << c << "\"";
    if (shape == 7 || shape == 9 || shape == 3) f << ",\"card\":\"LC" << 900000 + c << "\"";
    f << "}\n";
  }
}

std::string pipeline(const std::string& name, const std::string& input) {
  return "version: 1\nname: " + name + "\nsource:\n  type: file.jsonl\n  with: { path: " + input +
         ", key_field: id }\nstages:\n  - map:\n      copy: { email: $identities.email, crm: $identities.crm_id, "
         "card: $identities.loyalty_id, channel: $channel }\n      set: { $type: visit }\n"
         "      time: { from: ts, format: unix }\nsink:\n  type: cdp\nbatch: { size: 500 }\n";
}

// Each profile as "identities (type:hash, sorted) | event_count | events by channel", sorted.
std::multiset<std::string> profilesByContent(const std::string& uri) {
  PgRaw raw(uri);
  const std::string rows = raw.all(
      "SELECT p.id, (SELECT string_agg(i.type || ':' || i.hash, ',' ORDER BY i.type, i.hash) FROM identities i "
      "WHERE i.profile_id = p.id), (SELECT count(*) FROM events e WHERE e.profile_id = p.id), "
      "(SELECT string_agg(ch || '=' || n, ',' ORDER BY ch) FROM (SELECT e.channel AS ch, count(*) AS n FROM events e "
      "WHERE e.profile_id = p.id GROUP BY e.channel) x) FROM profiles p");
  std::multiset<std::string> out;
  size_t pos = 0;
  while (pos < rows.size()) {
    const size_t end = rows.find('\n', pos);
    const std::string line = rows.substr(pos, end - pos);
    out.insert(line.substr(line.find('|') + 1));  // without the id
    pos = end + 1;
  }
  return out;
}

TEST(StoreConcurrency, TwoProcessesOnOnePostgresEqualOneProcess) {
  auto& pg = PgServer::shared();
  const std::string dir = tempDir("concurrency");
  const std::string a_in = dir + "/a.jsonl", b_in = dir + "/b.jsonl";
  writeInput(a_in, 0, kCustomers * 2 / 3, 11, "a-");
  writeInput(b_in, kCustomers / 3, kCustomers, 22, "b-");
  std::ofstream(dir + "/a.yaml") << pipeline("conc-a", a_in);
  std::ofstream(dir + "/b.yaml") << pipeline("conc-b", b_in);

  auto configFor = [&](const std::string& name, const std::string& uri) {
    const std::string path = dir + "/" + name + ".omniloop.yaml";
    std::ofstream(path) << "store: " << uri << "\nkey_file: " << dir << "/shared.key\nlog: { level: warn }\n";
    return path;
  };
  auto runOne = [&](const std::string& config, const std::string& pipeline_file) {
    return runCommand({omniloopBin(), "run", pipeline_file, "--config", config, "--no-progress"});
  };

  // One process, both inputs one after the other.
  const std::string one_uri = pg.uri(pg.createDatabase("conc_one"));
  const std::string one_cfg = configFor("one", one_uri);
  for (const char* p : {"/a.yaml", "/b.yaml"}) {
    const CommandResult r = runOne(one_cfg, dir + p);
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }

  // Two processes at once, twice over (the interleaving differs from run to run).
  for (int round = 0; round < 2; ++round) {
    const std::string two_uri = pg.uri(pg.createDatabase("conc_two"));
    const std::string two_cfg = configFor("two" + std::to_string(round), two_uri);
    CommandResult ra, rb;
    std::thread ta([&] { ra = runOne(two_cfg, dir + "/a.yaml"); });
    std::thread tb([&] { rb = runOne(two_cfg, dir + "/b.yaml"); });
    ta.join();
    tb.join();
    ASSERT_EQ(ra.exit_code, 0) << ra.err;
    ASSERT_EQ(rb.exit_code, 0) << rb.err;

    PgRaw one(one_uri), two(two_uri);
    EXPECT_EQ(two.one("SELECT count(*) FROM events"), std::to_string(2 * kEventsPerInput));
    EXPECT_EQ(one.one("SELECT count(*) FROM events"), std::to_string(2 * kEventsPerInput));
    EXPECT_EQ(two.one("SELECT count(*) FROM identities"), one.one("SELECT count(*) FROM identities"));
    EXPECT_EQ(two.one("SELECT count(*) FROM profiles"), one.one("SELECT count(*) FROM profiles"));
    // Every event points at a profile that exists (a merge re-pointed everything it folded).
    EXPECT_EQ(two.one("SELECT count(*) FROM events e LEFT JOIN profiles p ON p.id = e.profile_id "
                      "WHERE p.id IS NULL"),
              "0");
    EXPECT_EQ(two.one("SELECT count(*) FROM identities i LEFT JOIN profiles p ON p.id = i.profile_id "
                      "WHERE p.id IS NULL"),
              "0");
    // Merges happened (the inputs are built to need them) and the profiles are the same people.
    EXPECT_NE(two.one("SELECT count(*) FROM profile_merges"), "0");
    const auto expected = profilesByContent(one_uri);
    const auto got = profilesByContent(two_uri);
    EXPECT_EQ(expected.size(), got.size());
    EXPECT_TRUE(expected == got) << "round " << round << ": the two-process store holds different profiles";
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace omniloop::testing
