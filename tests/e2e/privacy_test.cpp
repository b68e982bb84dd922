// Masking end to end with the omniloop binary: key rotation keeps one profile per person,
// tokenize + detokenize through the vault (audited), dead letters keep no clear value.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include "command.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

// Rows of a query as "a|b|c" lines.
std::vector<std::string> query(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  std::vector<std::string> rows;
  if (sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return rows;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        if (i) row += "|";
        const unsigned char* t = sqlite3_column_text(st, i);
        row += t ? reinterpret_cast<const char*>(t) : "";
      }
      rows.push_back(row);
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return rows;
}

std::string allStoreBytes(const std::string& db) {
  std::string all;
  for (const std::string& p : {db, db + "-wal", db + "-shm"}) {
    if (fs::exists(p)) all += readFile(p);
  }
  return all;
}

struct StoreDir {
  std::string dir = tempDir("privacy");
  std::string db = dir + "/var/store.db";
  std::string config = dir + "/omniloop.yaml";

  explicit StoreDir(const std::string& extra = "") {
    writeFile(config,
              "store: sqlite:var/store.db\nkey_file: var/store.key\n"
              "vault_key_file: var/vault.key\n" +
                  extra);
  }
  // A pipeline reading `name`.jsonl (key_field id) into the CDP store, with `stages`.
  std::string pipeline(const std::string& name, const std::string& stages,
                       const std::string& lines) {
    writeFile(dir + "/" + name + ".jsonl", lines);
    const std::string file = dir + "/" + name + ".yaml";
    writeFile(file, "version: 1\nname: " + name + "\nsource:\n  type: file.jsonl\n  id: " + name +
                        "\n  with: { path: " + dir + "/" + name +
                        ".jsonl, key_field: id }\nstages:\n" + stages + "sink:\n  type: cdp\n");
    return file;
  }
  CommandResult omniloop(std::vector<std::string> args) {
    args.insert(args.begin(), omniloopBin());
    args.push_back("--config");
    args.push_back(config);
    return runCommand(args);
  }
};

constexpr const char* kIdentityStages =
    "  - map:\n      copy: { email: $identities.email }\n      drop: [email]\n";

}  // namespace

TEST(KeyRotation, SamePersonBeforeAndAfterRotationIsOneProfile) {
  StoreDir s;
  const std::string before = s.pipeline("crm", kIdentityStages,
                                        "{\"id\": 1, \"email\": \"Amy@Demo.net \"}\n"
                                        "{\"id\": 2, \"email\": \"bob@demo.net\"}\n");
  auto r1 = s.omniloop({"run", before, "--no-progress"});
  ASSERT_EQ(r1.exit_code, 0) << r1.out << r1.err;
  auto status1 = s.omniloop({"keys", "status"});
  ASSERT_EQ(status1.exit_code, 0) << status1.err;
  const auto ids1 = query(s.db, "SELECT DISTINCT substr(lower(hex(hash)), 1, 8) FROM identities");
  ASSERT_EQ(ids1.size(), 1u);
  const std::string key1 = ids1[0];
  EXPECT_NE(status1.out.find("current key    " + key1), std::string::npos) << status1.out;

  auto rot = s.omniloop({"keys", "rotate", "--reason", "yearly rotation"});
  ASSERT_EQ(rot.exit_code, 0) << rot.out << rot.err;
  EXPECT_TRUE(fs::exists(s.dir + "/var/store.key.previous"));
  EXPECT_EQ(fs::status(s.dir + "/var/store.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  auto again = s.omniloop({"keys", "rotate"});
  EXPECT_EQ(again.exit_code, 1) << "a second rotation during the dual-hash period";
  EXPECT_NE(again.err.find("keys retire"), std::string::npos) << again.err;

  // Found through the previous key before the person is seen again.
  auto found = s.omniloop({"profile", "--identity", "email:bob@demo.net", "--json"});
  EXPECT_EQ(found.exit_code, 0) << found.err;

  const std::string after = s.pipeline("shop", kIdentityStages,
                                       "{\"id\": 10, \"email\": \"amy@demo.net\"}\n"
                                       "{\"id\": 11, \"email\": \"carol@demo.net\"}\n");
  auto r2 = s.omniloop({"run", after, "--no-progress"});
  ASSERT_EQ(r2.exit_code, 0) << r2.out << r2.err;

  // Amy: one profile with both events, her identity now under the new key.
  EXPECT_EQ(query(s.db, "SELECT count(*) FROM profiles"), std::vector<std::string>{"3"});
  auto amy = s.omniloop({"profile", "--identity", "email:amy@demo.net", "--json"});
  ASSERT_EQ(amy.exit_code, 0) << amy.err;
  EXPECT_NE(amy.out.find("\"events\":2"), std::string::npos) << amy.out;
  EXPECT_EQ(amy.out.find("\"value\":\"h1:" + key1), std::string::npos) << amy.out;
  auto status2 = s.omniloop({"keys", "status"});
  EXPECT_NE(status2.out.find("previous key   " + key1), std::string::npos) << status2.out;

  const auto audit = query(s.db, "SELECT actor, action, subject, details FROM audit_log");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_NE(audit[0].find("|key_rotate|"), std::string::npos) << audit[0];
  EXPECT_NE(audit[0].find("yearly rotation"), std::string::npos) << audit[0];
  EXPECT_NE(audit[0].find(key1), std::string::npos) << audit[0];
  EXPECT_NE(audit[0].substr(0, 1), "|") << "no actor";

  auto retire = s.omniloop({"keys", "retire"});
  ASSERT_EQ(retire.exit_code, 0) << retire.err;
  EXPECT_FALSE(fs::exists(s.dir + "/var/store.key.previous"));
  EXPECT_EQ(query(s.db, "SELECT action FROM audit_log ORDER BY id").back(), "key_retire");
}

TEST(Tokenize, VaultKeepsTheCardSealedAndDetokenizeIsAudited) {
  StoreDir s;
  const std::string card = "4111111111111111";
  const std::string p = s.pipeline("pay", "  - mask: { card: tokenize, holder: hmac }\n",
                                   "{\"id\": 1, \"card\": \"" + card +
                                       "\", \"holder\": \"Zelda Quist\"}\n"
                                       "{\"id\": 2, \"card\": \"" +
                                       card + "\", \"holder\": \"Zelda Quist\"}\n");
  auto r = s.omniloop({"run", p, "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(fs::status(s.dir + "/var/vault.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const auto tokens = query(s.db, "SELECT json_extract(attributes, '$.card') FROM events");
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0], tokens[1]) << "one card, one token";
  ASSERT_EQ(tokens[0].rfind("tk1:", 0), 0u) << tokens[0];
  const std::string bytes = allStoreBytes(s.db);
  EXPECT_EQ(bytes.find(card), std::string::npos);
  EXPECT_EQ(bytes.find("Zelda"), std::string::npos);

  auto no_reason = s.omniloop({"detokenize", tokens[0]});
  EXPECT_EQ(no_reason.exit_code, 2);
  auto d = s.omniloop({"detokenize", tokens[0], "--reason", "chargeback #42"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, card + "\n");
  const auto audit = query(s.db, "SELECT actor, action, subject, details FROM audit_log");
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_NE(audit[0].find("|detokenize|" + tokens[0] + "|"), std::string::npos) << audit[0];
  EXPECT_NE(audit[0].find("chargeback #42"), std::string::npos) << audit[0];
  EXPECT_EQ(audit[0].find(card), std::string::npos) << "the clear value was audited";

  // Another vault key cannot open it; the store alone reverses nothing.
  fs::rename(s.dir + "/var/vault.key", s.dir + "/var/vault.key.bak");
  auto missing = s.omniloop({"detokenize", tokens[0], "--reason", "x"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("vault key file"), std::string::npos) << missing.err;
  writeFile(s.dir + "/var/vault.key", std::string(64, 'a') + "\n");
  auto wrong = s.omniloop({"detokenize", tokens[0], "--reason", "x"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_EQ(wrong.out.find(card), std::string::npos);
}

TEST(DeadLetters, UnparsedRecordsAreSealedAndExpireParsedOnesAreMasked) {
  StoreDir s("dead_letters: { raw_retention_days: 2 }\n");
  const std::string broken = "{\"id\": 3, \"email\": \"secret.person@demo.net\", broken";
  const std::string p = s.pipeline(
      "dl",
      "  - map:\n      cast: { age: int }\n"
      "  - mask: { first_name: redact, phone: hmac }\n",
      "{\"id\": 1, \"first_name\": \"Zelda\", \"phone\": \"+14155550123\", \"age\": \"41\"}\n"
      "{\"id\": 2, \"first_name\": \"Quentin\", \"phone\": \"+14155550199\", \"age\": \"old\"}\n" +
          broken + "\n");
  auto r = s.omniloop({"run", p, "--no-progress"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  const auto payloads = query(s.db, "SELECT reason, payload FROM dead_letters ORDER BY reason");
  ASSERT_EQ(payloads.size(), 2u);
  const std::string bytes = allStoreBytes(s.db);
  for (const char* clear : {"secret.person@demo.net", "Quentin", "Zelda", "+14155550199",
                            "4155550199", "+14155550123"}) {
    EXPECT_EQ(bytes.find(clear), std::string::npos) << clear << " in clear in the store";
  }
  // The cast failure (before the mask stage) keeps what a replay needs, masked.
  std::string cast, raw;
  for (const auto& row : payloads) (row.find("raw_sealed") != std::string::npos ? raw : cast) = row;
  EXPECT_NE(cast.find("\"first_name\":\"[redacted]\""), std::string::npos) << cast;
  EXPECT_NE(cast.find("\"age\":\"old\""), std::string::npos) << cast;
  EXPECT_NE(cast.find("\"phone\":\"h1:"), std::string::npos) << cast;
  // The unparsed line: sealed in the vault, expiring after the configured retention.
  const size_t at = raw.find("tk1:");
  ASSERT_NE(at, std::string::npos) << raw;
  const std::string token = raw.substr(at, raw.find('"', at) - at);
  const auto vault =
      query(s.db, "SELECT expires_at - created_at FROM vault WHERE token = '" + token + "'");
  ASSERT_EQ(vault.size(), 1u);
  EXPECT_NEAR(std::stod(vault[0]) / 86400e6, 2.0, 0.01);
  auto d = s.omniloop({"detokenize", token, "--reason", "replay"});
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_EQ(d.out, broken + "\n");

  // Expired rows are gone the next time a store opens.
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(s.db.c_str(), &h), SQLITE_OK);
  sqlite3_exec(h, "UPDATE vault SET expires_at = 1", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  auto stats = s.omniloop({"stats"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  EXPECT_TRUE(query(s.db, "SELECT token FROM vault").empty());
}
