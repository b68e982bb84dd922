// Personal data declared and followed through the stages to every sink (config/personal.h):
// each map operation, filter, route branches, mask, allow_clear and source-declared fields.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.h"
#include "test_catalog.h"

using namespace omniloop::config;
using omniloop::config::testing::fakeCatalog;
using omniloop::config::testing::info;

namespace {

SimpleCatalog catalog() {
  SimpleCatalog c = fakeCatalog();
  c.add(info(ComponentKind::Stage, "mask", R"({"type": "object"})"));
  c.add(info(ComponentKind::Sink, "discard", R"({"type": "object"})"));
  ComponentInfo crm = info(ComponentKind::Source, "vendor.crm", R"({"type": "object"})");
  crm.provider = "com.vendor.crm";
  crm.personal_fields = {"first_name", "customer.email"};
  c.add(std::move(crm));
  return c;
}

struct Result {
  std::vector<Diagnostic> errors;
  std::string explanation;
  std::vector<PersonalField> personal;
};

// A pipeline from file.jsonl to cdp with the given top-level lines (personal:, stages:, ...).
Result check(const std::string& body, const std::string& source = "file.jsonl") {
  const std::string yaml = "version: 1\nname: p\nsource:\n  type: " + source +
                           "\n  with: { path: in.jsonl }\n" + body +
                           (body.find("\nsink:") == std::string::npos && body.rfind("sink:", 0) != 0
                                ? "sink:\n  type: cdp\n"
                                : "");
  const SimpleCatalog c = catalog();
  Result r;
  try {
    const PipelineSpec spec = parsePipeline(yaml, "p.yaml", c);
    r.explanation = spec.personal_explanation;
    r.personal = spec.personal;
  } catch (const ConfigError& e) {
    r.errors = e.diagnostics();
    r.explanation = e.explanation();
  }
  return r;
}

std::string messages(const Result& r) {
  std::string all;
  for (const Diagnostic& d : r.errors) all += d.format() + "\n";
  return all;
}

}  // namespace

TEST(PersonalData, UnmaskedFieldIsAnErrorAtItsDeclaration) {
  const Result r = check("personal:\n  - first_name\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  const Diagnostic& d = r.errors[0];
  EXPECT_EQ(d.message, "personal field 'first_name' reaches sink 'default' (cdp) in clear");
  EXPECT_EQ(d.mark.str(), "p.yaml:7:5");
  EXPECT_NE(d.hint.find("mask it"), std::string::npos);
  EXPECT_NE(d.hint.find("drop it"), std::string::npos);
  EXPECT_NE(d.hint.find("$identities"), std::string::npos);
  EXPECT_NE(d.hint.find("allow_clear: { first_name: \"<reason>\" }"), std::string::npos);
}

TEST(PersonalData, NothingDeclaredIsNothingChecked) {
  const Result r = check("stages:\n  - map: { rename: { a: b } }\n");
  EXPECT_TRUE(r.errors.empty()) << messages(r);
  EXPECT_NE(r.explanation.find("none declared"), std::string::npos);
  const Result empty = check("personal: []\n");
  EXPECT_TRUE(empty.errors.empty());
  EXPECT_NE(empty.explanation.find("'personal: []' says the records carry no personal data"),
            std::string::npos);
}

TEST(PersonalData, RenameCarriesTheFieldToItsNewPath) {
  const Result r = check(
      "personal: [first_name]\n"
      "stages:\n  - map: { rename: { first_name: given } }\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  EXPECT_EQ(r.errors[0].message,
            "personal field 'first_name' reaches sink 'default' (cdp) in clear as 'given'");
  EXPECT_NE(r.errors[0].hint.find("- mask: { given: hmac }"), std::string::npos);
  // ... and a mask of the new name is a way out.
  EXPECT_TRUE(check("personal: [first_name]\n"
                    "stages:\n  - map: { rename: { first_name: given } }\n"
                    "  - mask: { given: redact }\n")
                  .errors.empty());
  // A mask of the old name after the rename masks nothing.
  EXPECT_EQ(check("personal: [first_name]\n"
                  "stages:\n  - map: { rename: { first_name: given } }\n"
                  "  - mask: { first_name: redact }\n")
                .errors.size(),
            1u);
}

TEST(PersonalData, RenameToIdentitiesPseudonymises) {
  const Result r = check(
      "personal: [email]\n"
      "stages:\n  - map: { rename: { email: $identities.email } }\n");
  EXPECT_TRUE(r.errors.empty()) << messages(r);
  EXPECT_NE(r.explanation.find("pseudonymised as $identities.email"), std::string::npos);
}

TEST(PersonalData, CopyToIdentitiesMasksTheCopyButTheOriginalStillFlows) {
  const Result r = check(
      "personal: [email]\n"
      "stages:\n  - map: { copy: { email: $identities.email } }\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  EXPECT_EQ(r.errors[0].message, "personal field 'email' reaches sink 'default' (cdp) in clear");
  const Result dropped = check(
      "personal: [email]\n"
      "stages:\n  - map: { copy: { email: $identities.email }, drop: [email] }\n");
  EXPECT_TRUE(dropped.errors.empty()) << messages(dropped);
}

TEST(PersonalData, CopyToAnAttributeIsASecondClearValue) {
  const Result r = check(
      "personal: [email]\n"
      "stages:\n  - map: { copy: { email: contact.mail } }\n"
      "  - mask: { email: hmac }\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  EXPECT_EQ(r.errors[0].message,
            "personal field 'email' reaches sink 'default' (cdp) in clear as 'contact.mail'");
}

TEST(PersonalData, SetOverwritesTheValue) {
  EXPECT_TRUE(
      check("personal: [note]\nstages:\n  - map: { set: { note: \"n/a\" } }\n").errors.empty());
  // Setting a child of a personal object leaves the rest of it.
  EXPECT_EQ(check("personal: [customer]\nstages:\n  - map: { set: { customer.tier: gold } }\n")
                .errors.size(),
            1u);
}

TEST(PersonalData, DropRemovesTheFieldAndItsChildren) {
  EXPECT_TRUE(
      check("personal: [customer.email]\nstages:\n  - map: { drop: customer }\n").errors.empty());
  EXPECT_TRUE(
      check("personal: [customer]\nstages:\n  - map: { drop: [\"customer.*\"] }\n").errors.empty());
  // Dropping one child of a personal object does not make the rest of it safe.
  const Result r = check("personal: [customer]\nstages:\n  - map: { drop: [customer.email] }\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  EXPECT_EQ(r.errors[0].message, "personal field 'customer' reaches sink 'default' (cdp) in clear");
}

TEST(PersonalData, DeclaringAParentCoversItsChildren) {
  const Result r = check(
      "personal: [customer]\n"
      "stages:\n  - map: { rename: { customer.email: email } }\n"
      "  - mask: { customer: redact }\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  EXPECT_EQ(r.errors[0].message,
            "personal field 'customer' reaches sink 'default' (cdp) in clear as 'email'");
}

TEST(PersonalData, MapOpsRunInTheOrderWritten) {
  // A list of ops: drop before the rename drops nothing that was renamed later.
  EXPECT_EQ(check("personal: [a]\nstages:\n  - map:\n      - drop: [b]\n"
                  "      - rename: { a: b }\n")
                .errors.size(),
            1u);
  EXPECT_TRUE(check("personal: [a]\nstages:\n  - map:\n      - rename: { a: b }\n"
                    "      - drop: [b]\n")
                  .errors.empty());
}

TEST(PersonalData, TimeParsesIntoAnotherPersonalValue) {
  const Result r = check(
      "personal: [birth_date]\n"
      "stages:\n  - map: { time: { from: birth_date, to: born } }\n"
      "  - mask: { birth_date: { generalize: year } }\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  EXPECT_EQ(r.errors[0].message,
            "personal field 'birth_date' reaches sink 'default' (cdp) in clear as 'born'");
}

TEST(PersonalData, MaskMethodsMaskAndMaskDropRemoves) {
  for (const char* method :
       {"redact", "hmac", "tokenize", "{ truncate: 3 }", "{ generalize: year }"}) {
    const Result r =
        check(std::string("personal: [x]\nstages:\n  - mask: { x: ") + method + " }\n");
    EXPECT_TRUE(r.errors.empty()) << method << "\n" << messages(r);
  }
  const Result dropped = check("personal: [x]\nstages:\n  - mask: { x: drop }\n");
  EXPECT_TRUE(dropped.errors.empty());
  EXPECT_NE(dropped.explanation.find("reaches no sink (dropped by mask)"), std::string::npos);
  // A mask of the parent covers the child; a mask of one child does not cover the parent.
  EXPECT_TRUE(check("personal: [customer.email]\nstages:\n  - mask: { customer: redact }\n")
                  .errors.empty());
  EXPECT_EQ(
      check("personal: [customer]\nstages:\n  - mask: { customer.email: redact }\n").errors.size(),
      1u);
}

TEST(PersonalData, AFilterIsNoWayOut) {
  EXPECT_EQ(check("personal: [x]\nstages:\n  - filter: 'x == null'\n").errors.size(), 1u);
}

TEST(PersonalData, EveryRouteTargetIsChecked) {
  const std::string sinks =
      "sink:\n  type: cdp\nsinks:\n  big: { type: file.jsonl, with: { path: b.jsonl } }\n"
      "  unused: { type: file.jsonl, with: { path: u.jsonl } }\n";
  const Result r = check(
      "personal: [x]\nstages:\n  - route:\n      - if: 'n > 1'\n        to: big\n"
      "      - if: 'n < 0'\n        to: drop\n" +
      sinks);
  ASSERT_EQ(r.errors.size(), 2u) << messages(r);
  EXPECT_EQ(r.errors[0].message, "personal field 'x' reaches sink 'default' (cdp) in clear");
  EXPECT_EQ(r.errors[1].message, "personal field 'x' reaches sink 'big' (file.jsonl) in clear");
  EXPECT_EQ(messages(r).find("unused"), std::string::npos);  // no route sends there
  // A mask after the route covers both branches (stages run on every routed event).
  EXPECT_TRUE(check("personal: [x]\nstages:\n  - route:\n      - if: 'n > 1'\n        to: big\n"
                    "  - mask: { x: hmac }\n" +
                    sinks)
                  .errors.empty());
}

TEST(PersonalData, ADiscardSinkKeepsNothing) {
  EXPECT_TRUE(check("personal: [x]\nsink:\n  type: discard\n").errors.empty());
}

TEST(PersonalData, APluginStageIsAssumedToKeepTheField) {
  const Result r = check("personal: [x]\nstages:\n  - com.vendor.enrich: {}\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.explanation.find("assumed to keep the field"), std::string::npos);
}

TEST(PersonalData, AllowClearNeedsAReasonAndADeclaredField) {
  const Result ok =
      check("personal: [title]\nallow_clear:\n  title: \"job title, needed by sales\"\n");
  EXPECT_TRUE(ok.errors.empty()) << messages(ok);
  ASSERT_EQ(ok.personal.size(), 1u);
  EXPECT_TRUE(ok.personal[0].allow_clear);
  EXPECT_EQ(ok.personal[0].reason, "job title, needed by sales");
  EXPECT_NE(ok.explanation.find("allowed: \"job title, needed by sales\""), std::string::npos);

  const Result empty = check("personal: [title]\nallow_clear:\n  title: \"\"\n");
  ASSERT_FALSE(empty.errors.empty());
  EXPECT_EQ(empty.errors[0].mark.str(), "p.yaml:8:10");

  const Result unknown = check("personal: [title]\nallow_clear:\n  titel: \"x\"\n");
  bool found = false;
  for (const Diagnostic& d : unknown.errors) {
    if (d.message == "allow_clear names 'titel', which is not a personal field") {
      found = true;
      EXPECT_EQ(d.mark.str(), "p.yaml:8:3");
      EXPECT_NE(d.hint.find("did you mean 'title'?"), std::string::npos) << d.hint;
    }
  }
  EXPECT_TRUE(found) << messages(unknown);
}

TEST(PersonalData, FieldsDeclaredByTheSourceTypeAreChecked) {
  const Result r = check("", "vendor.crm");
  ASSERT_EQ(r.errors.size(), 2u) << messages(r);
  EXPECT_EQ(r.errors[0].message,
            "personal field 'first_name' reaches sink 'default' (cdp) in clear (declared by "
            "source type 'vendor.crm' (com.vendor.crm))");
  EXPECT_EQ(r.errors[0].mark.str(), "p.yaml:4:9");  // the source's type
  EXPECT_TRUE(check("allow_clear: { first_name: \"greeting in mails\" }\n"
                    "stages:\n  - mask: { customer.email: hmac }\n",
                    "vendor.crm")
                  .errors.empty());
}

TEST(PersonalData, ListedTwiceIsAnError) {
  const Result r = check("personal: [a, a]\nstages:\n  - mask: { a: redact }\n");
  ASSERT_EQ(r.errors.size(), 1u) << messages(r);
  EXPECT_EQ(r.errors[0].message, "personal field 'a' is listed twice");
}
