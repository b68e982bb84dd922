#include "identity/resolver.h"

#include <gtest/gtest.h>

#include <deque>

#include "memory_graph.h"

namespace omniloop::identity {
namespace {

using testing::MemoryGraph;

// A stand-in pseudonym: "h1:<key id>:<64 hex>" derived from type and value.
std::string pseudo(std::string_view type, std::string_view value) {
  return "h1:0badcafe:" + event::makeEventId(type, value) + event::makeEventId(value, type);
}
std::string idOf(std::string_view type, std::string_view value) {
  std::string id;
  newProfileId(pseudo(type, value), id);
  return id;
}

struct Ev {
  std::string id;
  std::vector<std::pair<std::string, std::string>> ids;  // type, clear value
  int64_t seen = 1000;
  std::string channel = "crm";
  double total = 0;
};

// Feeds events through a resolver in batches of `batch_size`, as a backend's writeBatch
// does; MemoryGraph::events plays the events table.
class Harness {
 public:
  explicit Harness(Config config = defaultConfig()) : resolver(std::move(config)) {}

  void run(const std::vector<Ev>& events, size_t batch_size = 1000, bool cache_valid = true) {
    for (size_t start = 0; start < events.size(); start += batch_size) {
      resolver.beginBatch(++now, cache_valid);
      for (size_t i = start; i < std::min(events.size(), start + batch_size); ++i) one(events[i]);
      resolver.flush(graph);
      resolver.committed();
    }
  }
  std::string profileOf(const std::string& type, const std::string& value) const {
    return graph.profileOf(type, pseudo(type, value));
  }
  size_t profiles() const { return graph.profiles.size(); }
  std::string traits(const std::string& profile) const { return graph.profiles.at(profile).traits; }

  MemoryGraph graph;
  Resolver resolver;
  int64_t now = 0;

 private:
  void one(const Ev& spec) {
    hashes_.clear();
    keys_.clear();
    for (const auto& [type, value] : spec.ids) hashes_.push_back(pseudo(type, value));
    for (size_t i = 0; i < spec.ids.size(); ++i) keys_.push_back({spec.ids[i].first, hashes_[i]});
    const Resolution r = resolver.resolve(graph, keys_, spec.id, "test", spec.seen);
    const bool inserted = graph.events.emplace(spec.id, std::string(r.profile)).second;
    if (!inserted) graph.events[spec.id] = std::string(r.profile);
    event::Event e;
    e.id = spec.id;
    e.channel = spec.channel;
    e.type = "t";
    if (spec.total != 0) e.set("total", event::Value::real(spec.total));
    resolver.observe(r, e, spec.seen, inserted);
  }
  std::deque<std::string> hashes_;
  std::vector<Key> keys_;
};

TEST(Resolver, UnknownIdentitiesMakeAProfileNamedByTheStrongest) {
  Harness h;
  h.run({{"e1", {{"phone", "+4989123456"}, {"email", "ann@example.com"}}}});
  ASSERT_EQ(h.profiles(), 1u);
  const std::string ann = h.profileOf("email", "ann@example.com");
  EXPECT_EQ(ann, idOf("email", "ann@example.com"));  // email outranks phone
  EXPECT_EQ(h.profileOf("phone", "+4989123456"), ann);
  EXPECT_EQ(h.graph.events.at("e1"), ann);
}

TEST(Resolver, AKnownIdentityAttachesTheEventsNewOnes) {
  Harness h;
  h.run({{"e1", {{"email", "ann@example.com"}}, 500},
         {"e2", {{"email", "ann@example.com"}, {"crm_id", "7"}}, 900}});
  EXPECT_EQ(h.profiles(), 1u);
  EXPECT_EQ(h.profileOf("crm_id", "7"), h.profileOf("email", "ann@example.com"));
  const auto& row = h.graph.identities.at({"email", pseudo("email", "ann@example.com")});
  EXPECT_EQ(row.first_seen, 500);
  EXPECT_EQ(row.last_seen, 900);
  const auto& p = h.graph.profiles.at(h.profileOf("email", "ann@example.com"));
  EXPECT_EQ(p.first_seen, 500);
  EXPECT_EQ(p.last_seen, 900);
}

TEST(Resolver, AnEventCarryingTwoProfilesIdentitiesMergesThemIntoTheSmallestId) {
  Harness h;
  h.run({{"e1", {{"email", "ann@example.com"}}, 100, "web", 0},
         {"e2", {{"crm_id", "7"}}, 200, "pos", 20.5},
         {"e3", {{"crm_id", "7"}, {"email", "ann@example.com"}}, 300, "crm", 0}});
  const std::string a = idOf("email", "ann@example.com"), b = idOf("crm_id", "7");
  const std::string winner = std::min(a, b), loser = std::max(a, b);
  ASSERT_EQ(h.profiles(), 1u);
  EXPECT_EQ(h.graph.profiles.count(winner), 1u);
  EXPECT_EQ(h.profileOf("email", "ann@example.com"), winner);
  EXPECT_EQ(h.profileOf("crm_id", "7"), winner);
  for (const char* e : {"e1", "e2", "e3"}) EXPECT_EQ(h.graph.events.at(e), winner) << e;
  ASSERT_EQ(h.graph.merges.size(), 1u);
  EXPECT_EQ(h.graph.merges[0].from, loser);
  EXPECT_EQ(h.graph.merges[0].into, winner);
  EXPECT_EQ(h.graph.merges[0].reason,
            (loser == a ? "email" : "crm_id") + std::string(" via event e3"));
  EXPECT_EQ(h.traits(winner), R"({"event_count":3,"events_by_channel":{"crm":1,"pos":1,"web":1}})");
  EXPECT_EQ(h.graph.profiles.at(winner).first_seen, 100);
  EXPECT_EQ(h.graph.profiles.at(winner).last_seen, 300);
  EXPECT_EQ(h.resolver.stats().merges, 1u);
}

TEST(Resolver, AMergeThatWouldBreakAPerTypeLimitIsRefusedAndRecorded) {
  Harness h;  // crm_id: at most 1 per profile (default)
  h.run({{"e1", {{"crm_id", "1"}, {"email", "ann@example.com"}}},
         {"e2", {{"crm_id", "2"}}},
         {"e3", {{"crm_id", "2"}, {"email", "ann@example.com"}}}});
  const std::string a = h.profileOf("crm_id", "1"), b = h.profileOf("crm_id", "2");
  EXPECT_NE(a, b);
  EXPECT_EQ(h.profiles(), 2u);
  EXPECT_EQ(h.profileOf("email", "ann@example.com"), a);  // stays
  EXPECT_EQ(h.graph.events.at("e3"), b);                  // crm_id outranks email
  EXPECT_TRUE(h.graph.merges.empty());
  const auto& c =
      h.graph.conflicts.at({"email", pseudo("email", "ann@example.com"), "max_per_profile:crm_id"});
  EXPECT_EQ(c.profile, a);
  EXPECT_EQ(c.other, b);
  EXPECT_EQ(c.occurrences, 1u);
}

TEST(Resolver, AConflictNamesWhereItsProfileWentWhenTheBatchMergesItLater) {
  // A social id whose profile sorts first, so the later merge folds crm 1's profile into it.
  std::string social;
  for (int i = 0; idOf("social", social = "s" + std::to_string(i)) > idOf("crm_id", "1"); ++i) {
  }
  Harness h;  // one batch
  h.run({{"e0", {{"social", social}}},
         {"e1", {{"crm_id", "1"}, {"email", "ann@example.com"}}},
         {"e2", {{"crm_id", "2"}}},
         {"e3", {{"crm_id", "2"}, {"email", "ann@example.com"}}},  // ann stays on crm 1's profile
         {"e4", {{"email", "ann@example.com"}, {"social", social}}}});  // which then folds away
  ASSERT_EQ(h.graph.merges.size(), 1u);
  EXPECT_EQ(h.graph.merges[0].from, idOf("crm_id", "1"));
  const auto& c =
      h.graph.conflicts.at({"email", pseudo("email", "ann@example.com"), "max_per_profile:crm_id"});
  EXPECT_EQ(c.profile, idOf("social", social));
  EXPECT_EQ(c.other, idOf("crm_id", "2"));
}

TEST(Resolver, ANewIdentityOverItsLimitIsLeftUnlinked) {
  Harness h;
  h.run({{"e1", {{"crm_id", "1"}, {"loyalty_id", "L0"}}},
         {"e2", {{"crm_id", "1"}, {"loyalty_id", "L1"}}}});
  const std::string a = h.profileOf("crm_id", "1");
  EXPECT_EQ(h.graph.events.at("e2"), a);
  EXPECT_EQ(h.profileOf("loyalty_id", "L1"), "");  // not linked anywhere
  const auto& c = h.graph.conflicts.at(
      {"loyalty_id", pseudo("loyalty_id", "L1"), "max_per_profile:loyalty_id"});
  EXPECT_EQ(c.profile, "");
  EXPECT_EQ(c.other, a);
}

TEST(Resolver, AStrongerNewIdentityOpensItsOwnProfileRatherThanBreakAWeakerMatchsLimit) {
  Harness h;
  h.run({{"e1", {{"crm_id", "1"}, {"email", "family@example.com"}}},
         {"e2",
          {{"crm_id", "2"}, {"email", "family@example.com"}}}});  // two CRM records, one mailbox
  EXPECT_EQ(h.profiles(), 2u);
  EXPECT_EQ(h.graph.events.at("e2"), idOf("crm_id", "2"));
  EXPECT_EQ(h.profileOf("email", "family@example.com"), idOf("crm_id", "1"));
}

std::vector<Ev> sharedPhone(int customers) {
  std::vector<Ev> events;
  for (int i = 0; i < customers; ++i) {
    events.push_back(
        {"e" + std::to_string(i),
         {{"email", "member" + std::to_string(i) + "@family.example"}, {"phone", "+4989555000"}},
         1000 + i});
  }
  return events;
}

TEST(Resolver, ThousandCustomersSharingOnePhoneStayThousandProfiles) {
  Harness h;
  h.run(sharedPhone(1000), 64);
  EXPECT_EQ(h.profiles(), 1000u);
  EXPECT_TRUE(h.graph.merges.empty());
  // The phone belongs to the first profile that had it; a call from it lands there.
  const std::string first = h.profileOf("email", "member0@family.example");
  EXPECT_EQ(h.profileOf("phone", "+4989555000"), first);
  h.run({{"call", {{"phone", "+4989555000"}}, 5000, "call_center"}});
  EXPECT_EQ(h.graph.events.at("call"), first);
  EXPECT_EQ(h.profiles(), 1000u);
  EXPECT_EQ(h.graph.profiles.at(first).last_seen, 5000);
}

TEST(Resolver, AStrongPhoneStillCannotFuseCustomersWhenEmailsAreLimitedToOne) {
  Harness h(parseConfig(R"({"types":{"phone":{"merge":true},"email":{"max_per_profile":1}}})"));
  h.run(sharedPhone(1000), 100);
  EXPECT_EQ(h.profiles(), 1000u);
  EXPECT_TRUE(h.graph.merges.empty());
  const auto& c =
      h.graph.conflicts.at({"phone", pseudo("phone", "+4989555000"), "max_per_profile:email"});
  EXPECT_EQ(c.occurrences, 999u);
}

TEST(Resolver, WithoutGuardsASharedIdentifierDoesFuse) {
  // The counter-check: the guards above are what keeps them apart.
  Harness h(parseConfig(R"({"types":{"phone":{"merge":true},"email":{"max_per_profile":0}}})"));
  h.run(sharedPhone(50), 10);
  EXPECT_EQ(h.profiles(), 1u);
}

TEST(Resolver, PriorityDecidesWhichProfileTheEventJoinsWhenGuardsBlock) {
  const std::vector<Ev> events = {{"e1", {{"crm_id", "1"}, {"loyalty_id", "L0"}}},
                                  {"e2", {{"email", "bob@example.com"}, {"loyalty_id", "L1"}}},
                                  {"e3", {{"email", "bob@example.com"}, {"crm_id", "1"}}}};
  Harness by_default;
  by_default.run(events);
  EXPECT_EQ(by_default.graph.events.at("e3"), by_default.profileOf("crm_id", "1"));
  Harness email_first(parseConfig(R"({"types":{"email":{"priority":1},"crm_id":{"priority":2}}})"));
  email_first.run(events);
  EXPECT_EQ(email_first.graph.events.at("e3"), email_first.profileOf("email", "bob@example.com"));
  EXPECT_EQ(by_default.profiles(), 2u);
  EXPECT_EQ(email_first.profiles(), 2u);
}

TEST(Resolver, WeakIdentifiersAloneAnchorButNeverMerge) {
  Harness h;
  h.run({{"e1", {{"email", "ann@example.com"}, {"device_id", "kiosk-1"}}},
         {"e2", {{"email", "bob@example.com"}, {"phone", "+4930111222"}}},
         {"e3", {{"device_id", "kiosk-1"}, {"phone", "+4930111222"}}}});  // both weak: no merge
  EXPECT_EQ(h.profiles(), 2u);
  EXPECT_EQ(h.graph.events.at("e3"), h.profileOf("phone", "+4930111222"));  // phone outranks device
}

// Issue 10: calls (phone only) before the CRM record (email + phone) end as one profile, as
// they do the other way round.
TEST(Resolver, AWeakOnlyProfileIsAbsorbedWhenAStrongClusterClaimsItsWeakIdentifier) {
  const std::vector<Ev> calls = {
      {"c1", {{"phone", "+14155550123"}}, 100, "call_center"},
      {"c2", {{"phone", "+14155550123"}, {"device_id", "pbx-7"}}, 150, "call_center"}};
  const Ev crm{"r1", {{"email", "amy@demo.net"}, {"phone", "+14155550123"}}, 200, "crm"};
  Harness calls_first, crm_first;
  std::vector<Ev> a = calls, b = {crm};
  a.push_back(crm);
  b.insert(b.end(), calls.begin(), calls.end());
  calls_first.run(a, 1);
  crm_first.run(b, 1);
  for (Harness* h : {&calls_first, &crm_first}) {
    ASSERT_EQ(h->profiles(), 1u);
    const std::string amy = h->profileOf("email", "amy@demo.net");
    EXPECT_EQ(h->profileOf("phone", "+14155550123"), amy);
    EXPECT_EQ(h->profileOf("device_id", "pbx-7"), amy);
    for (const char* e : {"c1", "c2", "r1"}) EXPECT_EQ(h->graph.events.at(e), amy) << e;
    EXPECT_NE(h->traits(amy).find(R"("event_count":3)"), std::string::npos) << h->traits(amy);
  }
  // The calls' profile takes the email (no merge needed: the email was new).
  EXPECT_EQ(calls_first.profileOf("email", "amy@demo.net"), idOf("phone", "+14155550123"));
  EXPECT_TRUE(calls_first.graph.merges.empty());
}

// A phone claimed by two emails (a household) never fuses them, whatever the order; the
// calls before the first claim go with the first claim.
TEST(Resolver, AWeakOnlyProfileClaimedByTwoPeopleGoesToTheFirstAndNeverFusesThem) {
  Harness h;
  h.run({{"c1", {{"phone", "+4930111222"}}, 100},
         {"r1", {{"email", "ann@example.com"}, {"phone", "+4930111222"}}, 200},
         {"r2", {{"email", "bob@example.com"}, {"phone", "+4930111222"}}, 300},
         {"c2", {{"phone", "+4930111222"}}, 400}},
        1);
  EXPECT_EQ(h.profiles(), 2u);
  const std::string ann = h.profileOf("email", "ann@example.com");
  EXPECT_NE(ann, h.profileOf("email", "bob@example.com"));
  EXPECT_EQ(h.profileOf("phone", "+4930111222"), ann);
  for (const char* e : {"c1", "r1", "c2"}) EXPECT_EQ(h.graph.events.at(e), ann) << e;
}

// A weak-only profile absorbed into a known strong profile is a recorded merge.
TEST(Resolver, AbsorbingAWeakOnlyProfileIntoAKnownOneIsARecordedMerge) {
  Harness h;
  h.run({{"r0", {{"email", "amy@demo.net"}}, 50},
         {"c1", {{"phone", "+14155550123"}}, 100, "call_center", 12.5},
         {"r1", {{"email", "amy@demo.net"}, {"phone", "+14155550123"}}, 200}},
        1);
  ASSERT_EQ(h.profiles(), 1u);
  ASSERT_EQ(h.graph.merges.size(), 1u);
  EXPECT_NE(h.graph.merges[0].reason.find("phone via event r1"), std::string::npos)
      << h.graph.merges[0].reason;
  const std::string amy = h.profileOf("email", "amy@demo.net");
  EXPECT_EQ(h.graph.events.at("c1"), amy);
  EXPECT_NE(h.traits(amy).find(R"("event_count":3)"), std::string::npos) << h.traits(amy);
  EXPECT_NE(h.traits(amy).find(R"("call_center":1)"), std::string::npos) << h.traits(amy);
}

// Weak-only profiles linked by an event of weak identifiers only become one, in any order.
TEST(Resolver, AnEventOfWeakIdentifiersJoinsTheirWeakOnlyProfiles) {
  const std::vector<Ev> events = {{"e1", {{"phone", "+4930111222"}}},
                                  {"e2", {{"device_id", "tab-1"}}},
                                  {"e3", {{"device_id", "tab-1"}, {"phone", "+4930111222"}}}};
  Harness forward, backward;
  forward.run(events, 1);
  backward.run({events[2], events[1], events[0]}, 1);
  EXPECT_EQ(forward.profiles(), 1u);
  EXPECT_EQ(backward.profiles(), 1u);
}

std::vector<Ev> mixedStream() {
  std::vector<Ev> events;
  // People appear under one identifier, later under two (merges), some share a phone.
  for (int i = 0; i < 60; ++i) {
    const std::string n = std::to_string(i % 20);
    Ev e{"s" + std::to_string(i),
         {},
         10'000 - i * 37 % 500,
         i % 3 == 0 ? "pos" : "web",
         (i % 7) * 1.25};
    // Person n shows a different face each round (i / 20): email only, crm id only, both.
    const int shape = (i + i / 20) % 4;
    if (shape == 0) e.ids.push_back({"email", "p" + n + "@example.com"});
    if (shape == 1) e.ids.push_back({"crm_id", "C" + n});
    if (shape == 2) e.ids = {{"crm_id", "C" + n}, {"email", "p" + n + "@example.com"}};
    if (shape == 3)
      e.ids = {{"loyalty_id", "L" + n}, {"phone", "+49301000" + std::to_string(i % 5)}};
    if (i % 10 == 9)
      e.ids.push_back({"email", "p" + std::to_string((i + 1) % 20) + "@example.com"});
    events.push_back(e);
  }
  return events;
}

std::string dump(const MemoryGraph& g) {
  std::string out;
  for (const auto& [key, row] : g.identities) {
    out += key.first + " " + key.second + " -> " + row.profile + " " +
           std::to_string(row.first_seen) + "-" + std::to_string(row.last_seen) + "\n";
  }
  for (const auto& [id, p] : g.profiles) {
    out += id + " " + std::to_string(p.first_seen) + "-" + std::to_string(p.last_seen) + " " +
           p.traits + " " + p.traits_meta + "\n";
  }
  for (const auto& m : g.merges) out += m.from + " > " + m.into + " " + m.reason + "\n";
  for (const auto& [id, p] : g.events) out += id + " @ " + p + "\n";
  return out;
}

TEST(Resolver, ResultsDoNotDependOnBatchBoundariesOrCaches) {
  const Config cfg = parseConfig(R"({"traits":{"ltv":{"sum":"total","where":{"channel":"pos"}},
      "last_channel":{"last":"$channel"},"channels":{"distinct":"$channel"}}})");
  Harness one(cfg);
  one.run(mixedStream(), 1000);
  ASSERT_GT(one.graph.merges.size(), 0u);
  const std::string expected = dump(one.graph);
  for (size_t size : {1, 7, 16}) {
    for (bool cache : {true, false}) {
      Harness other(cfg);
      other.run(mixedStream(), size, cache);
      EXPECT_EQ(dump(other.graph), expected)
          << "batches of " << size << (cache ? "" : ", cold caches");
    }
  }
}

TEST(Resolver, ReplayedEventsAreNeverCountedTwice) {
  const Config cfg = parseConfig(R"({"traits":{"ltv":{"sum":"total"}}})");
  Harness h(cfg);
  h.run(mixedStream(), 9);
  const std::string before = dump(h.graph);
  h.run(mixedStream(), 13);  // the same events again, warm
  EXPECT_EQ(dump(h.graph), before);
  Harness cold(cfg);
  cold.graph = h.graph;
  cold.run(mixedStream(), 5, false);  // and through a resolver that knows nothing
  EXPECT_EQ(dump(cold.graph), before);
}

TEST(Resolver, ACachedResolverNoticesWhenToldTheStoreChanged) {
  Harness h;
  h.run({{"e1", {{"email", "ann@example.com"}}}});
  const std::string ann = h.profileOf("email", "ann@example.com");
  // Another writer re-points Ann's email behind the resolver's back.
  h.graph.insertProfile("ffffffffffffffffffffffffffffffff", 1, 1, 1);
  h.graph.identities.at({"email", pseudo("email", "ann@example.com")}).profile =
      "ffffffffffffffffffffffffffffffff";
  h.run({{"e2", {{"email", "ann@example.com"}}}}, 10, /*cache_valid=*/false);
  EXPECT_EQ(h.graph.events.at("e2"), "ffffffffffffffffffffffffffffffff");
}

// A new profile is named by its identity's pseudonym (its first 32 hex digits). When that id
// is taken (a 128-bit collision, or a profile row some other writer made) the next candidate
// is derived from the same identity: deterministic, and never the same id again (it used to
// be, and the resolver looped for ever).
TEST(Resolver, ATakenProfileIdGivesTheNewProfileAnotherDeterministicId) {
  const std::string hash = pseudo("email", "ann@example.com");
  const std::string taken = hash.substr(hash.rfind(':') + 1, 32);
  Harness h;
  h.graph.insertProfile(taken, 1, 1, 1);  // somebody else's profile under Ann's natural id
  h.run({{"e1", {{"email", "ann@example.com"}}}});
  const std::string ann = h.profileOf("email", "ann@example.com");
  EXPECT_NE(ann, taken);
  EXPECT_EQ(ann.size(), 32u);
  EXPECT_EQ(h.graph.events.at("e1"), ann);
  Harness again;
  again.graph.insertProfile(taken, 1, 1, 1);
  again.run({{"e1", {{"email", "ann@example.com"}}}});
  EXPECT_EQ(again.profileOf("email", "ann@example.com"), ann);
}

TEST(Resolver, AColdResolverReadsEachProfileOnce) {
  Harness warm;
  warm.run(sharedPhone(20), 20);
  Harness cold;
  cold.graph = warm.graph;
  cold.graph.reads = 0;  // count this resolver's reads only
  std::vector<Ev> again;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; ++i)
      again.push_back({"r" + std::to_string(round) + "-" + std::to_string(i),
                       {{"email", "member" + std::to_string(i) + "@family.example"}}});
  }
  cold.run(again, 1000);
  EXPECT_EQ(cold.graph.reads, 20 + 20);  // one identity lookup and one profile load per person
}

// The caches are flat tables in chunks of 4,096 identities: thousands of customers are each
// read from the store once, and found in the cache on every later event, whatever chunk and
// index slot they landed in as the tables grew.
TEST(Resolver, ACachedCustomerIsNeverReadAgainHoweverManyAreCached) {
  constexpr int kCustomers = 9000;  // 18,000 identities: five chunks, the index doubled often
  auto customer = [](int i, const std::string& event) {
    return Ev{event,
              {{"email", "c" + std::to_string(i) + "@example.com"}, {"crm_id", std::to_string(i)}}};
  };
  std::vector<Ev> first;
  for (int i = 0; i < kCustomers; ++i) first.push_back(customer(i, "a" + std::to_string(i)));
  Harness warm;
  warm.run(first, 500);
  Harness cold;
  cold.graph = warm.graph;
  cold.graph.reads = 0;
  std::vector<Ev> again;
  for (int round = 0; round < 2; ++round) {
    // Another order each round, so lookups jump around the tables.
    for (int i = 0; i < kCustomers; ++i) {
      const int who = round == 0 ? i : (i * 7919) % kCustomers;
      again.push_back(customer(who, "r" + std::to_string(round) + "-" + std::to_string(who)));
    }
  }
  cold.run(again, 500);
  // Two identity lookups and one profile load per customer, all in the first round.
  EXPECT_EQ(cold.graph.reads, 3 * kCustomers);
  EXPECT_EQ(cold.profiles(), static_cast<size_t>(kCustomers));
  for (int i : {0, 4095, 4096, 8999}) {
    EXPECT_EQ(cold.profileOf("crm_id", std::to_string(i)),
              warm.profileOf("email", "c" + std::to_string(i) + "@example.com"));
  }
}

TEST(Resolver, AnEventWithoutIdentitiesHasNoProfile) {
  Harness h;
  h.run({{"e1", {}}});
  EXPECT_EQ(h.graph.events.at("e1"), "");
  EXPECT_EQ(h.profiles(), 0u);
}

}  // namespace
}  // namespace omniloop::identity

namespace omniloop::identity {
namespace {

// The identity cache keys pseudonyms compactly (digest bytes + an interned prefix); whatever
// the pseudonym's form, the rows it widens at flush are the ones it looked up.
TEST(Resolver, CacheKeepsEveryPseudonymFormExact) {
  MemoryGraph graph;
  Resolver resolver(defaultConfig(), /*max_cached_profiles=*/2);
  const std::vector<std::string> hashes = {
      "h1:0badcafe:" + std::string(64, 'a'),        // the usual form
      "h1:0badcafe:" + std::string(63, 'b') + "C",  // upper case: kept whole
      "h1:k2:" + std::string(64, 'e'),              // another key id
      "legacy-" + std::string(10, '7'),             // no digest at all
      "h1:0badcafe:" + std::string(62, 'd')};       // too short for a digest
  int64_t now = 0;
  for (int64_t seen : {1000, 500, 2000}) {
    for (size_t i = 0; i < hashes.size(); ++i) {
      resolver.beginBatch(++now, true);
      const Key key{"email", hashes[i]};
      const Resolution r = resolver.resolve(graph, std::span<const Key>(&key, 1),
                                            "e" + std::to_string(i), "t", seen);
      EXPECT_FALSE(r.profile.empty());
      resolver.flush(graph);  // touchIdentity throws (MemoryGraph::at) on a wrong pseudonym
      resolver.committed();
    }
  }
  ASSERT_EQ(graph.identities.size(), hashes.size());
  for (const std::string& h : hashes) {
    const auto& row = graph.identities.at({"email", h});
    EXPECT_EQ(row.first_seen, 500) << h;
    EXPECT_EQ(row.last_seen, 2000) << h;
  }
  EXPECT_EQ(graph.profiles.size(), hashes.size());  // five identities, five people
}

}  // namespace
}  // namespace omniloop::identity
