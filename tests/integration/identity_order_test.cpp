// Identity resolution does not depend on the order events arrive in (docs/store.md "Identity
// resolution"), checked as a property over generated identity graphs on real stores (a SQLite
// file and PostgreSQL): people with one or two emails, maybe a CRM id, devices and cookies
// (weak identifiers), events that show any subset of a person's identifiers, ingested in
// random orders and batch sizes (with SQLite group commits). Profiles are compared as sets of
// identities (profile ids may differ with the order), with their events and traits.
//
//  - without conflicts: every order gives the same partition of identities and events into
//    profiles, equal to the connected components of the events' identifiers, and the same
//    traits, which equal a fold of each profile's events;
//  - with conflicts (a device shared by two people, a second CRM id over crm_id's limit): one
//    order gives the same store whatever the batch sizes; no profile ever holds two people's
//    strong identifiers or more than one CRM id; every person untouched by a conflict still
//    ends as exactly one profile; traits still fold each profile's events.
// Seeds are fixed and printed on failure.
#include <algorithm>
#include <functional>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

#include "canonical_json.h"
#include "config/json_value.h"
#include "event/event.h"
#include "identity/config.h"
#include "privacy/keyed_hasher.h"
#include "store/store.h"
#include "store_backends.h"

namespace omniloop::store::testing {
namespace {

using omniloop::testing::PgServer;

class GlobalBackends : public ::testing::Environment {
 public:
  void SetUp() override { prepareBackends(); }
  void TearDown() override { PgServer::shared().stop(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new GlobalBackends);

struct Id {
  std::string type, value;
  bool operator<(const Id& o) const { return std::tie(type, value) < std::tie(o.type, o.value); }
  bool operator==(const Id& o) const = default;
  std::string text() const { return type + ":" + value; }
};

struct GenEvent {
  std::string key;
  int person = 0;
  std::vector<Id> ids;
  int64_t at = 0;
  std::string channel;
  int amount = 0;
};

struct Person {
  std::vector<Id> strong, weak;
};

struct Scenario {
  std::vector<Person> people;
  std::vector<GenEvent> events;
  std::map<Id, std::set<int>> owners;  // identity -> the people who use it
  std::set<int> conflicted;            // people sharing a device, or over a limit
};

// People, their identifiers and their events. With `conflicts`, some people share a device
// with someone else (a household) and some carry a second CRM id (crm_id allows one).
Scenario generate(uint64_t seed, bool conflicts) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  Scenario s;
  const int n_people = 4 + pick(5);
  for (int i = 0; i < n_people; ++i) {
    Person p;
    const std::string n = std::to_string(i);
    p.strong.push_back({"email", "p" + n + "a@example.org"});
    if (pick(2) == 0) p.strong.push_back({"email", "p" + n + "b@example.org"});
    if (pick(2) == 0) p.strong.push_back({"crm_id", "C" + n});
    // Two emails never share an event (one value per type): a loyalty id links them.
    if (p.strong.size() == 2 && p.strong.back().type == "email")
      p.strong.push_back({"loyalty_id", "L" + n});
    p.weak.push_back({"device_id", "dev-" + n});
    if (pick(2) == 0) p.weak.push_back({"cookie", "ck-" + n});
    s.people.push_back(std::move(p));
  }
  if (conflicts) {
    // A household: person b also uses person a's device.
    for (int k = 0; k < 1 + pick(2); ++k) {
      const int a = pick(n_people), b = pick(n_people);
      if (a == b) continue;
      s.people[b].weak.push_back(s.people[a].weak.front());
      s.conflicted.insert(a);
      s.conflicted.insert(b);
    }
    // Over a limit: a second CRM id.
    const int c = pick(n_people);
    s.people[c].strong.push_back({"crm_id", "C" + std::to_string(c) + "x"});
    s.conflicted.insert(c);
  }
  const int64_t base = 1714557600000000;
  const char* channels[] = {"web", "pos", "call_center", "crm"};
  int serial = 0;
  auto add = [&](int person, std::vector<Id> ids) {
    GenEvent e;
    e.key = "e" + std::to_string(serial++);
    e.person = person;
    e.ids = std::move(ids);
    e.at = base + static_cast<int64_t>(pick(12)) * 3600000000;  // ties on purpose
    e.channel = channels[pick(4)];
    e.amount = 1 + pick(50);
    for (const Id& id : e.ids) s.owners[id].insert(person);
    s.events.push_back(std::move(e));
  };
  for (int i = 0; i < n_people; ++i) {
    const Person& p = s.people[i];
    // Every person's strong identifiers linked (an event holds one value per type: each email
    // with the person's first other strong identifier), so they are one person's; then events
    // showing a random part of what they use: strong and weak, or weak only.
    const auto anchor = std::find_if(p.strong.begin(), p.strong.end(),
                                     [](const Id& x) { return x.type != "email"; });
    if (anchor != p.strong.end()) {
      for (const Id& x : p.strong) {
        if (x.type == "email")
          add(i, {x, *anchor});
        else if (&x != &*anchor)
          add(i, {p.strong.front(), x});
      }
    } else {
      add(i, {p.strong.front()});
    }
    const int n_events = 3 + pick(6);
    for (int k = 0; k < n_events; ++k) {
      std::vector<Id> ids;
      const bool weak_only = pick(3) == 0;
      if (!weak_only) ids.push_back(p.strong[pick(static_cast<int>(p.strong.size()))]);
      for (const Id& w : p.weak) {
        if (pick(2) == 0) ids.push_back(w);
      }
      if (ids.empty()) ids.push_back(p.weak[pick(static_cast<int>(p.weak.size()))]);
      if (!weak_only && pick(4) == 0)
        ids.push_back(p.strong[pick(static_cast<int>(p.strong.size()))]);
      // One value per type (as $identities.<type> holds one).
      std::shuffle(ids.begin(), ids.end(), rng);
      std::vector<Id> one_per_type;
      for (const Id& x : ids) {
        if (std::none_of(one_per_type.begin(), one_per_type.end(),
                         [&](const Id& y) { return y.type == x.type; })) {
          one_per_type.push_back(x);
        }
      }
      add(i, std::move(one_per_type));
    }
  }
  return s;
}

// The connected components of the events' identities: identity -> its component's smallest id.
std::map<Id, Id> components(const Scenario& s) {
  std::map<Id, Id> parent;
  std::function<Id(const Id&)> find = [&](const Id& x) -> Id {
    Id& p = parent.at(x);
    if (p == x) return x;
    p = find(p);
    return p;
  };
  for (const GenEvent& e : s.events) {
    for (const Id& id : e.ids) parent.emplace(id, id);
  }
  for (const GenEvent& e : s.events) {
    for (size_t i = 1; i < e.ids.size(); ++i) {
      Id a = find(e.ids[0]), b = find(e.ids[i]);
      if (b < a) std::swap(a, b);
      if (!(a == b)) parent.at(b) = a;
    }
  }
  std::map<Id, Id> out;
  for (const auto& [id, _] : parent) out.emplace(id, find(id));
  return out;
}

// What a store holds, with profiles named by their sorted identities instead of their ids.
struct Outcome {
  std::map<std::string, std::set<Id>> profiles;      // profile id -> its identities
  std::map<std::string, std::string> event_profile;  // event key -> profile id
  std::map<std::string, std::string> traits;         // profile id -> canonical traits
  std::string dump;                                  // everything, with profile ids (same order)

  // A profile's name: its identities ("" for a profile without any).
  std::string nameOf(const std::string& profile) const {
    std::string out;
    auto it = profiles.find(profile);
    if (it == profiles.end()) return "<no identities: " + profile + ">";
    for (const Id& id : it->second) out += id.text() + " ";
    return out;
  }
  // Order-independent form: each profile as its identities, its events and its traits.
  std::string partition() const {
    std::map<std::string, std::set<std::string>> events;
    for (const auto& [key, profile] : event_profile) events[nameOf(profile)].insert(key);
    std::set<std::string> rows;
    for (const auto& [profile, ids] : profiles) {
      std::string row = nameOf(profile) + "| events:";
      for (const std::string& k : events[nameOf(profile)]) row += " " + k;
      auto t = traits.find(profile);
      row += " | " + (t == traits.end() ? std::string("<no traits>") : t->second);
      rows.insert(row);
    }
    std::string out;
    for (const std::string& r : rows) out += r + "\n";
    return out;
  }
};

class IdentityOrder : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    options_.hasher = &hasher_;
    options_.identity = identity::parseConfig(
        R"({"traits":{"total":{"sum":"amount"},"last_channel":{"last":"$channel"},"channels":{"distinct":"$channel"}}})");
    // A second weak type (browser cookies), next to the built-in device_id.
    options_.identity.types.push_back(identity::TypeRule{"cookie", 7, 0, false});
    std::sort(options_.identity.types.begin(), options_.identity.types.end(),
              [](const identity::TypeRule& a, const identity::TypeRule& b) {
                return std::tie(a.priority, a.type) < std::tie(b.priority, b.type);
              });
  }

  // Ingests `order` (indexes into s.events) in batches of random sizes into a fresh store.
  // `cache_profiles`: the Resolver's cache bound (a tiny one makes it drop its caches in the
  // middle of SQLite group commits, after writing its pending changes into the transaction).
  Outcome ingest(const Scenario& s, const std::vector<size_t>& order, std::mt19937_64& rng,
                 size_t cache_profiles = StoreOptions{}.cache_profiles) {
    BackendFixture fx(GetParam(), "identity_order");
    Outcome out;
    {
      StoreOptions options = options_;
      options.cache_profiles = cache_profiles;
      auto store = openStore(fx.uri(), options);
      std::map<std::string, std::string> key_of;  // event id -> key
      size_t at = 0;
      while (at < order.size()) {
        const size_t n = 1 + rng() % std::min<size_t>(order.size() - at, 12);
        event::Batch b;
        for (size_t i = at; i < at + n; ++i) {
          const GenEvent& g = s.events[order[i]];
          event::Event* e = b.append();
          e->key = b.intern(g.key);
          e->channel = b.intern(g.channel);
          e->type = "x";
          e->occurred_at_us = g.at;
          for (const Id& id : g.ids) e->setIdentity(b.intern(id.type), b.intern(id.value));
          e->set("amount", event::Value::integer(g.amount));
          event::assignId(*e, "gen", b);
          key_of[std::string(e->id)] = g.key;
        }
        at += n;
        b.cursor = std::to_string(at);
        b.more_pending = at < order.size() && rng() % 2 == 0;  // SQLite: group commits
        const event::Result r = store->writeBatch("gen", "gen", b);
        EXPECT_TRUE(r.isOk()) << r.message;
        if (!r.isOk()) return out;
      }
      EXPECT_TRUE(store->flush("gen", "gen").isOk());
      store.reset();

      std::map<std::string, Id> clear;  // pseudonym -> identity
      for (const auto& [id, _] : s.owners)
        clear.emplace(hasher_.pseudonymize(id.type, id.value), id);
      auto raw = fx.raw();
      std::stringstream ids(raw->all("SELECT type, " + fx.hashText("hash") + ", " +
                                     fx.idText("profile_id") + " FROM identities ORDER BY 1, 2"));
      for (std::string line; std::getline(ids, line);) {
        const size_t a = line.find('|'), b = line.rfind('|');
        const std::string hash = line.substr(a + 1, b - a - 1), profile = line.substr(b + 1);
        auto it = clear.find(hash);
        EXPECT_NE(it, clear.end()) << "an identity the test never sent: " << line;
        if (it != clear.end()) out.profiles[profile].insert(it->second);
        out.dump += line + "\n";
      }
      std::stringstream evs(
          raw->all("SELECT " + fx.idText("id") + ", " + fx.idText("profile_id") + " FROM events"));
      for (std::string line; std::getline(evs, line);) {
        const size_t a = line.find('|');
        out.event_profile[key_of[line.substr(0, a)]] = line.substr(a + 1);
      }
      std::stringstream ps(
          raw->all("SELECT " + fx.idText("id") + ", traits FROM profiles ORDER BY 1"));
      for (std::string line; std::getline(ps, line);) {
        const size_t a = line.find('|');
        out.traits[line.substr(0, a)] = canonical(line.substr(a + 1));
        out.profiles[line.substr(0, a)];  // a profile without identities still shows
        out.dump += line + "\n";
      }
      for (const auto& [k, p] : out.event_profile) out.dump += k + "->" + p + "\n";
    }
    return out;
  }

  // Every event is stored once, in a profile, and every profile's traits are the fold of its
  // events (sum, latest channel with equal times broken by the greater value, distinct).
  static void expectTraitsFoldEvents(const Scenario& s, const Outcome& o) {
    EXPECT_EQ(o.event_profile.size(), s.events.size());
    std::map<std::string, std::vector<const GenEvent*>> by_profile;
    for (const GenEvent& e : s.events) {
      auto it = o.event_profile.find(e.key);
      if (it == o.event_profile.end() || it->second == "<null>") {
        ADD_FAILURE() << e.key << " has no profile";
        continue;
      }
      by_profile[it->second].push_back(&e);
    }
    for (const auto& [profile, events] : by_profile) {
      std::map<std::string, int> by_channel;
      int64_t total = 0, last_at = 0;
      std::string last;
      for (const GenEvent* e : events) {
        ++by_channel[e->channel];
        total += e->amount;
        if (last.empty() || e->at > last_at || (e->at == last_at && e->channel > last)) {
          last = e->channel;
          last_at = e->at;
        }
      }
      std::string json =
          "{\"event_count\":" + std::to_string(events.size()) + ",\"events_by_channel\":{";
      std::string channels;
      for (const auto& [ch, n] : by_channel) {
        if (json.back() != '{') json += ',';
        json += "\"" + ch + "\":" + std::to_string(n);
        channels += (channels.empty() ? "\"" : ",\"") + ch + "\"";
      }
      json += "},\"total\":" + std::to_string(total) + ",\"last_channel\":\"" + last +
              "\",\"channels\":[" + channels + "]}";
      auto t = o.traits.find(profile);
      ASSERT_NE(t, o.traits.end()) << "events point at a missing profile " << profile;
      EXPECT_EQ(t->second, canonical(json)) << o.nameOf(profile);
    }
    for (const auto& [profile, _] : o.traits) {
      EXPECT_TRUE(by_profile.count(profile)) << "a profile without events: " << o.nameOf(profile);
    }
  }

  privacy::KeyedHasher hasher_{std::string(32, 'k')};
  StoreOptions options_;
};

// Without conflicts: the components of the events' identities, in every order.
TEST_P(IdentityOrder, WithoutConflictsEveryOrderAndBatchingGivesTheComponents) {
  const bool pg = GetParam() != BackendKind::SqliteFile;
  const std::vector<uint64_t> seeds =
      pg ? std::vector<uint64_t>{11, 12, 13} : std::vector<uint64_t>{1, 2, 3, 4, 5, 6};
  const int orders = pg ? 3 : 5;
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Scenario s = generate(seed, false);
    // The expected profiles: one per component, holding its identities and events.
    const std::map<Id, Id> comp = components(s);
    std::map<Id, std::set<Id>> expected_ids;
    for (const auto& [id, root] : comp) expected_ids[root].insert(id);

    std::mt19937_64 rng(seed * 7919);
    std::vector<size_t> order(s.events.size());
    std::iota(order.begin(), order.end(), 0);
    std::string first;
    for (int k = 0; k < orders; ++k) {
      if (k > 0) std::shuffle(order.begin(), order.end(), rng);
      Outcome o = ingest(s, order, rng, k % 2 == 1 ? 3 : StoreOptions{}.cache_profiles);
      if (::testing::Test::HasFailure()) return;
      std::set<std::set<Id>> got;
      for (const auto& [_, ids] : o.profiles) got.insert(ids);
      std::set<std::set<Id>> want;
      for (const auto& [_, ids] : expected_ids) want.insert(ids);
      EXPECT_EQ(got, want) << "seed " << seed << " order " << k
                           << ": profiles are not the components\n"
                           << o.partition();
      for (const GenEvent& e : s.events) {
        const std::string& profile = o.event_profile.at(e.key);
        for (const Id& id : e.ids) {
          EXPECT_TRUE(o.profiles[profile].count(id))
              << "seed " << seed << " " << e.key << " " << id.text();
        }
      }
      expectTraitsFoldEvents(s, o);
      if (k == 0) {
        first = o.partition();
      } else {
        EXPECT_EQ(o.partition(), first) << "seed " << seed << " order " << k;
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// With conflicts: deterministic for one order, never fuses two people or breaks a limit, and
// people away from every conflict are still one profile each.
TEST_P(IdentityOrder, WithConflictsNoFusionNoBrokenLimitAndDeterministicPerOrder) {
  const bool pg = GetParam() != BackendKind::SqliteFile;
  const std::vector<uint64_t> seeds =
      pg ? std::vector<uint64_t>{21, 22} : std::vector<uint64_t>{31, 32, 33, 34, 35};
  for (uint64_t seed : seeds) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    const Scenario s = generate(seed, true);
    const std::map<Id, Id> comp = components(s);
    std::mt19937_64 rng(seed * 104729);
    std::vector<size_t> order(s.events.size());
    std::iota(order.begin(), order.end(), 0);
    for (int k = 0; k < 2; ++k) {
      std::shuffle(order.begin(), order.end(), rng);
      const Outcome a = ingest(s, order, rng);
      // Same order, other batch sizes, and caches bounded at 3 profiles (dropped again and
      // again inside group commits): the same store.
      const Outcome b = ingest(s, order, rng, 3);
      if (::testing::Test::HasFailure()) return;
      EXPECT_EQ(a.dump, b.dump) << "seed " << seed << ": one order, two batchings, two stores";
      expectTraitsFoldEvents(s, a);
      for (const auto& [profile, ids] : a.profiles) {
        std::set<int> people;
        int crm_ids = 0;
        for (const Id& id : ids) {
          if (id.type == "device_id" || id.type == "cookie") continue;
          people.insert(s.owners.at(id).begin(), s.owners.at(id).end());
          crm_ids += id.type == "crm_id";
        }
        EXPECT_LE(people.size(), 1u)
            << "seed " << seed << ": two people fused: " << a.nameOf(profile);
        EXPECT_LE(crm_ids, 1) << "seed " << seed << ": crm_id limit broken: " << a.nameOf(profile);
      }
      // People away from every conflict: each component of their identities is one profile.
      for (int p = 0; p < static_cast<int>(s.people.size()); ++p) {
        if (s.conflicted.count(p)) continue;
        std::map<Id, std::set<std::string>> where;  // component -> profiles
        for (const auto& [profile, ids] : a.profiles) {
          for (const Id& id : ids) {
            if (s.owners.at(id) == std::set<int>{p}) where[comp.at(id)].insert(profile);
          }
        }
        for (const auto& [root, profiles] : where) {
          EXPECT_EQ(profiles.size(), 1u) << "seed " << seed << ": person " << p << " split\n"
                                         << a.partition();
        }
      }
      if (::testing::Test::HasFailure()) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, IdentityOrder,
                         ::testing::Values(BackendKind::SqliteFile, BackendKind::Postgres),
                         [](const auto& info) { return kindName(info.param); });

}  // namespace
}  // namespace omniloop::store::testing
