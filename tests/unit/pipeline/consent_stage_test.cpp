// The `consent` stage (core/pipeline/stages/consent_stage.cpp): decision order explicit
// $consent -> TC string -> ledger -> unknown, legal bases, missing modes, malformed TC strings,
// counters, validation of purpose names, and no allocation per event once warm.
#include <gtest/gtest.h>

#include "alloc_counter.h"
#include "config/catalog.h"
#include "config/loader.h"
#include "identity/keyer.h"
#include "pipeline/stages/builtin.h"
#include "privacy/consent_ledger.h"
#include "privacy/keyed_hasher.h"

using namespace omniloop;
using namespace omniloop::pipeline;
using event::Batch;
using event::ConsentStatus;
using event::Disposition;
using event::Event;
using event::Value;

namespace {

// tcf-02 of the IAB vectors: purposes consent {3..9}, no purpose LI; vendor consents
// {23,37,47,48,53,65,98}, vendor LI {37,47,48,53,65,98,129}.
constexpr const char* kTcPurposes3to9 =
    "COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA";
// tcf-08: purposes consent 1..10, LI 2..10; vendors 1,2,4,6,7,... consent and LI.
constexpr const char* kTcAllPurposes =
    "CO4VGswO4VGswAfZCBDEAzCsAP_AAH_AAAigGUNf_X9fb2vj-_599_t0eY1f9_63t-wzjheMs-8NyZ-X_J4Wv2MyvB34Jq"
    "QKGRgkunLBAQdtHGncTQgBwIlViTLMY02MjzNKJrJEilsbe2dYGH9vn8XT_ZKZ70-_v__7v3___33_5Ayhr_6_r7e18f3_"
    "Pvv9"
    "ujzGr_v_W9v2GccLxln3huTPy_5PC1-xmV4O_BNSBQyMEl05YICDto407iaEAOBEqsSZZjGmxkeZpRNZIkUtjb2zrAw_"
    "t8_i6f7J"
    "TPen39___d-___--__"
    "ICgKAOAAcAA4AFAAjgB6AEYALcGACAW0AtoJAHAAOAAcACgARwA9ACMAFuFABALaAW0GgDgAHAAOABQAI4"
    "AegBGAC3DgAgFtALaEQBwADgAHAAoAEcAPQAjABbiQAQC2gFtCoA4ABwADgAUACOAHoARgAtxYAIBbQC2hkAcAA4ABwAKA"
    "BHAD0"
    "AIwAW40AEAtoBbQ6AOAAcAA4AFAAjgB6AEYALceACAW0AtohAHAAOAAcACgARwA9ACMAFuRABALaAW0SgDgAHAAOABQAI4"
    "AegBG"
    "AC3JgAgFtALaKQBwADgAHAAoAEcAPQAjABblQAQC2gFtA";

config::PrivacyConfig privacyConfig(uint32_t vendor_id) {
  config::PrivacyConfig p;
  p.purposes.push_back({"marketing", "consent", {1, 3, 4}, "", {}});
  p.purposes.push_back({"personalisation", "consent", {3, 4}, "", {}});
  p.purposes.push_back({"analytics", "legitimate_interest", {7}, "", {}});
  p.purposes.push_back({"newsletter", "consent", {}, "", {}});
  p.purposes.push_back({"billing", "contract", {}, "", {}});
  p.purposes.push_back({"tax", "legal_obligation", {}, "", {}});
  p.tcf_vendor_id = vendor_id;
  return p;
}

config::StageSpec specFrom(const std::string& yaml) {
  YAML::Node root = YAML::Load(yaml);
  config::StageSpec spec;
  auto it = root.begin();
  spec.type = it->first.Scalar();
  spec.name = "0:" + spec.type;
  spec.body = it->second;
  spec.mark = {"p.yaml", it->first.Mark().line + 1, it->first.Mark().column + 1};
  return spec;
}

class ConsentStageTest : public ::testing::Test {
 protected:
  std::unique_ptr<Stage> make(const std::string& yaml, uint32_t vendor = 23) {
    privacy_ = privacyConfig(vendor);
    ctx_.sink_names = {"default"};
    ctx_.privacy = &privacy_;
    ctx_.hasher = &hasher_;
    ctx_.ledger = &ledger_;
    return makeBuiltinStage(specFrom(yaml), ctx_);
  }
  std::vector<config::Diagnostic> errors(const std::string& yaml) {
    try {
      make(yaml);
    } catch (const config::ConfigError& e) {
      return e.diagnostics();
    }
    return {};
  }
  Event& add(Batch& b, std::string_view email, const char* tc = nullptr) {
    Event* e = b.append();
    e->setIdentity("email", b.intern(email));
    if (tc != nullptr) e->set("tc_string", Value::string(b.intern(tc)));
    return *e;
  }
  static uint64_t counted(const Batch& b, std::string_view family, std::string_view label) {
    for (const auto& t : b.tallies()) {
      if (t.family == family && t.label == label) return t.n;
    }
    return 0;
  }

  config::PrivacyConfig privacy_;
  privacy::KeyedHasher hasher_{std::string(32, 'k')};
  privacy::ConsentLedger ledger_;
  StageContext ctx_;
};

TEST_F(ConsentStageTest, ExplicitConsentDecidesFirst) {
  auto st = make("consent: { require: [marketing], tcf_field: tc_string }");
  Batch b(8);
  Event& granted = add(b, "a@example.com", kTcPurposes3to9);  // the TC string would deny
  granted.setConsent("marketing", ConsentStatus::Granted);
  Event& denied = add(b, "b@example.com", kTcAllPurposes);  // the TC string would grant
  denied.setConsent("marketing", ConsentStatus::Denied);
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(granted.disposition, Disposition::Keep);
  EXPECT_EQ(denied.disposition, Disposition::Drop);
  EXPECT_EQ(denied.reason, "consent: 'marketing' denied");
  EXPECT_EQ(counted(b, "consent_denied", "marketing"), 1U);
}

TEST_F(ConsentStageTest, TcStringNeedsEveryMappedPurposeAndTheVendor) {
  auto st = make("consent: { require: [marketing], tcf_field: tc_string }", 7);
  Batch b(8);
  Event& all = add(b, "a@example.com", kTcAllPurposes);     // purposes 1,3,4 + vendor 7
  Event& no_p1 = add(b, "b@example.com", kTcPurposes3to9);  // purpose 1 missing
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(all.disposition, Disposition::Keep);
  EXPECT_EQ(all.consent("marketing"), ConsentStatus::Granted);  // recorded for the ledger
  EXPECT_EQ(no_p1.disposition, Disposition::Drop);
  EXPECT_EQ(no_p1.consent("marketing"), ConsentStatus::Denied);

  // Purposes 3 and 4 are set in tcf-02, but vendor 7 has no consent bit there: denied.
  auto personalisation = make("consent: { require: [personalisation], tcf_field: tc_string }", 7);
  Batch c(8);
  Event& vendor_missing = add(c, "c@example.com", kTcPurposes3to9);
  ASSERT_TRUE(personalisation->process(c).isOk());
  EXPECT_EQ(vendor_missing.disposition, Disposition::Drop);
  // With vendor 23 (consent bit set in tcf-02) the same string grants it.
  auto vendor23 = make("consent: { require: [personalisation], tcf_field: tc_string }", 23);
  Batch d(8);
  Event& ok = add(d, "c@example.com", kTcPurposes3to9);
  ASSERT_TRUE(vendor23->process(d).isOk());
  EXPECT_EQ(ok.disposition, Disposition::Keep);
}

TEST_F(ConsentStageTest, LegitimateInterestUsesTheLiBitsAndNeedsNoConsent) {
  auto st = make("consent: { require: [analytics], tcf_field: tc_string }", 37);
  Batch b(8);
  Event& li_set = add(b, "a@example.com", kTcAllPurposes);     // purpose 7 LI; vendor 37 LI
  Event& li_unset = add(b, "b@example.com", kTcPurposes3to9);  // no purpose LI bits: objection
  Event& no_signal = add(b, "c@example.com");                  // nothing known: LI applies
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(li_set.disposition, Disposition::Keep);
  EXPECT_EQ(li_unset.disposition, Disposition::Drop);
  EXPECT_EQ(no_signal.disposition, Disposition::Keep);
}

TEST_F(ConsentStageTest, ContractAndLegalObligationAreGranted) {
  auto st = make("consent: { require: [billing, tax] }");
  Batch b(8);
  Event& e = add(b, "a@example.com");
  e.setConsent("billing", ConsentStatus::Denied);  // consent is not the basis: irrelevant
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(e.disposition, Disposition::Keep);
}

TEST_F(ConsentStageTest, LedgerDecidesByPseudonymisedIdentity) {
  ledger_.apply(hasher_.pseudonymize("email", "amy@example.com"), "newsletter",
                ConsentStatus::Denied, 100);
  ledger_.apply(hasher_.pseudonymize("email", "bob@example.com"), "newsletter",
                ConsentStatus::Granted, 100);
  auto st = make("consent: { require: [newsletter] }");
  Batch b(8);
  Event& amy = add(b, "  AMY@example.com ");  // normalised like the store does before hashing
  Event& bob = add(b, "bob@example.com");
  Event& carl = add(b, "carl@example.com");
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(amy.disposition, Disposition::Drop);
  EXPECT_EQ(bob.disposition, Disposition::Keep);
  EXPECT_EQ(carl.disposition, Disposition::Drop);
  EXPECT_EQ(carl.reason, "consent: no consent recorded for 'newsletter'");
  EXPECT_EQ(counted(b, "consent_denied", "newsletter"), 2U);
  EXPECT_EQ(counted(b, "consent_missing", "newsletter"), 1U);

  // A withdrawal applied to the shared view stops the subject's next event at once.
  ledger_.apply(hasher_.pseudonymize("email", "bob@example.com"), "newsletter",
                ConsentStatus::Denied, 200);
  Batch c(8);
  Event& bob2 = add(c, "bob@example.com");
  ASSERT_TRUE(st->process(c).isOk());
  EXPECT_EQ(bob2.disposition, Disposition::Drop);
}

TEST_F(ConsentStageTest, NewestLedgerRecordAmongIdentitiesWins) {
  ledger_.apply(hasher_.pseudonymize("email", "amy@example.com"), "newsletter",
                ConsentStatus::Granted, 100);
  ledger_.apply(hasher_.pseudonymize("crm_id", "C1"), "newsletter", ConsentStatus::Denied, 200);
  ledger_.apply(hasher_.pseudonymize("email", "amy@example.com"), "newsletter",
                ConsentStatus::Granted, 50);
  auto st = make("consent: { require: [newsletter] }");
  Batch b(8);
  Event& e = add(b, "amy@example.com");
  e.setIdentity("crm_id", "C1");
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(e.disposition, Disposition::Drop);
}

TEST_F(ConsentStageTest, MissingModes) {
  Batch b(8);
  Event& keep = add(b, "a@example.com");
  ASSERT_TRUE(make("consent: { require: [newsletter], missing: keep }")->process(b).isOk());
  EXPECT_EQ(keep.disposition, Disposition::Keep);
  EXPECT_EQ(counted(b, "consent_missing", "newsletter"), 1U);
  EXPECT_EQ(counted(b, "consent_denied", "newsletter"), 0U);

  Batch c(8);
  Event& dl = add(c, "a@example.com");
  auto st = make("consent: { require: [newsletter], missing: dead_letter }");  // owns the reason
  ASSERT_TRUE(st->process(c).isOk());
  EXPECT_EQ(dl.disposition, Disposition::DeadLetter);
  EXPECT_EQ(dl.reason, "consent: no consent recorded for 'newsletter'");
}

TEST_F(ConsentStageTest, MalformedTcStringIsThatEventsDeadLetter) {
  auto st = make("consent: { require: [marketing], tcf_field: tc_string }");
  Batch b(8);
  Event& bad = add(b, "a@example.com", "COrEAV4OrXx94");
  Event& v1 = add(b, "b@example.com",
                  "BOhwdphOxFC7tAHABBFRC--AAAAuhr_7__7-_9_-_f__9uj3Or_v_f__32ccL59v_h_7v-_7fi_"
                  "20nV4u_1vft9yfk1-5ctDztp"
                  "507iakivXmqdeb9v_nz3_5pxP78k89r7337Ew_v8_v-b7BCON_YxEiA");
  Event& good = add(b, "c@example.com", kTcAllPurposes);
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(bad.disposition, Disposition::DeadLetter);
  EXPECT_EQ(bad.reason.substr(0, 5), "tcf: ");
  EXPECT_NE(bad.reason.find("truncated"), std::string_view::npos) << bad.reason;
  EXPECT_EQ(v1.disposition, Disposition::DeadLetter);
  EXPECT_NE(v1.reason.find("version 1"), std::string_view::npos) << v1.reason;
  EXPECT_EQ(good.disposition, Disposition::Keep);
}

TEST_F(ConsentStageTest, UnknownPurposeIsAValidateErrorWithAHint) {
  const auto d = errors("consent:\n  require: [marketting, billing]\n");
  ASSERT_EQ(d.size(), 1U);
  EXPECT_EQ(d[0].mark.str(), "p.yaml:2:13");
  EXPECT_EQ(d[0].message, "unknown purpose 'marketting'");
  EXPECT_NE(d[0].hint.find("did you mean 'marketing'"), std::string::npos) << d[0].hint;
  const auto m = errors("consent: { require: [marketing], missing: never }");
  ASSERT_EQ(m.size(), 1U);
  EXPECT_NE(m[0].message.find("drop, keep or dead_letter"), std::string::npos);
  EXPECT_EQ(errors("consent: { tcf_field: tc_string }").size(), 1U);
}

TEST_F(ConsentStageTest, CatalogCheckKnowsTheDeclaredPurposes) {
  config::SimpleCatalog catalog;
  config::PrivacyConfig p = privacyConfig(23);
  registerBuiltinStages(catalog, &p);
  const config::ComponentInfo* info = catalog.find(config::ComponentKind::Stage, "consent");
  ASSERT_NE(info, nullptr);
  std::vector<config::Diagnostic> out;
  info->check(YAML::Load("{ require: [marketing] }"), "p.yaml", out);
  EXPECT_TRUE(out.empty());
  info->check(YAML::Load("{ require: [sales] }"), "p.yaml", out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].message, "unknown purpose 'sales'");
  EXPECT_NE(out[0].hint.find("known purposes"), std::string::npos) << out[0].hint;
}

// The ledger lookup normalises the event's identities; the store's keying then uses what it
// normalised instead of normalising again: one phone normalisation per event in all.
TEST_F(ConsentStageTest, LedgerLookupNormalisesOncePerEventForTheStoresKeying) {
  ledger_.apply(hasher_.pseudonymize("phone", "+49301234567"), "newsletter", ConsentStatus::Granted,
                100);
  auto st = make("consent: { require: [newsletter] }");
  Batch b(8);
  Event& e = add(b, "  AMY@example.com ");
  e.setIdentity("phone", b.intern("+49 (30) 123-4567"));
  e.id = b.intern(event::makeEventId("test", "1"));
  const uint64_t before = privacy::phoneNormalizationsOnThisThread();
  ASSERT_TRUE(st->process(b).isOk());
  EXPECT_EQ(e.disposition, Disposition::Keep);  // granted through the phone's ledger record
  EXPECT_EQ(e.identities[0].normalizedValue(), "amy@example.com");
  EXPECT_EQ(e.identities[1].normalizedValue(), "+49301234567");

  identity::Keyer keyer(&hasher_, privacy::NormalizeOptions{});
  std::vector<identity::Key> keys;
  ASSERT_TRUE(keyer.storableKeys(e, b, keys));
  EXPECT_EQ(privacy::phoneNormalizationsOnThisThread() - before, 1U);
  ASSERT_EQ(keys.size(), 2U);
  EXPECT_EQ(keys[0].hash, hasher_.pseudonymize("email", "amy@example.com"));
  EXPECT_EQ(keys[1].hash, hasher_.pseudonymize("phone", "+49301234567"));
}

TEST_F(ConsentStageTest, RepeatedTcStringsAndLedgerLookupsDoNotAllocate) {
  ledger_.apply(hasher_.pseudonymize("email", "amy@example.com"), "newsletter",
                ConsentStatus::Granted, 100);
  auto st = make("consent: { require: [marketing, newsletter], tcf_field: tc_string }", 7);
  Batch b(64);
  // Alternating strings: every event is decoded (no cache hit), a long one with publisher
  // restrictions and a short one, and still nothing is allocated once the stage is warm.
  for (int i = 0; i < 64; ++i) add(b, "amy@example.com", i % 2 ? kTcAllPurposes : kTcPurposes3to9);
  ASSERT_TRUE(st->process(b).isOk());  // warm up: decode, key buffers, tallies
  for (Event& e : b) {
    e.disposition = Disposition::Keep;
    e.consents.clear();
  }
  test_support::startCountingAllocations();
  const Result r = st->process(b);
  const size_t allocations = test_support::stopCountingAllocations();
  ASSERT_TRUE(r.isOk());
  EXPECT_EQ(allocations, 0U);
  for (int i = 0; i < 64; ++i) {
    EXPECT_EQ(b[i].disposition, i % 2 ? Disposition::Keep : Disposition::Drop)
        << i;  // tcf-02 lacks purpose 1
  }
}

}  // namespace
