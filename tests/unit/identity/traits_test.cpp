#include "identity/traits.h"

#include <gtest/gtest.h>

namespace omniloop::identity {
namespace {

Config withTraits(std::string_view traits_json) {
  return parseConfig(std::string(R"({"traits":)") + std::string(traits_json) + "}");
}

struct Ev {
  std::string channel, type;
  std::vector<std::pair<std::string, event::Value>> fields;
};

event::Event make(const Ev& spec) {
  event::Event e;
  e.channel = spec.channel;
  e.type = spec.type;
  for (const auto& [path, v] : spec.fields) e.set(path, v);
  return e;
}

std::string traitsJson(const Config& c, const Traits& t) {
  std::string traits, meta;
  t.toJson(c, traits, meta);
  return traits;
}

TEST(Traits, BuiltInsCountEventsPerChannel) {
  const Config c = defaultConfig();
  Traits t;
  t.observe(c, make({"pos", "order.placed", {}}), 1);
  t.observe(c, make({"web", "page.viewed", {}}), 2);
  t.observe(c, make({"pos", "order.placed", {}}), 3);
  t.observe(c, make({"", "x", {}}), 4);  // no channel: counted, under no channel
  EXPECT_EQ(traitsJson(c, t), R"({"event_count":4,"events_by_channel":{"pos":2,"web":1}})");
}

TEST(Traits, SumIsExactInDecimalsAndFilteredByChannel) {
  const Config c = withTraits(R"({"lifetime_value":{"sum":"order.total","where":{"channel":"pos"}}})");
  Traits t;
  for (int i = 0; i < 10; ++i) {
    t.observe(c, make({"pos", "order.placed", {{"order.total", event::Value::real(0.1)}}}), i);
    t.observe(c, make({"pos", "order.placed", {{"order.total", event::Value::real(0.2)}}}), i);
  }
  t.observe(c, make({"web", "order.placed", {{"order.total", event::Value::real(1000)}}}), 99);  // not pos
  t.observe(c, make({"pos", "order.placed", {{"order.total", event::Value::string(" 12.345 ")}}}), 99);
  t.observe(c, make({"pos", "order.placed", {{"order.total", event::Value::string("n/a")}}}), 99);  // ignored
  t.observe(c, make({"pos", "order.placed", {{"order.total", event::Value::integer(7)}}}), 99);
  EXPECT_EQ(traitsJson(c, t), R"({"event_count":24,"events_by_channel":{"pos":23,"web":1},"lifetime_value":22.345})");
}

TEST(Traits, CountMinMaxOverAFieldOrEveryEvent) {
  const Config c = withTraits(R"({"orders":{"count":"*","where":{"type":"order.placed"}},
      "rated":{"count":"score"},"lowest":{"min":"score"},"highest":{"max":"score"}})");
  Traits t;
  t.observe(c, make({"pos", "order.placed", {{"score", event::Value::integer(5)}}}), 1);
  t.observe(c, make({"pos", "order.placed", {}}), 2);
  t.observe(c, make({"web", "page.viewed", {{"score", event::Value::real(-2.5)}}}), 3);
  EXPECT_EQ(traitsJson(c, t),
            R"({"event_count":3,"events_by_channel":{"pos":2,"web":1},"orders":2,"rated":2,"lowest":-2.5,"highest":5})");
}

TEST(Traits, LastFollowsOccurrenceTimeNotArrival) {
  const Config c = withTraits(R"({"last_contact_channel":{"last":"$channel"}})");
  Traits t;
  t.observe(c, make({"call_center", "call.ended", {}}), 300);
  t.observe(c, make({"pos", "order.placed", {}}), 100);  // older, arrives later: ignored
  EXPECT_NE(traitsJson(c, t).find(R"("last_contact_channel":"call_center")"), std::string::npos);
  t.observe(c, make({"web", "page.viewed", {}}), 300);  // same time: the greater value wins
  std::string traits, meta;
  t.toJson(c, traits, meta);
  EXPECT_NE(traits.find(R"("last_contact_channel":"web")"), std::string::npos) << traits;
  EXPECT_EQ(meta, R"({"last_contact_channel":300})");
  t.observe(c, make({"call_center", "call.ended", {}}), 300);  // same time, smaller: stays "web"
  EXPECT_NE(traitsJson(c, t).find(R"("last_contact_channel":"web")"), std::string::npos);
}

TEST(Traits, LastBreaksEqualTimesByValueWhateverTheArrivalOrMergeOrder) {
  const Config c = withTraits(R"({"last_contact_channel":{"last":"$channel"}})");
  Traits web_first, call_first, merged_a, merged_b, part_web, part_call;
  web_first.observe(c, make({"web", "x", {}}), 300);
  web_first.observe(c, make({"call_center", "x", {}}), 300);
  call_first.observe(c, make({"call_center", "x", {}}), 300);
  call_first.observe(c, make({"web", "x", {}}), 300);
  part_web.observe(c, make({"web", "x", {}}), 300);
  part_call.observe(c, make({"call_center", "x", {}}), 300);
  merged_a = part_web;
  merged_a.combine(c, part_call);
  merged_b = part_call;
  merged_b.combine(c, part_web);
  for (const Traits* t : {&web_first, &call_first, &merged_a, &merged_b}) {
    EXPECT_NE(traitsJson(c, *t).find(R"("last_contact_channel":"web")"), std::string::npos) << traitsJson(c, *t);
  }
}

TEST(Traits, DistinctKeepsTheSmallestValuesSorted) {
  Config c = withTraits(R"({"channels":{"distinct":"$channel"}})");
  c.max_distinct = 3;
  Traits t;
  for (const char* ch : {"web", "pos", "web", "social", "crm", "call_center"}) t.observe(c, make({ch, "x", {}}), 1);
  EXPECT_NE(traitsJson(c, t).find(R"("channels":["call_center","crm","pos"])"), std::string::npos) << traitsJson(c, t);
}

TEST(Traits, CombineEqualsObservingEverythingInOneProfile) {
  const Config c = withTraits(R"({"ltv":{"sum":"total"},"channels":{"distinct":"$channel"},
      "last_channel":{"last":"$channel"},"low":{"min":"total"},"n":{"count":"*"}})");
  const std::vector<std::pair<Ev, int64_t>> a = {{{"pos", "o", {{"total", event::Value::real(10.25)}}}, 5},
                                                 {{"web", "o", {{"total", event::Value::real(1)}}}, 9}};
  const std::vector<std::pair<Ev, int64_t>> b = {{{"crm", "o", {{"total", event::Value::real(3.5)}}}, 7},
                                                 {{"social", "o", {}}, 12}};
  Traits ta, tb, all;
  for (const auto& [e, at] : a) ta.observe(c, make(e), at), all.observe(c, make(e), at);
  for (const auto& [e, at] : b) tb.observe(c, make(e), at), all.observe(c, make(e), at);
  ta.combine(c, tb);
  EXPECT_EQ(traitsJson(c, ta), traitsJson(c, all));
  EXPECT_NE(traitsJson(c, ta).find(R"("ltv":14.75)"), std::string::npos);
  EXPECT_NE(traitsJson(c, ta).find(R"("last_channel":"social")"), std::string::npos);
}

TEST(Traits, StoredFormReadsBackToTheSameState) {
  const Config c = withTraits(R"({"ltv":{"sum":"total"},"channels":{"distinct":"$channel"},
      "last_note":{"last":"note"},"high":{"max":"total"}})");
  Traits t;
  t.observe(c, make({"pos", "o", {{"total", event::Value::real(19.99)}, {"note", event::Value::string("say \"hi\"")}}}), 50);
  t.observe(c, make({"web", "o", {{"total", event::Value::integer(3)}}}), 20);
  std::string traits, meta;
  t.toJson(c, traits, meta);
  Traits back;
  ASSERT_TRUE(back.fromJson(c, traits, meta));
  EXPECT_EQ(traitsJson(c, back), traits);
  // And it keeps folding exactly: an older note does not replace the stored one.
  t.observe(c, make({"crm", "o", {{"total", event::Value::real(0.01)}, {"note", event::Value::string("old")}}}), 10);
  back.observe(c, make({"crm", "o", {{"total", event::Value::real(0.01)}, {"note", event::Value::string("old")}}}), 10);
  EXPECT_EQ(traitsJson(c, back), traitsJson(c, t));
  EXPECT_NE(traitsJson(c, back).find(R"("last_note":"say \"hi\"")"), std::string::npos);
}

TEST(Traits, ATraitDroppedFromTheConfigIsForgotten) {
  const Config before = withTraits(R"({"old":{"count":"*"},"ltv":{"sum":"total"}})");
  const Config after = withTraits(R"({"ltv":{"sum":"total"}})");
  Traits t;
  t.observe(before, make({"pos", "o", {{"total", event::Value::real(2)}}}), 1);
  std::string traits, meta;
  t.toJson(before, traits, meta);
  Traits back;
  ASSERT_TRUE(back.fromJson(after, traits, meta));
  EXPECT_EQ(traitsJson(after, back), R"({"event_count":1,"events_by_channel":{"pos":1},"ltv":2})");
  EXPECT_FALSE(back.fromJson(after, "not json", "{}"));
}

TEST(Micros, ParseAndPrintDecimalsExactly) {
  int64_t m = 0;
  ASSERT_TRUE(parseMicros("101.19", m));
  EXPECT_EQ(m, 101190000);
  ASSERT_TRUE(parseMicros("-0.0000005", m));  // rounded half away from zero
  EXPECT_EQ(m, -1);
  ASSERT_TRUE(parseMicros("+7", m));
  EXPECT_EQ(m, 7000000);
  ASSERT_TRUE(parseMicros("1.5e2", m));
  EXPECT_EQ(m, 150000000);
  EXPECT_FALSE(parseMicros("", m));
  EXPECT_FALSE(parseMicros("1.2.3", m));
  EXPECT_FALSE(parseMicros("12abc", m));
  EXPECT_FALSE(parseMicros("99999999999999999999", m));
  std::string out;
  for (int64_t v : {int64_t{101190000}, int64_t{-1}, int64_t{0}, int64_t{3000000}, int64_t{-2500000}}) {
    appendMicros(out, v);
    out.push_back(' ');
  }
  EXPECT_EQ(out, "101.19 -0.000001 0 3 -2.5 ");
}

}  // namespace
}  // namespace omniloop::identity
