// The built-in stages map, filter and route (core/pipeline/stages).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "alloc_counter.h"
#include "config/catalog.h"
#include "config/loader.h"
#include "config/pipeline_spec.h"
#include "pipeline/stages/builtin.h"
#include "pipeline/stages/time_parse.h"

using namespace omniloop;
using namespace omniloop::pipeline;
using event::Batch;
using event::Disposition;
using event::Event;
using event::Value;
using event::ValueType;

namespace {

constexpr int64_t kMay1 = 1714557600;  // 2024-05-01T10:00:00Z
constexpr int64_t kUs = 1000000;

config::StageSpec specFrom(const std::string& yaml, const std::string& file = "inline.yaml") {
  YAML::Node root = YAML::Load(yaml);
  config::StageSpec spec;
  auto it = root.begin();
  spec.type = it->first.Scalar();
  spec.name = "0:" + spec.type;
  spec.body = it->second;
  spec.mark.file = file;
  spec.mark.line = it->first.Mark().line + 1;
  spec.mark.column = it->first.Mark().column + 1;
  return spec;
}

// Builds the one stage in `yaml` ("map: {...}", "filter: ...", "route: [...]").
std::unique_ptr<Stage> make(const std::string& yaml,
                            const StageContext& ctx = StageContext{{"default"}}) {
  return makeBuiltinStage(specFrom(yaml), ctx);
}

// The diagnostics makeBuiltinStage throws for `yaml` (empty when it builds).
std::vector<config::Diagnostic> errors(const std::string& yaml,
                                       const StageContext& ctx = StageContext{{"default"}},
                                       const std::string& file = "inline.yaml") {
  try {
    makeBuiltinStage(specFrom(yaml, file), ctx);
  } catch (const config::ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

std::string text(const Value* v) {
  if (!v) return "<missing>";
  return v->toText();
}

struct OneEvent {
  Batch batch{8};
  Event* e = batch.append();
};

TEST(MapStage, RenameMovesAFieldInPlaceKeepingOrder) {
  auto st = make("map:\n  rename: { \"Contact: Email\": email }\n");
  OneEvent x;
  x.e->set("first", Value::integer(1));
  x.e->set("Contact: Email", Value::string("ada@example.com"));
  x.e->set("last", Value::integer(2));
  ASSERT_TRUE(st->process(x.batch).isOk());
  ASSERT_EQ(x.e->fields.size(), 3u);
  EXPECT_EQ(x.e->fields[1].path, "email");
  EXPECT_EQ(text(x.e->find("email")), "ada@example.com");
  EXPECT_EQ(x.e->find("Contact: Email"), nullptr);
  EXPECT_TRUE(x.e->live());
}

TEST(MapStage, RenameOfAMissingFieldIsANoOp) {
  auto st = make("map: { rename: { a: b } }");
  OneEvent x;
  x.e->set("c", Value::integer(1));
  st->process(x.batch);
  EXPECT_EQ(x.e->fields.size(), 1u);
  EXPECT_EQ(x.e->find("b"), nullptr);
  EXPECT_TRUE(x.e->live());
}

TEST(MapStage, RenameReplacesAnExistingDestination) {
  auto st = make("map: { rename: { a: b } }");
  OneEvent x;
  x.e->set("a", Value::integer(1));
  x.e->set("b", Value::integer(2));
  st->process(x.batch);
  ASSERT_EQ(x.e->fields.size(), 1u);
  EXPECT_EQ(x.e->find("b")->i, 1);
}

TEST(MapStage, RenameAndCopyOfAnObjectMoveItsChildren) {
  auto st = make("map:\n  - copy: { customer: backup }\n  - rename: { customer: client }\n");
  OneEvent x;
  x.e->set("customer.email", Value::string("e"));
  x.e->set("customer.name", Value::string("n"));
  x.e->set("other", Value::integer(1));
  st->process(x.batch);
  EXPECT_EQ(text(x.e->find("client.email")), "e");
  EXPECT_EQ(text(x.e->find("client.name")), "n");
  EXPECT_EQ(text(x.e->find("backup.email")), "e");
  EXPECT_EQ(text(x.e->find("backup.name")), "n");
  EXPECT_FALSE(x.e->hasPrefix("customer"));
  EXPECT_EQ(x.e->fields.size(), 5u);
}

TEST(MapStage, CopyToAnIdentityKeepsTheAttribute) {
  auto st = make("map: { copy: { email: $identities.email, id: $key } }");
  OneEvent x;
  x.e->set("email", Value::string("ada@example.com"));
  x.e->set("id", Value::integer(77));
  st->process(x.batch);
  ASSERT_NE(x.e->identity("email"), nullptr);
  EXPECT_EQ(x.e->identity("email")->value, "ada@example.com");
  EXPECT_EQ(text(x.e->find("email")), "ada@example.com");
  EXPECT_EQ(x.e->key, "77");  // numbers become text in the envelope
}

TEST(MapStage, CopyOfAMissingFieldIsANoOp) {
  auto st = make("map: { copy: { email: $identities.email, a: b } }");
  OneEvent x;
  st->process(x.batch);
  EXPECT_TRUE(x.e->identities.empty());
  EXPECT_TRUE(x.e->fields.empty());
  EXPECT_TRUE(x.e->live());
}

TEST(MapStage, RenameFromAnAttributeIntoTheEnvelopeRemovesTheAttribute) {
  auto st = make("map: { rename: { phone: $identities.phone, kind: $type } }");
  OneEvent x;
  x.e->set("phone", Value::string("+4930123"));
  x.e->set("kind", Value::string("call.ended"));
  st->process(x.batch);
  EXPECT_EQ(x.e->identity("phone")->value, "+4930123");
  EXPECT_EQ(x.e->type, "call.ended");
  EXPECT_TRUE(x.e->fields.empty());
}

TEST(MapStage, SetTypesYamlScalars) {
  auto st = make(
      "map:\n"
      "  set:\n"
      "    n: 42\n"
      "    neg: -7\n"
      "    f: 2.5\n"
      "    yes: true\n"
      "    no: false\n"
      "    nil: null\n"
      "    tilde: ~\n"
      "    s: salesforce\n"
      "    quoted: \"42\"\n"
      "    single: 'true'\n"
      "    zip: 01234x\n"
      "    nested.key: v\n");
  OneEvent x;
  st->process(x.batch);
  const Event& e = *x.e;
  EXPECT_EQ(e.find("n")->type, ValueType::Int);
  EXPECT_EQ(e.find("n")->i, 42);
  EXPECT_EQ(e.find("neg")->i, -7);
  EXPECT_EQ(e.find("f")->type, ValueType::Double);
  EXPECT_DOUBLE_EQ(e.find("f")->d, 2.5);
  EXPECT_EQ(e.find("yes")->type, ValueType::Bool);
  EXPECT_TRUE(e.find("yes")->b);
  EXPECT_FALSE(e.find("no")->b);
  EXPECT_TRUE(e.find("nil")->isNull());
  EXPECT_TRUE(e.find("tilde")->isNull());
  EXPECT_EQ(e.find("s")->type, ValueType::String);
  EXPECT_EQ(e.find("s")->s, "salesforce");
  EXPECT_EQ(e.find("quoted")->type, ValueType::String);
  EXPECT_EQ(e.find("quoted")->s, "42");
  EXPECT_EQ(e.find("single")->type, ValueType::String);
  EXPECT_EQ(e.find("zip")->type, ValueType::String);
  EXPECT_EQ(text(e.find("nested.key")), "v");
}

TEST(MapStage, SetWritesEnvelopePaths) {
  auto st = make(
      "map:\n"
      "  set:\n"
      "    $channel: crm\n"
      "    $type: contact.updated\n"
      "    $identities.crm_id: 12345\n"
      "    $consent.marketing: true\n"
      "    $consent.analytics: denied\n"
      "    $occurred_at: 2024-05-01T10:00:00Z\n");
  OneEvent x;
  st->process(x.batch);
  EXPECT_EQ(x.e->channel, "crm");
  EXPECT_EQ(x.e->type, "contact.updated");
  EXPECT_EQ(x.e->identity("crm_id")->value, "12345");
  EXPECT_EQ(x.e->consent("marketing"), event::ConsentStatus::Granted);
  EXPECT_EQ(x.e->consent("analytics"), event::ConsentStatus::Denied);
  EXPECT_EQ(x.e->occurred_at_us, kMay1 * kUs);
}

TEST(MapStage, SetStringsOutliveTheConfigNode) {
  std::unique_ptr<Stage> st;
  {
    std::string yaml = "map: { set: { $channel: pos, system: salesforce } }";
    st = make(yaml);
    yaml.assign(yaml.size(), 'x');  // the YAML text and node are gone; the stage owns copies
  }
  OneEvent x;
  st->process(x.batch);
  EXPECT_EQ(x.e->channel, "pos");
  EXPECT_EQ(text(x.e->find("system")), "salesforce");
}

TEST(MapStage, CastConvertsEachType) {
  auto st = make(
      "map:\n"
      "  cast: { age: int, spaced: int, whole: int, flag: int, score: float, n: float,\n"
      "          vip: bool, off: bool, one: bool, zip: string, num: string, real: string,\n"
      "          b: string, blank: int, missing: int, nil: float }\n");
  OneEvent x;
  Event& e = *x.e;
  e.set("age", Value::string("42"));
  e.set("spaced", Value::string(" 7 "));
  e.set("whole", Value::real(3.0));
  e.set("flag", Value::boolean(true));
  e.set("score", Value::string("3.25"));
  e.set("n", Value::integer(2));
  e.set("vip", Value::string("Yes"));
  e.set("off", Value::string("0"));
  e.set("one", Value::integer(1));
  e.set("zip", Value::string("01234"));
  e.set("num", Value::integer(1234567890123456789LL));
  e.set("real", Value::real(0.5));
  e.set("b", Value::boolean(false));
  e.set("blank", Value::string("  "));
  e.set("nil", Value::null());
  st->process(x.batch);
  ASSERT_TRUE(e.live()) << e.reason;
  EXPECT_EQ(e.find("age")->type, ValueType::Int);
  EXPECT_EQ(e.find("age")->i, 42);
  EXPECT_EQ(e.find("spaced")->i, 7);
  EXPECT_EQ(e.find("whole")->type, ValueType::Int);
  EXPECT_EQ(e.find("whole")->i, 3);
  EXPECT_EQ(e.find("flag")->i, 1);
  EXPECT_EQ(e.find("score")->type, ValueType::Double);
  EXPECT_DOUBLE_EQ(e.find("score")->d, 3.25);
  EXPECT_EQ(e.find("n")->type, ValueType::Double);
  EXPECT_TRUE(e.find("vip")->b);
  EXPECT_EQ(e.find("off")->type, ValueType::Bool);
  EXPECT_FALSE(e.find("off")->b);
  EXPECT_TRUE(e.find("one")->b);
  EXPECT_EQ(e.find("zip")->s, "01234");
  EXPECT_EQ(e.find("num")->type, ValueType::String);
  EXPECT_EQ(e.find("num")->s, "1234567890123456789");
  EXPECT_EQ(e.find("real")->s, "0.5");
  EXPECT_EQ(e.find("b")->s, "false");
  EXPECT_TRUE(e.find("blank")->isNull());  // blank CSV cells become null, not errors
  EXPECT_EQ(e.find("missing"), nullptr);
  EXPECT_TRUE(e.find("nil")->isNull());
}

TEST(MapStage, CastFailureDeadLettersTheEventWithAReasonFreeOfTheValue) {
  auto st = make("map:\n  - cast: { age: int }\n  - set: { after: 1 }\n");
  Batch batch(4);
  Event* bad = batch.append();
  bad->set("age", Value::string("forty-two (secret)"));
  Event* good = batch.append();
  good->set("age", Value::string("42"));
  ASSERT_TRUE(st->process(batch).isOk());
  EXPECT_EQ(bad->disposition, Disposition::DeadLetter);
  EXPECT_EQ(bad->reason, "map: cannot cast field 'age' value to int");
  EXPECT_EQ(bad->reason.find("secret"), std::string_view::npos);
  EXPECT_EQ(bad->find("after"), nullptr);  // later ops do not run
  EXPECT_TRUE(good->live());
  EXPECT_EQ(good->find("age")->i, 42);
  EXPECT_EQ(good->find("after")->i, 1);
}

TEST(MapStage, CastRefusesLossyOrMeaninglessConversions) {
  for (const auto& [yaml, value] : std::vector<std::pair<std::string, Value>>{
           {"map: { cast: { x: int } }", Value::string("3.5")},
           {"map: { cast: { x: int } }", Value::real(2.25)},
           {"map: { cast: { x: int } }", Value::json("{\"a\":1}")},
           {"map: { cast: { x: float } }", Value::string("abc")},
           {"map: { cast: { x: bool } }", Value::string("maybe")},
           {"map: { cast: { x: bool } }", Value::integer(2)},
       }) {
    auto st = make(yaml);
    OneEvent x;
    x.e->set("x", value);
    st->process(x.batch);
    EXPECT_EQ(x.e->disposition, Disposition::DeadLetter) << yaml << " " << value.toText();
    EXPECT_EQ(x.e->reason.substr(0, 29), "map: cannot cast field 'x' va");
  }
}

TEST(MapStage, TimePatternSetsOccurredAt) {
  auto st = make(
      "map:\n  time: { from: created, format: \"%Y-%m-%d %H:%M:%S\", timezone: UTC, to: "
      "$occurred_at }\n");
  OneEvent x;
  x.e->set("created", Value::string("2024-05-01 10:00:00"));
  st->process(x.batch);
  ASSERT_TRUE(x.e->live()) << x.e->reason;
  EXPECT_EQ(x.e->occurred_at_us, kMay1 * kUs);
  EXPECT_NE(x.e->find("created"), nullptr);  // the source field stays
}

TEST(MapStage, TimeZoneOffsetAppliesWhenTheTextHasNone) {
  auto st = make("map: { time: { from: t, format: \"%d.%m.%Y %H:%M\", timezone: \"+02:00\" } }");
  OneEvent x;
  x.e->set("t", Value::string("01.05.2024 12:00"));
  st->process(x.batch);
  EXPECT_EQ(x.e->occurred_at_us, kMay1 * kUs);
}

TEST(MapStage, TimeListFormWritesAttributesAsRfc3339) {
  auto st = make(
      "map:\n"
      "  time:\n"
      "    - { from: a, format: iso8601, to: a_utc }\n"
      "    - { from: b, format: unix_ms, to: b_utc }\n");
  OneEvent x;
  x.e->set("a", Value::string("2024-05-01T12:00:00.5+02:00"));
  x.e->set("b", Value::integer(kMay1 * 1000 + 123));
  st->process(x.batch);
  ASSERT_TRUE(x.e->live()) << x.e->reason;
  EXPECT_EQ(text(x.e->find("a_utc")), "2024-05-01T10:00:00.500Z");
  EXPECT_EQ(text(x.e->find("b_utc")), "2024-05-01T10:00:00.123Z");
  EXPECT_EQ(x.e->occurred_at_us, 0);
}

TEST(MapStage, UnparseableTimeDeadLettersMissingOrBlankIsSkipped) {
  auto st = make("map: { time: { from: t, format: \"%Y-%m-%d\" } }");
  Batch batch(4);
  Event* bad = batch.append();
  bad->set("t", Value::string("01/05/2024"));
  Event* missing = batch.append();
  Event* blank = batch.append();
  blank->set("t", Value::string(""));
  st->process(batch);
  EXPECT_EQ(bad->disposition, Disposition::DeadLetter);
  EXPECT_EQ(bad->reason, "map: cannot parse time field 't' as %Y-%m-%d");
  EXPECT_TRUE(missing->live());
  EXPECT_TRUE(blank->live());
  EXPECT_EQ(blank->occurred_at_us, 0);
}

TEST(MapStage, DropRemovesFieldsChildrenAndEnvelopeValues) {
  auto st = make("map: { drop: [ Birthdate, \"internal.*\", $identities.email, customer ] }");
  OneEvent x;
  x.e->set("Birthdate", Value::string("1990-01-01"));
  x.e->set("internal.a", Value::integer(1));
  x.e->set("internal.b.c", Value::integer(2));
  x.e->set("internals", Value::integer(3));
  x.e->set("customer.email", Value::string("x"));
  x.e->set("keep", Value::integer(4));
  x.e->setIdentity("email", "e");
  x.e->setIdentity("phone", "p");
  st->process(x.batch);
  ASSERT_EQ(x.e->fields.size(), 2u);
  EXPECT_EQ(x.e->fields[0].path, "internals");
  EXPECT_EQ(x.e->fields[1].path, "keep");
  ASSERT_EQ(x.e->identities.size(), 1u);
  EXPECT_EQ(x.e->identities[0].type, "phone");
}

TEST(MapStage, DropStarKeepsTheScalarOfTheSameName) {
  auto st = make("map: { drop: \"internal.*\" }");
  OneEvent x;
  x.e->set("internal", Value::integer(1));
  st->process(x.batch);
  EXPECT_NE(x.e->find("internal"), nullptr);
}

TEST(MapStage, OpsRunInTheOrderWritten) {
  // Mapping order: set runs before rename.
  auto a = make("map:\n  set: { a: 1 }\n  rename: { a: b }\n");
  OneEvent x;
  a->process(x.batch);
  EXPECT_EQ(x.e->find("a"), nullptr);
  EXPECT_EQ(x.e->find("b")->i, 1);
  // List order: rename before set, and the same op may appear twice.
  auto b = make("map:\n  - rename: { a: b }\n  - set: { a: 2 }\n  - rename: { a: c }\n");
  OneEvent y;
  y.e->set("a", Value::integer(1));
  b->process(y.batch);
  EXPECT_EQ(y.e->find("b")->i, 1);
  EXPECT_EQ(y.e->find("c")->i, 2);
  EXPECT_EQ(y.e->find("a"), nullptr);
}

TEST(MapStage, OnlyLiveEventsAreProcessed) {
  auto st = make("map: { set: { touched: true } }");
  Batch batch(4);
  Event* dropped = batch.append();
  dropped->disposition = Disposition::Drop;
  Event* dead = batch.append();
  dead->disposition = Disposition::DeadLetter;
  Event* live = batch.append();
  st->process(batch);
  EXPECT_EQ(dropped->find("touched"), nullptr);
  EXPECT_EQ(dead->find("touched"), nullptr);
  EXPECT_NE(live->find("touched"), nullptr);
}

TEST(MapStage, BriefExampleRunsEndToEnd) {
  auto st = make(
      "map:\n"
      "  rename: { \"Contact: Email\": email }\n"
      "  copy:   { email: $identities.email }\n"
      "  set:    { $channel: crm, $type: contact.updated, system: salesforce }\n"
      "  cast:   { age: int, vip: bool, score: float, zip: string }\n"
      "  time:   { from: created, format: \"%Y-%m-%d %H:%M:%S\", timezone: UTC, to: $occurred_at "
      "}\n"
      "  drop:   [ Birthdate, \"internal.*\" ]\n");
  OneEvent x;
  Event& e = *x.e;
  e.set("Contact: Email", Value::string("ada@example.com"));
  e.set("age", Value::string("36"));
  e.set("vip", Value::string("true"));
  e.set("score", Value::string("9.5"));
  e.set("zip", Value::integer(10115));
  e.set("created", Value::string("2024-05-01 10:00:00"));
  e.set("Birthdate", Value::string("1988-02-03"));
  e.set("internal.row", Value::integer(3));
  st->process(x.batch);
  ASSERT_TRUE(e.live()) << e.reason;
  EXPECT_EQ(e.identity("email")->value, "ada@example.com");
  EXPECT_EQ(e.channel, "crm");
  EXPECT_EQ(e.type, "contact.updated");
  EXPECT_EQ(e.find("age")->i, 36);
  EXPECT_TRUE(e.find("vip")->b);
  EXPECT_EQ(e.find("zip")->s, "10115");
  EXPECT_EQ(e.occurred_at_us, kMay1 * kUs);
  EXPECT_EQ(e.find("Birthdate"), nullptr);
  EXPECT_FALSE(e.hasPrefix("internal"));
}

TEST(MapStage, SteadyStateProcessingDoesNotAllocate) {
  auto st = make(
      "map:\n"
      "  rename: { a: b }\n"
      "  copy: { b: $identities.email }\n"
      "  set: { $channel: crm, system: x }\n"
      "  cast: { n: int, s: string }\n"
      "  time: [ { from: t, format: iso8601 }, { from: t, to: t_utc } ]\n"
      "  drop: [ junk ]\n");
  Batch batch(64);
  auto fill = [&] {
    batch.reset();
    for (int i = 0; i < 64; ++i) {
      Event* e = batch.append();
      e->set("a", Value::string("ada@example.com"));
      e->set("n", Value::string("42"));
      e->set("s", Value::integer(123456789012345LL));
      e->set("t", Value::string("2024-05-01T10:00:00.123456Z"));
      e->set("junk", Value::integer(1));
    }
  };
  fill();
  st->process(batch);  // warms vectors, the arena block and scratch buffers
  fill();
  omniloop::test_support::startCountingAllocations();
  st->process(batch);
  EXPECT_EQ(omniloop::test_support::stopCountingAllocations(), 0u);
  EXPECT_EQ(batch[63].find("n")->i, 42);
  EXPECT_EQ(text(batch[63].find("t_utc")), "2024-05-01T10:00:00.123456Z");
}

TEST(FilterStage, DropsEventsWhereTheConditionIsFalse) {
  auto st = make("filter: '$channel == \"crm\" and age >= 18'");
  Batch batch(4);
  Event* adult = batch.append();
  adult->channel = "crm";
  adult->set("age", Value::integer(30));
  Event* minor = batch.append();
  minor->channel = "crm";
  minor->set("age", Value::integer(12));
  Event* unknown = batch.append();  // missing age compares as null: ordering is false
  unknown->channel = "crm";
  ASSERT_TRUE(st->process(batch).isOk());
  EXPECT_TRUE(adult->live());
  EXPECT_EQ(minor->disposition, Disposition::Drop);
  EXPECT_EQ(minor->reason, "filter");
  EXPECT_EQ(unknown->disposition, Disposition::Drop);
}

TEST(FilterStage, LeavesNonLiveEventsAlone) {
  auto st = make("filter: 'false'");
  Batch batch(2);
  Event* dead = batch.append();
  dead->disposition = Disposition::DeadLetter;
  dead->reason = "earlier";
  st->process(batch);
  EXPECT_EQ(dead->disposition, Disposition::DeadLetter);
  EXPECT_EQ(dead->reason, "earlier");
}

TEST(FilterStage, BriefExampleFromYaml) {
  auto st = make(
      "filter: '$channel == \"crm\" and (age >= 18 or exists(guardian)) and country in "
      "[\"DE\",\"FR\"] and email =~ \"@example\\\\.com$\"'\n");
  Batch batch(4);
  auto add = [&](const char* email, int64_t age, const char* country) {
    Event* e = batch.append();
    e->channel = "crm";
    e->set("email", Value::string(email));
    e->set("age", Value::integer(age));
    e->set("country", Value::string(country));
    return e;
  };
  Event* ok = add("a@example.com", 20, "DE");
  Event* wrong_domain = add("a@example.org", 20, "DE");
  Event* wrong_country = add("a@example.com", 20, "US");
  Event* guarded = add("a@example.com", 10, "FR");
  guarded->set("guardian", Value::string("Bob"));
  st->process(batch);
  EXPECT_TRUE(ok->live());
  EXPECT_FALSE(wrong_domain->live());
  EXPECT_FALSE(wrong_country->live());
  EXPECT_TRUE(guarded->live());
}

TEST(RouteStage, FirstMatchingRuleSetsTheSinkIndex) {
  StageContext ctx{{"default", "big_orders", "archive"}};
  auto st = make(
      "route:\n"
      "  - if: 'total > 1000'\n"
      "    to: big_orders\n"
      "  - if: 'total > 10'\n"
      "    to: archive\n"
      "  - if: 'total < 0'\n"
      "    to: drop\n",
      ctx);
  Batch batch(8);
  auto add = [&](int64_t total) {
    Event* e = batch.append();
    e->set("total", Value::integer(total));
    return e;
  };
  Event* big = add(5000);  // matches rules 1 and 2: the first wins
  Event* mid = add(50);
  Event* small = add(5);
  Event* negative = add(-1);
  Event* none = batch.append();
  ASSERT_TRUE(st->process(batch).isOk());
  EXPECT_EQ(big->route, 1);
  EXPECT_EQ(mid->route, 2);
  EXPECT_EQ(small->route, 0);
  EXPECT_TRUE(small->live());
  EXPECT_EQ(negative->disposition, Disposition::Drop);
  EXPECT_EQ(negative->reason, "route");
  EXPECT_EQ(none->route, 0);
  EXPECT_TRUE(none->live());
}

TEST(RouteStage, DefaultSinkCanBeNamedAndNonLiveEventsAreSkipped) {
  StageContext ctx{{"default", "other"}};
  auto st = make("route: [ { if: 'x == 1', to: default }, { if: 'true', to: other } ]", ctx);
  Batch batch(4);
  Event* one = batch.append();
  one->set("x", Value::integer(1));
  Event* dead = batch.append();
  dead->disposition = Disposition::DeadLetter;
  st->process(batch);
  EXPECT_EQ(one->route, 0);
  EXPECT_EQ(dead->route, 0);
}

TEST(RouteStage, UnknownSinkIsAConfigErrorAtTheToValue) {
  StageContext ctx{{"default", "big_orders"}};
  auto d = errors("route:\n  - if: 'total > 1000'\n    to: big_order\n", ctx);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mark.file, "inline.yaml");
  EXPECT_EQ(d[0].mark.line, 3);
  EXPECT_EQ(d[0].mark.column, 9);
  EXPECT_NE(d[0].message.find("big_order"), std::string::npos);
  EXPECT_NE(d[0].hint.find("did you mean 'big_orders'"), std::string::npos) << d[0].hint;
}

TEST(RouteStage, ItemsNeedIfAndToAndNothingElse) {
  auto d = errors("route:\n  - if: 'a == 1'\n  - to: default\n    when: x\n");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_NE(d[0].message.find("needs `to`"), std::string::npos) << d[0].message;
  EXPECT_EQ(d[0].mark.line, 2);
  EXPECT_NE(d[1].message.find("unknown route key 'when'"), std::string::npos);
  EXPECT_EQ(d[1].mark.line, 4);
  EXPECT_NE(d[2].message.find("needs `if`"), std::string::npos);
  EXPECT_FALSE(errors("route: { if: a, to: b }").empty());
}

// ------------------------------------------------------------------------------------------
// Configuration errors, with positions inside the YAML file
// ------------------------------------------------------------------------------------------

class StageConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("stages_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    registerBuiltinStages(catalog_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& content) {
    std::string path = (dir_ / "pipeline.yaml").string();
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  const config::ComponentInfo& info(const std::string& type) {
    for (const auto& i : catalog_.items()) {
      if (i.type == type && i.kind == config::ComponentKind::Stage) return i;
    }
    throw std::runtime_error("not registered: " + type);
  }

  // Runs the catalog check of stage `index` of the pipeline file at `path`.
  std::vector<config::Diagnostic> check(const std::string& path, size_t index) {
    YAML::Node root = YAML::LoadFile(path);
    YAML::Node item = root["stages"][index];
    auto it = item.begin();
    std::vector<config::Diagnostic> out;
    info(it->first.Scalar()).check(it->second, path, out);
    return out;
  }

  std::filesystem::path dir_;
  config::SimpleCatalog catalog_;
};

const char* kPipelineHead =
    "version: 1\n"
    "name: crm-contacts\n"
    "source:\n"
    "  type: file.csv\n"
    "stages:\n";

TEST_F(StageConfigFile, BadTokenInASingleQuotedFilterIsReportedAtItsLineAndColumn) {
  // line 6: `  - filter: '$channel == "crm" and age >= and x'`
  //          123456789012345678901234567890123456789012
  //                                               ^ col 43: 'and' after '>='
  std::string path = write(std::string(kPipelineHead) +
                           "  - filter: '$channel == \"crm\" and age >= and x'\n"
                           "sink: { type: cdp }\n");
  auto d = check(path, 0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mark.file, path);
  EXPECT_EQ(d[0].mark.line, 6);
  EXPECT_EQ(d[0].mark.column, 43);
  EXPECT_NE(d[0].message.find("expected a value or field"), std::string::npos) << d[0].message;
  EXPECT_EQ(d[0].format().substr(0, path.size() + 6), path + ":6:43:");
}

TEST_F(StageConfigFile, OffsetsAccountForYamlEscapesAndQuotes) {
  // Double-quoted YAML: \" and \\ take two source bytes for one value byte.
  // line 7: `  - filter: "name == \"it''s\" and email =~ \"(\""`
  std::string path = write(std::string(kPipelineHead) +
                           "  - map: { set: { a: 1 } }\n"
                           "  - filter: \"x == \\\"a\\\\b\\\" and y =~ \\\"(\\\"\"\n"
                           "  - filter: 'x == ''it''''s'' and y = 1'\n");
  // Stage 1, source line 7:  - filter: "x == \"a\\b\" and y =~ \"(\""
  //   value: x == "a\b" and y =~ "("     the regex string starts at value offset 21
  //   source: opening quote at column 12, value byte 0 at 13. "x == " 13..17; \" (5) 18-19;
  //   a (6) 20; \\ (7) 21-22; b (8) 23; \" (9) 24-25; " and y =~ " (10..20) 26..36;
  //   \" (21) at 37.
  auto d1 = check(path, 1);
  ASSERT_EQ(d1.size(), 1u);
  EXPECT_EQ(d1[0].mark.line, 7);
  EXPECT_EQ(d1[0].mark.column, 37);
  EXPECT_NE(d1[0].message.find("regular expression"), std::string::npos);
  // Stage 2, source line 8:  - filter: 'x == ''it''''s'' and y = 1'
  //   value: x == 'it''s' and y = 1 ; '=' of "y = 1" is value offset 20.
  //   source: opening quote col 13, value 0 at 14; "x == " 14..18; '' (5) 19-20; "it" 21-22;
  //   '''' (8,9) 23-26; s 27; '' (11) 28-29; " and y " (12..18) 30..36; '=' at 37.
  auto d2 = check(path, 2);
  ASSERT_EQ(d2.size(), 1u);
  EXPECT_EQ(d2[0].mark.line, 8);
  EXPECT_EQ(d2[0].mark.column, 37);
  EXPECT_NE(d2[0].hint.find("=="), std::string::npos);
}

TEST_F(StageConfigFile, PlainAndFoldedMultiLineConditions) {
  std::string path = write(std::string(kPipelineHead) +
                           "  - filter: age > 1 and\n"
                           "      name ==\n"
                           "  - filter: >-\n"
                           "      age > 1\n"
                           "      and x in y\n");
  // Stage 0 (plain, folded onto one line): error at the end of the value -> just past "==".
  auto d0 = check(path, 0);
  ASSERT_EQ(d0.size(), 1u);
  EXPECT_EQ(d0[0].mark.line, 7);
  EXPECT_EQ(d0[0].mark.column, 14);
  // Stage 1 (folded block): 'y' on line 10, column 16.
  auto d1 = check(path, 1);
  ASSERT_EQ(d1.size(), 1u);
  EXPECT_EQ(d1[0].mark.line, 10);
  EXPECT_EQ(d1[0].mark.column, 16);
  EXPECT_NE(d1[0].message.find("needs a list"), std::string::npos);
}

TEST_F(StageConfigFile, RouteConditionErrorPointsIntoTheIfValue) {
  std::string path = write(std::string(kPipelineHead) +
                           "  - route:\n"
                           "      - if: 'total > 1000'\n"
                           "        to: big\n"
                           "      - if: total >> 5\n"
                           "        to: drop\n");
  auto d = check(path, 0);  // sinks are not known to the catalog check: only syntax
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mark.line, 9);
  EXPECT_EQ(d[0].mark.column, 20);  // second '>' of '>>'
}

TEST_F(StageConfigFile, MakeBuiltinStageThrowsWithTheSameMark) {
  std::string path = write(std::string(kPipelineHead) + "  - filter: 'a == 1 AND b == 2'\n");
  YAML::Node root = YAML::LoadFile(path);
  config::StageSpec spec;
  spec.type = "filter";
  spec.body = root["stages"][0]["filter"];
  spec.mark = {path, 6, 5};
  try {
    makeBuiltinStage(spec, StageContext{{"default"}});
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    const auto& d = e.diagnostics()[0];
    EXPECT_EQ(d.mark.line, 6);
    EXPECT_EQ(d.mark.column, 21);
    EXPECT_NE(d.hint.find("lower case"), std::string::npos);
  }
}

TEST_F(StageConfigFile, WithoutTheFileTheColumnIsBestEffort) {
  // parsePipeline() from text: the file does not exist; quoted scalars add the quote width.
  YAML::Node root = YAML::Load("stages:\n  - filter: 'a ==='\n  - filter: b ==\n");
  std::vector<config::Diagnostic> out;
  info("filter").check(root["stages"][0]["filter"], "/nonexistent/p.yaml", out);
  info("filter").check(root["stages"][1]["filter"], "/nonexistent/p.yaml", out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].mark.line, 2);
  EXPECT_EQ(out[0].mark.column, 18);  // quote at 13, value byte 4 ('=') at 18
  EXPECT_EQ(out[1].mark.line, 3);
  EXPECT_EQ(out[1].mark.column, 17);  // end of "b ==" (col 13..16)
}

TEST_F(StageConfigFile, MapErrorsPointAtTheOffendingNode) {
  std::string path =
      write(std::string(kPipelineHead) +
            "  - map:\n"                                                               // 6
            "      renam: { a: b }\n"                                                  // 7
            "      cast: { age: integer, $channel: int }\n"                            // 8
            "      time: { from: t, format: \"%Y-%Q\", tz: UTC }\n"                    // 9
            "      drop: [ $id, \"a..b\" ]\n"                                          // 10
            "      set: { $source: x, $occurred_at: yesterday, $consent.x: maybe }\n"  // 11
            "      copy: { a: $occurred_at, b: b }\n"                                  // 12
            "      time: { format: unix }\n");                                         // 13
  auto d = check(path, 0);
  std::vector<std::string> got;
  for (const auto& x : d) got.push_back(x.mark.str() + " " + x.message + " | " + x.hint);
  ASSERT_EQ(d.size(), 13u) << ::testing::PrintToString(got);
  size_t i = 0;
  auto expect = [&](int line, int col, const std::string& msg_part) {
    ASSERT_LT(i, d.size());
    EXPECT_EQ(d[i].mark.line, line) << got[i];
    EXPECT_EQ(d[i].mark.column, col) << got[i];
    EXPECT_NE(d[i].message.find(msg_part), std::string::npos) << got[i];
    ++i;
  };
  expect(7, 7, "unknown map op 'renam'");
  EXPECT_NE(d[0].hint.find("did you mean 'rename'"), std::string::npos);
  expect(8, 20, "is not int, float, bool or string");
  EXPECT_NE(d[1].hint.find("'int'"), std::string::npos);
  expect(8, 29, "envelope path");
  expect(9, 41, "unknown time key 'tz'");
  expect(9, 36, "'%Q'");  // inside the quoted pattern
  expect(10, 15, "cannot be dropped");
  expect(10, 20, "empty segment");
  expect(11, 14, "cannot be written");
  expect(11, 40, "RFC 3339");
  expect(11, 63, "consent status");
  expect(12, 18, "takes a parsed time");
  expect(12, 35, "'b' or one of its parents");
  expect(13, 13, "needs `from`");
}

TEST_F(StageConfigFile, TimeFormatErrorPointsInsideThePattern) {
  std::string path = write(std::string(kPipelineHead) +
                           "  - map:\n"
                           "      time: { from: t, format: \"%Y-%Q\", timezone: Europe/Berlin }\n");
  auto d = check(path, 0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mark.line, 7);
  EXPECT_EQ(d[0].mark.column, 36);  // '%Q': quote at 32, %Y 33-34, '-' 35
  EXPECT_NE(d[0].message.find("'%Q'"), std::string::npos);
  path = write(std::string(kPipelineHead) +
               "  - map:\n"
               "      time: { from: t, timezone: Europe/Berlin }\n");
  d = check(path, 0);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].mark.column, 34);
  EXPECT_NE(d[0].message.find("not supported"), std::string::npos);
}

TEST_F(StageConfigFile, ShapeErrors) {
  std::string path = write(std::string(kPipelineHead) +
                           "  - map: [ { rename: { a: b }, copy: { a: c } }, 5 ]\n"
                           "  - map:\n"
                           "  - filter: { a: 1 }\n"
                           "  - route: 'x == 1'\n"
                           "  - map: { rename: [a, b], set: { a: [1] } }\n");
  EXPECT_EQ(check(path, 0).size(), 2u);
  EXPECT_EQ(check(path, 1).size(), 1u);
  EXPECT_EQ(check(path, 2).size(), 1u);
  EXPECT_EQ(check(path, 3).size(), 1u);
  EXPECT_EQ(check(path, 4).size(), 2u);
}

TEST_F(StageConfigFile, CatalogListsTheBuiltinStagesWithValidJsonSchemas) {
  ASSERT_EQ(catalog_.items().size(), 5u);
  simdjson::dom::parser parser;
  for (const char* type : {"map", "filter", "route", "mask", "consent"}) {
    const auto& i = info(type);
    EXPECT_EQ(i.provider, "builtin");
    EXPECT_FALSE(i.description.empty());
    EXPECT_TRUE(static_cast<bool>(i.check));
    simdjson::dom::element doc;
    auto err = parser.parse(i.schema_json).get(doc);
    EXPECT_EQ(err, simdjson::SUCCESS) << type << ": " << i.schema_json;
    std::string_view title;
    EXPECT_EQ(doc["title"].get(title), simdjson::SUCCESS);
    EXPECT_EQ(title, type);
  }
  EXPECT_TRUE(isBuiltinStage("route"));
  EXPECT_FALSE(isBuiltinStage("com.vendor.enrich"));
}

TEST_F(StageConfigFile, AValidPipelineHasNoDiagnostics) {
  std::string path = write(std::string(kPipelineHead) +
                           "  - map:\n"
                           "      rename: { \"Contact: Email\": email }\n"
                           "      copy:   { email: $identities.email }\n"
                           "      set:    { $channel: crm, $type: contact.updated, system: sf }\n"
                           "      cast:   { age: int, vip: bool, score: float, zip: string }\n"
                           "      time:   { from: created, format: \"%Y-%m-%d %H:%M:%S\", "
                           "timezone: UTC, to: $occurred_at }\n"
                           "      drop:   [ Birthdate, \"internal.*\" ]\n"
                           "  - filter: '$channel == \"crm\" and (age >= 18 or exists(guardian)) "
                           "and country in [\"DE\",\"FR\"] and email =~ \"@example\\\\.com$\"'\n"
                           "  - route:\n"
                           "      - if: 'total > 1000'\n"
                           "        to: big_orders\n");
  for (size_t i = 0; i < 3; ++i) {
    auto d = check(path, i);
    EXPECT_TRUE(d.empty()) << i << ": " << (d.empty() ? "" : d[0].format());
  }
}

// The real loader (config/) with the built-in stages' schemas and checks.
TEST_F(StageConfigFile, LoaderValidatesBuiltinStagesWithTheirSchemasAndChecks) {
  config::ComponentInfo source;
  source.kind = config::ComponentKind::Source;
  source.type = "file.csv";
  source.schema_json = R"({"type": "object"})";
  catalog_.add(source);
  config::ComponentInfo sink;
  sink.kind = config::ComponentKind::Sink;
  sink.type = "cdp";
  sink.schema_json = R"({"type": "object"})";
  catalog_.add(sink);
  const std::string tail =
      "sink: { type: cdp }\n"
      "sinks:\n"
      "  big_orders: { type: cdp }\n";
  std::string path = write(std::string(kPipelineHead) +
                           "  - map:\n"
                           "      rename: { \"Contact: Email\": email }\n"
                           "      set: { $channel: crm, score: 1.5 }\n"
                           "      cast: { age: int }\n"
                           "      time: [ { from: created, format: \"%Y-%m-%d\" } ]\n"
                           "      drop: [ \"internal.*\" ]\n"
                           "  - filter: 'age >= 18 and country in [\"DE\", \"FR\"]'\n"
                           "  - route:\n"
                           "      - if: 'total > 1000'\n"
                           "        to: big_orders\n" +
                           tail);
  config::PipelineSpec spec = config::loadPipeline(path, catalog_);
  ASSERT_EQ(spec.stages.size(), 3u);
  StageContext ctx;
  for (const auto& s : spec.sinks) ctx.sink_names.push_back(s.name);
  ASSERT_EQ(ctx.sink_names.size(), 2u);
  std::vector<std::unique_ptr<Stage>> stages;
  for (const auto& st : spec.stages) stages.push_back(makeBuiltinStage(st, ctx));
  Batch batch(2);
  Event* e = batch.append();
  e->set("Contact: Email", Value::string("a@example.com"));
  e->set("age", Value::string("30"));
  e->set("country", Value::string("FR"));
  e->set("total", Value::integer(5000));
  for (auto& st : stages) ASSERT_TRUE(st->process(batch).isOk());
  EXPECT_TRUE(e->live());
  EXPECT_EQ(e->channel, "crm");
  EXPECT_EQ(e->route, 1);

  // A bad token inside the filter: the loader reports the check's line:column.
  path = write(std::string(kPipelineHead) + "  - filter: 'age >= 18 and country in \"DE\"'\n" +
               tail);
  try {
    config::loadPipeline(path, catalog_);
    FAIL() << "expected ConfigError";
  } catch (const config::ConfigError& err) {
    ASSERT_EQ(err.diagnostics().size(), 1u) << err.what();
    EXPECT_EQ(err.diagnostics()[0].mark.line, 6);
    EXPECT_EQ(err.diagnostics()[0].mark.column, 39) << err.what();  // the "DE"
  }

  // A schema violation (cast type outside the enum) is reported too.
  path = write(std::string(kPipelineHead) + "  - map: { cast: { age: integer } }\n" + tail);
  EXPECT_THROW(config::loadPipeline(path, catalog_), config::ConfigError);
}

TEST(StageFactory, UnknownTypeIsAConfigError) {
  config::StageSpec spec;
  spec.type = "mapp";
  spec.mark = {"p.yaml", 3, 5};
  try {
    makeBuiltinStage(spec, StageContext{{"default"}});
    FAIL();
  } catch (const config::ConfigError& e) {
    ASSERT_EQ(e.diagnostics().size(), 1u);
    EXPECT_EQ(e.diagnostics()[0].mark.line, 3);
  }
}

// ------------------------------------------------------------------------------------------
// Time formats
// ------------------------------------------------------------------------------------------

int64_t parsed(const std::string& format, const std::string& text, const std::string& tz = "UTC") {
  TimeFormat f;
  EXPECT_EQ(compileTimeFormat(format, f, nullptr), "");
  EXPECT_EQ(parseTimezone(tz, f.default_offset_s), "");
  int64_t us = 0;
  if (!parseTime(f, text, us)) return INT64_MIN;
  return us;
}

TEST(TimeParse, Iso8601Variants) {
  EXPECT_EQ(parsed("iso8601", "2024-05-01T10:00:00Z"), kMay1 * kUs);
  EXPECT_EQ(parsed("iso8601", "2024-05-01t10:00:00z"), kMay1 * kUs);
  EXPECT_EQ(parsed("iso8601", "2024-05-01 12:00:00+02:00"), kMay1 * kUs);
  EXPECT_EQ(parsed("iso8601", "2024-05-01T05:30:00-0430"), kMay1 * kUs);
  EXPECT_EQ(parsed("iso8601", "2024-05-01T10:00:00.123Z"), kMay1 * kUs + 123000);
  EXPECT_EQ(parsed("iso8601", "2024-05-01T10:00:00.123456789Z"), kMay1 * kUs + 123456);
  EXPECT_EQ(parsed("iso8601", "2024-05-01T10:00Z"), kMay1 * kUs);
  EXPECT_EQ(parsed("iso8601", "2024-05-01T12:00:00", "+02:00"), kMay1 * kUs);
  EXPECT_EQ(parsed("iso8601", "2024-05-01"), (kMay1 - 36000) * kUs);
  EXPECT_EQ(parsed("iso8601", "  2024-05-01T10:00:00Z "), kMay1 * kUs);
  EXPECT_EQ(parsed("iso8601", "2024-02-30T10:00:00Z"), INT64_MIN);
  EXPECT_EQ(parsed("iso8601", "2024-05-01T24:00:00Z"), INT64_MIN);
  EXPECT_EQ(parsed("iso8601", "2024-05-01T10:00:00Zjunk"), INT64_MIN);
  EXPECT_EQ(parsed("iso8601", "01.05.2024"), INT64_MIN);
  EXPECT_EQ(parsed("iso8601", "1969-12-31T23:59:59Z"), -kUs);
  EXPECT_EQ(parsed("iso8601", "2000-02-29T00:00:00Z"), 951782400LL * kUs);
}

TEST(TimeParse, Rfc2822Variants) {
  EXPECT_EQ(parsed("rfc2822", "Wed, 01 May 2024 12:00:00 +0200"), kMay1 * kUs);
  EXPECT_EQ(parsed("rfc2822", "1 May 2024 10:00 GMT"), kMay1 * kUs);
  EXPECT_EQ(parsed("rfc2822", "Wed, 1 May 2024 06:00:00 EDT"), kMay1 * kUs);
  EXPECT_EQ(parsed("rfc2822", "Wed, 01 May 24 10:00:00 +0000 (UTC)"), kMay1 * kUs);
  EXPECT_EQ(parsed("rfc2822", "Wed, 01 Foo 2024 10:00:00 +0000"), INT64_MIN);
}

TEST(TimeParse, UnixSecondsAndMilliseconds) {
  EXPECT_EQ(parsed("unix", "1714557600"), kMay1 * kUs);
  EXPECT_EQ(parsed("unix", "1714557600.25"), kMay1 * kUs + 250000);
  EXPECT_EQ(parsed("unix", "-1"), -kUs);
  EXPECT_EQ(parsed("unix_ms", "1714557600123"), kMay1 * kUs + 123000);
  EXPECT_EQ(parsed("unix", "17x"), INT64_MIN);
  EXPECT_EQ(parsed("unix", "99999999999999999999"), INT64_MIN);
  TimeFormat f;
  ASSERT_EQ(compileTimeFormat("unix", f, nullptr), "");
  int64_t us = 0;
  ASSERT_TRUE(parseTimeValue(f, Value::integer(kMay1), us));
  EXPECT_EQ(us, kMay1 * kUs);
  ASSERT_TRUE(parseTimeValue(f, Value::real(1714557600.5), us));
  EXPECT_EQ(us, kMay1 * kUs + 500000);
  EXPECT_FALSE(parseTimeValue(f, Value::boolean(true), us));
  TimeFormat iso;
  EXPECT_FALSE(parseTimeValue(iso, Value::integer(kMay1), us));  // a number is not iso8601
}

TEST(TimeParse, StrftimeLikePatterns) {
  EXPECT_EQ(parsed("%Y-%m-%d %H:%M:%S", "2024-05-01 10:00:00"), kMay1 * kUs);
  EXPECT_EQ(parsed("%Y-%m-%d %H:%M:%S", "2024-5-1 10:0:0"), kMay1 * kUs);
  EXPECT_EQ(parsed("%d/%b/%Y:%H:%M:%S %z", "01/May/2024:12:00:00 +0200"), kMay1 * kUs);
  EXPECT_EQ(parsed("%d %b %Y", "01 september 2024"), parsed("iso8601", "2024-09-01"));
  EXPECT_EQ(parsed("%Y%m%d%H%M%S.%f", "20240501100000.5"), kMay1 * kUs + 500000);
  EXPECT_EQ(parsed("%d.%m.%y", "01.05.24"), parsed("iso8601", "2024-05-01"));
  EXPECT_EQ(parsed("%H:%M 100%%", "10:00 100%"), 36000 * kUs);
  EXPECT_EQ(parsed("%Y-%m-%dT%H:%M:%S%z", "2024-05-01T10:00:00Z"), kMay1 * kUs);
  EXPECT_EQ(parsed("%Y-%m-%d", "2024-05-01 extra"), INT64_MIN);
  EXPECT_EQ(parsed("%Y-%m-%d", "2024-13-01"), INT64_MIN);
  TimeFormat f;
  size_t at = 99;
  EXPECT_NE(compileTimeFormat("%Y-%m-%q", f, &at), "");
  EXPECT_EQ(at, 6u);
  EXPECT_NE(compileTimeFormat("%Y%", f, &at), "");
  EXPECT_EQ(at, 2u);
  EXPECT_NE(compileTimeFormat("yyyy-mm-dd", f, &at), "");
  int32_t off = 0;
  EXPECT_EQ(parseTimezone("-05:30", off), "");
  EXPECT_EQ(off, -(5 * 3600 + 30 * 60));
  EXPECT_NE(parseTimezone("CET", off), "");
}

}  // namespace
