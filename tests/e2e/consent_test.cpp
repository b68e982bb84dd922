// End to end, as a user runs it: `omniloop tcf decode` against every IAB vector, and the consent
// stage with the ledger across two pipelines (`omniloop run`) on SQLite and PostgreSQL.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <fstream>
#include <map>

#include "../support/pg_server.h"
#include "command.h"

namespace omniloop::testing {
namespace {

// --- omniloop tcf decode ---

const std::string kData = sourceDir() + "/tests/unit/privacy/data/";

std::map<std::string, std::string> tsvStrings() {
  std::ifstream f(kData + "tcf-v2-tcstrings.tsv");
  std::map<std::string, std::string> out;
  std::string line;
  std::getline(f, line);
  while (std::getline(f, line)) {
    const size_t a = line.find('\t');
    const size_t b = line.find('\t', a + 1);
    out[line.substr(0, a)] = line.substr(a + 1, b - a - 1);
  }
  return out;
}

TEST(TcfDecodeCli, JsonMatchesEveryLineOfTheDecodedFile) {
  const auto strings = tsvStrings();
  std::ifstream f(kData + "tcf-v2-tcstrings.decoded.jsonl");
  std::string line;
  size_t lines = 0;
  while (std::getline(f, line)) {
    ++lines;
    const size_t id_at = line.find("\"id\": \"") + 7;
    const std::string id = line.substr(id_at, line.find('"', id_at) - id_at);
    SCOPED_TRACE(id);
    ASSERT_TRUE(strings.contains(id));
    const CommandResult r = runCommand({omniloopBin(), "tcf", "decode", strings.at(id), "--json"});
    if (const size_t e = line.find("\"error\": \""); e != std::string::npos) {
      EXPECT_EQ(r.exit_code, 2);
      EXPECT_NE(r.err.find(line.substr(e + 10, line.rfind('"') - e - 10)), std::string::npos)
          << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      continue;
    }
    const size_t d = line.find("\"decoded\": ");
    const std::string expected = line.substr(d + 11, line.size() - d - 12);
    if (expected.find("\"Version\": 1") != std::string::npos) {
      EXPECT_EQ(r.exit_code, 2);
      EXPECT_NE(r.err.find("version 1"), std::string::npos) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
      continue;
    }
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, expected + "\n");
  }
  EXPECT_EQ(lines, 11U);
}

TEST(TcfDecodeCli, TextGarbageAndUsage) {
  CommandResult r =
      runCommand({omniloopBin(), "tcf", "decode", "COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("purposes consent        [2, 10]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("created                 2020-01-26T17:01:00.000Z"), std::string::npos)
      << r.out;
  r = runCommand({omniloopBin(), "tcf", "decode", "hello world"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "omniloop tcf decode: not a TCF v2 string: segment 1: character 6 is not base64url\n");
  r = runCommand({omniloopBin(), "tcf"});
  EXPECT_EQ(r.exit_code, 2);
}

// --- the consent stage and the ledger through `omniloop run` ---

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

class ConsentRun : public ::testing::TestWithParam<bool> {  // true: PostgreSQL
 protected:
  void SetUp() override {
    dir_ = tempDir("consent");
    if (GetParam()) {
      auto& pg = PgServer::shared();
      uri_ = pg.uri(pg.createDatabase("consent"));
    } else {
      uri_ = "sqlite:" + dir_ + "/cdp.db";
    }
    std::ofstream(dir_ + "/omniloop.yaml")
        << "store: " << uri_ << "\nkey_file: " << dir_ << "/omniloop.key\nlog: { level: warn }\n"
        << "privacy:\n  purposes:\n    marketing: { basis: consent, tcf: [1, 3, 4] }\n"
        << "    billing: { basis: contract }\n  tcf: { vendor_id: 7 }\n";
    // CRM export: an opt-in flag per contact, with the privacy notice version it was given under.
    std::ofstream(dir_ + "/crm.yaml")
        << "version: 1\nname: crm\nsource: { type: file.jsonl, id: crm, with: { path: " << dir_
        << "/crm.jsonl, key_field: id } }\nstages:\n  - map:\n      copy: { email: "
           "$identities.email, "
           "email_opt_in: $consent.marketing }\n      time: { from: at }\n"
           "      set: { consent_notice: privacy-2026-01 }\n      drop: [email]\nsink: { type: cdp "
           "}\n";
    std::ofstream(dir_ + "/web.yaml")
        << "version: 1\nname: web\nsource: { type: file.jsonl, id: web, with: { path: " << dir_
        << "/web.jsonl, key_field: id } }\nstages:\n  - map: { copy: { email: $identities.email }, "
           "drop: [email] }\n"
           "  - consent: { require: [marketing, billing], tcf_field: tc_string, missing: drop }\n"
           "sink: { type: cdp }\n";
  }
  CommandResult run(const std::string& pipeline) {
    return runCommand({omniloopBin(), "run", dir_ + "/" + pipeline, "--config",
                       dir_ + "/omniloop.yaml", "--no-progress", "--json"});
  }
  std::string query(const std::string& sql) {
    std::string out;
    if (GetParam()) {
      PGconn* c = PQconnectdb(uri_.c_str());
      PGresult* r = PQexec(c, sql.c_str());
      EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQresultErrorMessage(r);
      for (int i = 0; i < PQntuples(r); ++i) {
        for (int j = 0; j < PQnfields(r); ++j)
          out += std::string(j ? "|" : "") + PQgetvalue(r, i, j);
        out += "\n";
      }
      PQclear(r);
      PQfinish(c);
      return out;
    }
    sqlite3* db = nullptr;
    sqlite3_open((dir_ + "/cdp.db").c_str(), &db);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int j = 0; j < sqlite3_column_count(st); ++j) {
        const unsigned char* t = sqlite3_column_text(st, j);
        out += std::string(j ? "|" : "") + (t ? reinterpret_cast<const char*>(t) : "");
      }
      out += "\n";
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }
  std::string dir_, uri_;
};

TEST_P(ConsentRun, CrmOptOutsAndTcStringsDecideWhatTheWebPipelineKeeps) {
  std::ofstream(dir_ + "/crm.jsonl")
      << R"({"id":"c1","email":"amy@example.com","email_opt_in":false,"at":"2026-01-01T00:00:00Z"})"
         "\n"
      << R"({"id":"c2","email":"bob@example.com","email_opt_in":true,"at":"2026-01-01T00:00:00Z"})"
         "\n";
  std::ofstream(dir_ + "/web.jsonl")
      << R"({"id":"w1","email":"Amy@Example.com"})"
         "\n"  // ledger: denied
      << R"({"id":"w2","email":"bob@example.com"})"
         "\n"  // ledger: granted
      << R"({"id":"w3","email":"carl@example.com","tc_string":")" << kTcAllPurposes
      << "\"}\n"  // TCF grants
      << R"({"id":"w4","email":"dan@example.com","tc_string":"COrEAV4Or"})"
         "\n"  // malformed
      << R"({"id":"w5","email":"eve@example.com"})"
         "\n";  // nothing known
  CommandResult r = run("crm.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  r = run("web.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  EXPECT_NE(r.out.find("\"written\":2,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"consent_denied\":{\"marketing\":2}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"consent_missing\":{\"marketing\":1}"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"dead_lettered\":1,"), std::string::npos) << r.out;

  const std::string reason = query("SELECT reason FROM dead_letters");
  EXPECT_EQ(reason.substr(0, 5), "tcf: ") << reason;
  // The ledger: the CRM decisions with their notice, and carl's TCF grant with its string.
  EXPECT_EQ(query("SELECT pipeline, identity_type, purpose, status, evidence, notice_version, "
                  "tc_string IS NOT NULL FROM consents ORDER BY id"),
            GetParam() ? "crm|email|marketing|denied|event|privacy-2026-01|f\n"
                         "crm|email|marketing|granted|event|privacy-2026-01|f\n"
                         "web|email|marketing|granted|tcf||t\n"
                       : "crm|email|marketing|denied|event|privacy-2026-01|0\n"
                         "crm|email|marketing|granted|event|privacy-2026-01|0\n"
                         "web|email|marketing|granted|tcf||1\n");
  // No clear identity in the ledger.
  EXPECT_EQ(query("SELECT count(*) FROM consents WHERE identity_hash LIKE '%example.com%'"), "0\n");

  // Bob withdraws in the CRM (a later export): his next web event is dropped.
  std::ofstream(dir_ + "/crm.jsonl", std::ios::app)
      << R"({"id":"c3","email":"bob@example.com","email_opt_in":false,"at":"2026-02-01T00:00:00Z"})"
         "\n";
  std::ofstream(dir_ + "/web.jsonl", std::ios::app) << R"({"id":"w6","email":"bob@example.com"})"
                                                       "\n";
  ASSERT_EQ(run("crm.yaml").exit_code, 0);
  r = run("web.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"read\":1,"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"consent_denied\":{\"marketing\":1}"), std::string::npos) << r.out;
}

TEST_P(ConsentRun, UnknownPurposeFailsValidateWithPositionAndHint) {
  std::ofstream(dir_ + "/bad.yaml")
      << "version: 1\nname: bad\nsource: { type: file.jsonl, id: web, with: { path: x.jsonl } }\n"
         "stages:\n  - consent: { require: [marketting] }\nsink: { type: cdp }\n";
  const CommandResult r = runCommand(
      {omniloopBin(), "validate", dir_ + "/bad.yaml", "--config", dir_ + "/omniloop.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  const std::string all = r.out + r.err;
  EXPECT_NE(all.find("bad.yaml:5:26: error: unknown purpose 'marketting'"), std::string::npos)
      << all;
  EXPECT_NE(all.find("did you mean 'marketing'?"), std::string::npos) << all;
}

INSTANTIATE_TEST_SUITE_P(Stores, ConsentRun, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Postgres" : "Sqlite";
                         });

}  // namespace
}  // namespace omniloop::testing
