// The `mask` stage (core/pipeline/stages/mask_stage.cpp).
#include <gtest/gtest.h>

#include <map>

#include "alloc_counter.h"
#include "config/catalog.h"
#include "config/loader.h"
#include "config/pipeline_spec.h"
#include "pipeline/stages/builtin.h"
#include "privacy/keyed_hasher.h"
#include "privacy/tokenizer.h"

using namespace omniloop;
using namespace omniloop::pipeline;
using event::Batch;
using event::Disposition;
using event::Event;
using event::Value;
using event::ValueType;

namespace {

const privacy::KeyedHasher& testHasher() {
  static const privacy::KeyedHasher h(std::string(32, 'k'));
  return h;
}

// An in-memory tokenizer: deterministic tokens, counts flushes.
class FakeVault final : public privacy::Tokenizer {
 public:
  bool tokenize(std::string_view clear, std::string& out, std::string& error) override {
    if (clear == "fail") {
      error = "no";
      return false;
    }
    out = "tok_" + std::to_string(std::hash<std::string_view>{}(clear) % 100000);
    stored[out] = std::string(clear);
    return true;
  }
  bool flush(std::string&) override {
    ++flushes;
    return true;
  }
  std::map<std::string, std::string> stored;
  int flushes = 0;
};

config::StageSpec specFrom(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  config::StageSpec spec;
  auto it = root.begin();
  spec.type = it->first.Scalar();
  spec.name = "0:" + spec.type;
  spec.body = it->second;
  spec.mark.file = "inline.yaml";
  spec.mark.line = it->first.Mark().line + 1;
  spec.mark.column = it->first.Mark().column + 1;
  return spec;
}

StageContext context(FakeVault* vault = nullptr) {
  StageContext ctx;
  ctx.sink_names = {"default"};
  ctx.hasher = &testHasher();
  if (vault) ctx.tokenizer = [vault] { return static_cast<privacy::Tokenizer*>(vault); };
  return ctx;
}

std::unique_ptr<Stage> make(const std::string& yaml, FakeVault* vault = nullptr) {
  return makeBuiltinStage(specFrom(yaml), context(vault));
}

std::vector<config::Diagnostic> errors(const std::string& yaml) {
  try {
    makeBuiltinStage(specFrom(yaml), context());
  } catch (const config::ConfigError& e) {
    return e.diagnostics();
  }
  return {};
}

std::string text(const Value* v) {
  if (!v) return "<missing>";
  if (v->isNull()) return "<null>";
  return v->toText();
}

struct OneEvent {
  Batch batch{8};
  Event* e = batch.append();
};

TEST(MaskStage, RedactReplacesAndDropRemovesWithChildren) {
  auto st = make("mask: { first_name: redact, customer: drop }");
  OneEvent x;
  x.e->set("first_name", Value::string("Amy"));
  x.e->set("customer.email", Value::string("amy@demo.net"));
  x.e->set("customer.phone", Value::string("+14152568563"));
  x.e->set("total", Value::real(12.5));
  ASSERT_TRUE(st->process(x.batch).isOk());
  EXPECT_EQ(text(x.e->find("first_name")), "[redacted]");
  EXPECT_EQ(x.e->find("customer.email"), nullptr);
  EXPECT_EQ(x.e->find("customer.phone"), nullptr);
  EXPECT_EQ(text(x.e->find("total")), "12.5");
}

TEST(MaskStage, RedactAppliesToEveryChildOfAnObjectPath) {
  auto st = make("mask: { customer: redact }");
  OneEvent x;
  x.e->set("customer.first", Value::string("Amy"));
  x.e->set("customer.last", Value::string("Taylor"));
  x.e->set("customerish", Value::string("kept"));
  ASSERT_TRUE(st->process(x.batch).isOk());
  EXPECT_EQ(text(x.e->find("customer.first")), "[redacted]");
  EXPECT_EQ(text(x.e->find("customer.last")), "[redacted]");
  EXPECT_EQ(text(x.e->find("customerish")), "kept");
}

TEST(MaskStage, HmacNormalisesEmailBeforeHashing) {
  auto st = make("mask: { customer.email: hmac }");
  Batch batch(8);
  batch.append()->set("customer.email", Value::string("  Amy@Demo.NET "));
  batch.append()->set("customer.email", Value::string("amy@demo.net"));
  ASSERT_TRUE(st->process(batch).isOk());
  const std::string a = text(batch[0].find("customer.email"));
  EXPECT_EQ(a, text(batch[1].find("customer.email")));
  // The same pseudonym the store gives an email identity: key id prefixed.
  EXPECT_EQ(a, testHasher().pseudonymize("email", "amy@demo.net"));
  EXPECT_EQ(a.rfind("h1:" + testHasher().keyId() + ":", 0), 0u);
}

TEST(MaskStage, HmacNormalisesPhoneToE164WithTheRegion) {
  auto st = make("mask: { tel: { hmac: { as: phone, region: \"+1\" } }, mobile_phone: hmac }");
  Batch batch(8);
  batch.append()->set("tel", Value::string("(415) 256-8563"));
  batch.append()->set("tel", Value::string("+1 415 256 8563"));
  batch.append()->set("mobile_phone", Value::string("+1-415-256-8563"));
  ASSERT_TRUE(st->process(batch).isOk());
  const std::string want = testHasher().pseudonymize("phone", "+14152568563");
  EXPECT_EQ(text(batch[0].find("tel")), want);
  EXPECT_EQ(text(batch[1].find("tel")), want);
  EXPECT_EQ(text(batch[2].find("mobile_phone")), want);  // type inferred from the name
}

TEST(MaskStage, HmacOfOtherFieldsHashesTrimmedText) {
  auto st = make("mask: { last_name: hmac }");
  OneEvent x;
  x.e->set("last_name", Value::string(" Taylor "));
  ASSERT_TRUE(st->process(x.batch).isOk());
  EXPECT_EQ(text(x.e->find("last_name")), testHasher().pseudonymize("text", "Taylor"));
}

TEST(MaskStage, TruncateKeepsWholeUtf8Characters) {
  auto st = make("mask: { postcode: { truncate: 3 }, city: { truncate: 2 }, n: { truncate: 2 } }");
  OneEvent x;
  x.e->set("postcode", Value::string("94107"));
  x.e->set("city", Value::string("\xc3\x9c"
                                 "ber"));  // "Über"
  x.e->set("n", Value::integer(12345));
  ASSERT_TRUE(st->process(x.batch).isOk());
  EXPECT_EQ(text(x.e->find("postcode")), "941");
  EXPECT_EQ(text(x.e->find("city")),
            "\xc3\x9c"
            "b");
  EXPECT_EQ(text(x.e->find("n")), "12");
}

TEST(MaskStage, GeneralizeDates) {
  auto st = make(
      "mask: { birth_date: { generalize: year }, joined: { generalize: year-month }, "
      "bad: { generalize: year } }");
  OneEvent x;
  x.e->set("birth_date", Value::string("1984-07-21"));
  x.e->set("joined", Value::string("2023-11-05T10:00:00Z"));
  x.e->set("bad", Value::string("21.07.1984"));
  ASSERT_TRUE(st->process(x.batch).isOk());
  EXPECT_EQ(text(x.e->find("birth_date")), "1984");
  EXPECT_EQ(text(x.e->find("joined")), "2023-11");
  EXPECT_EQ(text(x.e->find("bad")), "<null>");  // fail closed
  ASSERT_EQ(x.batch.tallies().size(), 1u);
  EXPECT_EQ(x.batch.tallies()[0].family, "mask_nulled");
  EXPECT_EQ(x.batch.tallies()[0].label, "bad");
  EXPECT_EQ(x.batch.tallies()[0].n, 1u);
}

TEST(MaskStage, GeneralizePostcodeKeepsTheOutwardPart) {
  auto st = make("mask: { a: { generalize: postcode }, b: { generalize: postcode } }");
  OneEvent x;
  x.e->set("a", Value::string("SW1A 1AA"));
  x.e->set("b", Value::string("10115"));
  ASSERT_TRUE(st->process(x.batch).isOk());
  EXPECT_EQ(text(x.e->find("a")), "SW1A");
  EXPECT_EQ(text(x.e->find("b")), "101");
}

TEST(MaskStage, GeneralizeNetworkKeepsIpv4Slash24AndIpv6Slash48) {
  auto st = make("mask: { ip: { generalize: network } }");
  Batch batch(8);
  batch.append()->set("ip", Value::string("192.0.2.187"));
  batch.append()->set("ip", Value::string("2001:db8:85a3:8d3:1319:8a2e:370:7348"));
  batch.append()->set("ip", Value::string("not an ip"));
  ASSERT_TRUE(st->process(batch).isOk());
  EXPECT_EQ(text(batch[0].find("ip")), "192.0.2.0/24");
  EXPECT_EQ(text(batch[1].find("ip")), "2001:db8:85a3::/48");
  EXPECT_EQ(text(batch[2].find("ip")), "<null>");
}

TEST(MaskStage, GeneralizeBandsLabelsTheBand) {
  auto st = make("mask: { total: { generalize: { bands: [0, 50, 100, 500] } } }");
  Batch batch(8);
  batch.append()->set("total", Value::real(129.9));
  batch.append()->set("total", Value::string("18.50"));
  batch.append()->set("total", Value::integer(500));
  batch.append()->set("total", Value::integer(-3));
  batch.append()->set("total", Value::integer(50));
  ASSERT_TRUE(st->process(batch).isOk());
  EXPECT_EQ(text(batch[0].find("total")), "100-500");
  EXPECT_EQ(text(batch[1].find("total")), "0-50");
  EXPECT_EQ(text(batch[2].find("total")), "500+");
  EXPECT_EQ(text(batch[3].find("total")), "<0");
  EXPECT_EQ(text(batch[4].find("total")), "50-100");
}

TEST(MaskStage, TokenizeStoresInTheVaultAndFlushesOncePerBatch) {
  FakeVault vault;
  auto st = make("mask: { card: tokenize }", &vault);
  Batch batch(8);
  batch.append()->set("card", Value::string("4111111111111111"));
  batch.append()->set("card", Value::string("4111111111111111"));
  ASSERT_TRUE(st->process(batch).isOk());
  const std::string t = text(batch[0].find("card"));
  EXPECT_EQ(t, text(batch[1].find("card")));
  EXPECT_EQ(vault.stored.at(t), "4111111111111111");
  EXPECT_EQ(vault.flushes, 1);
}

TEST(MaskStage, TokenizeFailureDeadLettersWithoutTheClearValue) {
  FakeVault vault;
  auto st = make("mask: { card: tokenize }", &vault);
  OneEvent x;
  x.e->set("card", Value::string("fail"));
  ASSERT_TRUE(st->process(x.batch).isOk());
  EXPECT_EQ(x.e->disposition, Disposition::DeadLetter);
  EXPECT_EQ(text(x.e->find("card")), "<null>");
}

TEST(MaskStage, TokenizeWithoutAVaultIsAConfigError) {
  auto d = errors("mask: { card: tokenize }");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("vault"), std::string::npos);
}

TEST(MaskStage, UnknownMethodIsAnErrorAtItsPositionWithAHint) {
  auto d = errors(
      "mask:\n  first_name: redcat\n  x: { truncate: -1 }\n  y: { generalize: decade }\n"
      "  z: { hmac: { key: abc } }\n");
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].mark.line, 2);
  EXPECT_EQ(d[0].mark.column, 15);
  EXPECT_NE(d[0].message.find("unknown mask method 'redcat'"), std::string::npos);
  EXPECT_NE(d[0].hint.find("did you mean 'redact'"), std::string::npos);
  EXPECT_EQ(d[1].mark.line, 3);
  EXPECT_NE(d[1].message.find("truncate"), std::string::npos);
  EXPECT_EQ(d[2].mark.line, 4);
  EXPECT_NE(d[2].hint.find("year-month"), std::string::npos);
  EXPECT_EQ(d[3].mark.line, 5);
  EXPECT_NE(d[3].hint.find("never written in YAML"), std::string::npos);
}

TEST(MaskStage, BandsMustAscend) {
  auto d = errors("mask: { t: { generalize: { bands: [0, 100, 50] } } }");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].message.find("ascending"), std::string::npos);
}

TEST(MaskStage, CatalogCheckReportsWithoutAKey) {
  config::SimpleCatalog catalog;
  registerBuiltinStages(catalog);
  const config::ComponentInfo* info = catalog.find(config::ComponentKind::Stage, "mask");
  ASSERT_NE(info, nullptr);
  std::vector<config::Diagnostic> out;
  YAML::Node ok = YAML::Load("{ a: hmac, b: tokenize, c: { generalize: network } }");
  info->check(ok, "p.yaml", out);
  EXPECT_TRUE(out.empty());
  YAML::Node bad = YAML::Load("{ a: hash }");
  info->check(bad, "p.yaml", out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].mark.file, "p.yaml");
}

TEST(MaskStage, HmacAndGeneralizeDoNotAllocatePerEvent) {
  auto st = make(
      "mask: { email: hmac, phone: { hmac: { region: \"+1\" } }, first_name: redact, "
      "total: { generalize: { bands: [0, 50, 100] } }, ip: { generalize: network }, "
      "zip: { truncate: 3 }, note: drop }");
  Batch batch(64);
  auto fill = [&] {
    batch.reset();
    for (int i = 0; i < 64; ++i) {
      Event* e = batch.append();
      e->set("email", Value::string("Ada@Example.com"));
      e->set("phone", Value::string("(415) 256-8563"));
      e->set("first_name", Value::string("Ada"));
      e->set("total", Value::real(77.0));
      e->set("ip", Value::string("10.1.2.3"));
      e->set("zip", Value::string("94107"));
      e->set("note", Value::string("call back"));
    }
  };
  fill();
  st->process(batch);  // warms vectors, the arena block and scratch buffers
  fill();
  omniloop::test_support::startCountingAllocations();
  st->process(batch);
  EXPECT_EQ(omniloop::test_support::stopCountingAllocations(), 0u);
  EXPECT_EQ(text(batch[63].find("total")), "50-100");
  EXPECT_EQ(batch[63].find("note"), nullptr);
}

}  // namespace
