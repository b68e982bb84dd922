// Personal data from the CLI: every shipped pipeline declares its personal fields and validates;
// validate reports a field reaching a sink in clear at file:line:column and --explain shows the
// way each field takes; source plugins declare theirs (ABI 1.1) while an ABI 1.0 plugin still
// runs; and logs at trace level never contain the sample data's personal values.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include <regex>
#include <set>

#include "command.h"
#include "mastodon_server.h"
#include "tests/support/odbc_env.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

const std::string kQuickstart = sourceDir() + "/examples/quickstart";
const std::string kTestPlugins = std::string(OMNILOOP_BINARY_DIR) + "/test-plugins";

void writeFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::vector<std::string> yamlFiles(const std::string& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& f : fs::directory_iterator(dir)) {
    if (f.path().extension() == ".yaml") out.push_back(f.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> shippedPipelines() {
  std::vector<std::string> all = yamlFiles(sourceDir() + "/pipelines");
  for (const auto& f : yamlFiles(kQuickstart + "/pipelines")) all.push_back(f);
  return all;
}

bool declaresPersonal(const std::string& file) {
  static const std::regex re("(^|\\n)personal:");
  return std::regex_search(readFile(file), re);
}

}  // namespace

TEST(PersonalData, EveryShippedPipelineDeclaresItsPersonalFieldsAndValidates) {
  std::vector<std::string> argv = {omniloopBin(), "validate", "--explain"};
  const std::vector<std::string> files = shippedPipelines();
  ASSERT_GE(files.size(), 8u);
  for (const auto& f : files) {
    argv.push_back(f);
    EXPECT_TRUE(declaresPersonal(f)) << f << " has no top-level 'personal:' list";
  }
  // The vendor plugin example needs its plugin to validate; it declares all the same.
  for (const auto& f : yamlFiles(sourceDir() + "/examples/vendor-plugin/pipelines")) {
    EXPECT_TRUE(declaresPersonal(f)) << f << " has no top-level 'personal:' list";
  }
  const auto r = runCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const auto& f : files) {
    EXPECT_NE(r.out.find(f + ": ok"), std::string::npos) << f;
    EXPECT_NE(r.out.find(f + ": personal data: "), std::string::npos) << f;
  }
  EXPECT_EQ(r.out.find("ERROR"), std::string::npos) << r.out;
}

TEST(PersonalData, ValidateReportsAFieldInClearAtItsDeclaration) {
  const std::string dir = tempDir("personal-validate");
  const std::string file = dir + "/contacts.yaml";
  writeFile(file,
            "version: 1\n"
            "name: contacts\n"
            "source:\n"
            "  type: file.jsonl\n"
            "  with: { path: in.jsonl }\n"
            "personal:\n"
            "  - email\n"
            "  - first_name\n"
            "stages:\n"
            "  - map: { copy: { email: $identities.email }, drop: [email] }\n"
            "sink:\n"
            "  type: cdp\n");
  auto r = runCommand({omniloopBin(), "validate", file});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(
      r.out.find(file + ":8:5: error: personal field 'first_name' reaches sink 'default' (cdp) in "
                        "clear\n  hint: mask it (- mask: { first_name: hmac }), drop it (- map: "
                        "{ drop: [first_name] }), copy it to $identities (- map: { copy: { "
                        "first_name: $identities.<type> } }) and drop it, or list it under "
                        "allow_clear: { first_name: \"<reason>\" }"),
      std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("'email'"), std::string::npos) << r.out;  // dealt with

  // Allowed in clear with a reason: valid, and --explain shows the reason and both paths.
  std::string text = readFile(file);
  text += "allow_clear:\n  first_name: \"greeting in service mails\"\n";
  writeFile(file, text);
  r = runCommand({omniloopBin(), "validate", "--explain", file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(file + ": ok"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  first_name  declared at " + file +
                       ":8:5\n    allow_clear: \"greeting "
                       "in service mails\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("=> sink 'default' (cdp): in clear as 'first_name', allowed: \"greeting "
                       "in service mails\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("-> copied to '$identities.email' (stage 1:map, line 10)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("=> reaches the sink pseudonymised as $identities.email"), std::string::npos)
      << r.out;

  // An empty reason is refused where it is written.
  writeFile(file, readFile(file).replace(readFile(file).find("\"greeting in service mails\""), 27,
                                         "\"\""));
  r = runCommand({omniloopBin(), "validate", file});
  EXPECT_EQ(r.exit_code, 2) << r.out;
  EXPECT_NE(r.out.find(file + ":14:15: error:"), std::string::npos) << r.out;
}

TEST(PersonalData, ASourcePluginDeclaresThePersonalFieldsItEmits) {
  const std::string env = "OMNILOOP_PLUGIN_PATH=" + kTestPlugins + "/personal";
  auto plugins = runCommand({omniloopBin(), "plugins"}, {env});
  EXPECT_EQ(plugins.exit_code, 0);
  EXPECT_NE(plugins.out.find("personal: first_name, last_name, customer.email"), std::string::npos)
      << plugins.out;
  auto json = runCommand({omniloopBin(), "plugins", "--json"}, {env});
  EXPECT_NE(json.out.find(R"("personal_fields":["first_name","last_name","customer.email"])"),
            std::string::npos)
      << json.out;

  const std::string dir = tempDir("personal-plugin");
  const std::string file = dir + "/crm.yaml";
  writeFile(file,
            "version: 1\n"
            "name: crm\n"
            "source:\n"
            "  type: test.contacts\n"
            "stages:\n"
            "  - mask: { first_name: redact, customer.email: hmac }\n"
            "sink:\n"
            "  type: cdp\n");
  auto r = runCommand({omniloopBin(), "validate", file}, {env});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.out.find(file + ":4:9: error: personal field 'last_name' reaches sink 'default' "
                              "(cdp) in clear (declared by source type 'test.contacts' "
                              "(test.personal))"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("'first_name'"), std::string::npos) << r.out;
}

TEST(PersonalData, APluginBuiltAgainstAbi10RunsAPipeline) {
  const std::string dir = tempDir("abi10");
  const std::string file = dir + "/letters.yaml";
  writeFile(file,
            "version: 1\n"
            "name: letters\n"
            "personal: []\n"
            "source:\n"
            "  type: abi10.letters\n"
            "  with: { count: 5 }\n"
            "stages:\n"
            "  - abi10.upper: {}\n"
            "sink:\n"
            "  type: abi10.tally\n");
  const std::string env = "OMNILOOP_PLUGIN_PATH=" + kTestPlugins + "/abi10";
  auto plugins = runCommand({omniloopBin(), "plugins"}, {env});
  EXPECT_NE(plugins.out.find("test.abi10 1.0.0  (ABI 1.0"), std::string::npos) << plugins.out;
  EXPECT_NE(plugins.out.find("sink   abi10.tally"), std::string::npos) << plugins.out;
  auto r = runCommand({omniloopBin(), "run", file, "--json", "--no-progress", "--store",
                       "sqlite:" + dir + "/store.db"},
                      {env});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("\"written\":5"), std::string::npos) << r.out;
}

// ---------------------------------------------------------------------------------------------
// Logs at trace level never contain personal values.
// ---------------------------------------------------------------------------------------------

namespace {

// Every personal value of the quickstart data (and the test plugin's), in the forms a leak
// would take: emails as written and lower-cased, phone numbers in the common formats, names.
std::set<std::string> sampleValues() {
  std::set<std::string> v;
  auto phone = [&](std::string digits) {
    if (digits.size() == 11 && digits[0] == '1') digits.erase(0, 1);
    if (digits.size() != 10) return;
    const std::string a = digits.substr(0, 3), b = digits.substr(3, 3), c = digits.substr(6);
    for (const std::string& f :
         {digits, "+1" + digits, "1" + digits, "(" + a + ") " + b + "-" + c, a + "-" + b + "-" + c,
          a + "." + b + "." + c, a + " " + b + " " + c, "+1 " + a + " " + b + " " + c,
          "+1-" + a + "-" + b + "-" + c}) {
      v.insert(f);
    }
  };
  const std::regex email("[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]+");
  const std::regex digits("\\+?1?[0-9]{10}");
  for (const char* rel : {"/data/crm/salesforce-Accounts-Contacts.csv", "/data/pos/orders.jsonl",
                          "/data/social/statuses.jsonl", "/data/call-center/Master.csv",
                          "/data/crm/suitecrm-data.sql"}) {
    const std::string text = readFile(kQuickstart + rel);
    for (std::sregex_iterator it(text.begin(), text.end(), email), end; it != end; ++it) {
      std::string e = it->str();
      v.insert(e);
      for (char& ch : e) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      v.insert(e);
    }
    for (std::sregex_iterator it(text.begin(), text.end(), digits), end; it != end; ++it) {
      std::string d = it->str();
      if (d[0] == '+') d.erase(0, 1);
      phone(d);
    }
  }
  // Names: the CRM's first and last names, the caller-id names, the Mastodon handles.
  const std::string crm = readFile(kQuickstart + "/data/crm/salesforce-Accounts-Contacts.csv");
  std::istringstream lines(crm);
  std::string line;
  std::getline(lines, line);  // header
  while (std::getline(lines, line)) {
    std::vector<std::string> cols;
    std::string cell;
    std::istringstream cells(line);
    while (std::getline(cells, cell, ',')) cols.push_back(cell);
    if (cols.size() < 5) continue;
    for (size_t i : {3u, 4u}) {
      if (cols[i].size() >= 3) v.insert(cols[i]);
    }
  }
  const std::string cdr = readFile(kQuickstart + "/data/call-center/Master.csv");
  const std::regex clid("\"\"([A-Za-z][A-Za-z ]+)\"\"");
  for (std::sregex_iterator it(cdr.begin(), cdr.end(), clid), end; it != end; ++it) {
    v.insert((*it)[1].str());
  }
  // The SuiteCRM rows: phones as quoted values, first and last names of contacts and leads.
  const std::string crm_sql = readFile(kQuickstart + "/data/crm/suitecrm-data.sql");
  const std::regex sql_phone("'([+(]?[0-9][0-9 ().-]{8,16})'");
  for (std::sregex_iterator it(crm_sql.begin(), crm_sql.end(), sql_phone), end; it != end; ++it) {
    std::string d;
    for (char ch : (*it)[1].str()) {
      if (std::isdigit(static_cast<unsigned char>(ch))) d.push_back(ch);
    }
    phone(d);
  }
  const std::regex sql_name(
      "INSERT INTO (?:contacts|leads) \\([^)]*\\) VALUES\\s*\\('[^']*', '[^']*', '[^']*', [01], "
      "'([^']*)', '([^']*)'");
  for (std::sregex_iterator it(crm_sql.begin(), crm_sql.end(), sql_name), end; it != end; ++it) {
    for (int i : {1, 2}) {
      if ((*it)[i].length() >= 3) v.insert((*it)[i].str());
    }
  }
  // The tills' POSLog: the customer's phone and name, loyalty account, POS customer number.
  const std::string poslog = readFile(kQuickstart + "/data/pos/tills/store12-2024-03.xml");
  const std::regex xml(
      "<(TelephoneNumber|FirstName|LastName|LoyaltyAccountID|CustomerID)>([^<]+)<");
  for (std::sregex_iterator it(poslog.begin(), poslog.end(), xml), end; it != end; ++it) {
    if ((*it)[1].str() == "TelephoneNumber") {
      std::string d;
      for (char ch : (*it)[2].str()) {
        if (std::isdigit(static_cast<unsigned char>(ch))) d.push_back(ch);
      }
      phone(d);
    } else if ((*it)[2].length() >= 3) {
      v.insert((*it)[2].str());
    }
  }
  const std::string social = readFile(kQuickstart + "/data/social/statuses.jsonl");
  const std::regex handle("\"username\":\"([^\"]+)\"");
  for (std::sregex_iterator it(social.begin(), social.end(), handle), end; it != end; ++it) {
    v.insert((*it)[1].str());
  }
  for (const char* s :
       {"Amelia", "Quartermaine", "Bruno", "Vasconcelos", "Philippa", "Featherstonehaugh",
        "Quillfeather", "Barnaby", "Quillwright", "philippa@crm-sample.example",
        "contact0@personal-plugin.example", "contact1@personal-plugin.example"}) {
    v.insert(s);
  }
  return v;
}

// The pipelines/ templates read from production paths: point them at the quickstart's data.
std::string sampleDataFor(const std::string& pipeline) {
  const std::string name = fs::path(pipeline).stem().string();
  if (name == "asterisk-cdr") return kQuickstart + "/data/call-center/Master.csv";
  if (name == "mastodon-statuses") return kQuickstart + "/data/social/statuses.jsonl";
  if (name == "salesforce-report-contacts")
    return kQuickstart + "/data/crm/salesforce-Accounts-Contacts.csv";
  if (name == "shopify-orders") return kQuickstart + "/data/pos/orders.jsonl";
  if (name == "poslog-tills") return sourceDir() + "/plugins/pos.poslog/tests/data";
  if (name == "callcenter-asterisk") return kQuickstart + "/data/call-center/Master.csv";
  if (name == "callcenter-connect")
    return sourceDir() + "/plugins/callcenter.connect/tests/data/ctr-sample.jsonl";
  return {};
}

uint16_t freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Records that go wrong on the way (a line that is not JSON, a total that is not a number), each
// carrying personal data: their dead-letter reasons and any error must not repeat it.
const char* kBadOrders =
    "{\"id\":990001,\"email\":\"broken.record@leak-test.example\",\"customer\":{\"phone\":\"+"
    "14155550143\"\n"
    "{\"id\":990002,\"created_at\":\"2024-03-05T10:00:00Z\",\"financial_status\":\"paid\","
    "\"total_price\":\"call Ophelia Brightwater\",\"email\":\"ophelia@leak-test.example\"}\n";

// Shipped pipelines that follow their input: running, never done.
const std::set<std::string> kFollowing = {
    "asterisk-cdr", "poslog-tills", "callcenter-asterisk", "callcenter-connect",
    "webhook-json", "crm-suitecrm", "crm-suitecrm-odbc", "mastodon-api", "social-mastodon"};

}  // namespace

TEST(PersonalData, LogsAtTraceLevelNeverContainPersonalValues) {
  const std::string dir = tempDir("personal-logs");
  const std::string log = dir + "/omniloop.log";
  const uint16_t port = freePort();
  writeFile(dir + "/omniloop.yaml", "store: sqlite:" + dir + "/store.db\nkey_file: " + dir +
                                        "/omniloop.key\npipelines_dir: pipelines.d\n"
                                        "admin: { listen: \"127.0.0.1:" +
                                        std::to_string(port) +
                                        "\" }\nlog: { level: trace, file: " + log + " }\n");
  // Sample data: the quickstart's, plus orders that fail in the source and in a stage.
  const std::string orders = dir + "/data/orders.jsonl";
  writeFile(orders, readFile(kQuickstart + "/data/pos/orders.jsonl") + kBadOrders);
  std::vector<std::string> runs;
  std::set<std::string> names;
  // Mastodon pipelines read the quickstart's recorded API pages from a local server.
  const QuickstartMastodonServer mastodon;
  ASSERT_FALSE(mastodon.url().empty()) << "examples/quickstart/mastodon/serve.py did not start";
  for (const std::string& f : shippedPipelines()) {
    std::string data = sampleDataFor(f);
    if (fs::path(f).stem() == "shopify-orders") data = orders;
    std::string text = readFile(f);
    if (!data.empty()) {
      // Same pipeline, reading the sample data (the first `path:` is the source's).
      const std::regex path_line("\\n( +)path: [^\\n]+");
      text = std::regex_replace(text, path_line, "\n$1path: " + data,
                                std::regex_constants::format_first_only);
    } else {
      // The quickstart's own pipelines read the quickstart's data, relative to their file.
      text = std::regex_replace(text, std::regex("(path|queue_log): \\.\\./data/"),
                                "$1: " + kQuickstart + "/data/");
    }
    if (fs::path(f).stem() == "crm-suitecrm-odbc") {  // the quickstart's SuiteCRM database, its DSN
      const std::string crm_db = dir + "/quickstart-suitecrm.db";
      sqlite3* h = nullptr;
      ASSERT_EQ(sqlite3_open(crm_db.c_str(), &h), SQLITE_OK);
      const std::string sql = readFile(sourceDir() + "/plugins/crm.odbc/sql/suitecrm-schema.sql") +
                              readFile(kQuickstart + "/data/crm/suitecrm-data.sql");
      EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
      sqlite3_close(h);
      omniloop::testing::OdbcEnv::shared().addDsn(
          "omniloop-quickstart-suitecrm",
          "Driver=" + std::string(omniloop::testing::OdbcEnv::kSqliteDriver) +
              "\nDatabase=" + crm_db + "\n");
    }
    if (fs::path(f).stem() == "callcenter-asterisk") {  // no queue_log in the sample data
      text = std::regex_replace(text, std::regex("\\n +queue_log: [^\\n]+"), "");
    }
    if (fs::path(f).stem() == "webhook-json") {  // a free port, a writable spool, a secret
      writeFile(dir + "/webhook.secret", "personal-test-secret\n");
      text = std::regex_replace(text, std::regex("listen: [^ \\n]+"),
                                "listen: 127.0.0.1:" + std::to_string(freePort()));
      text = std::regex_replace(text, std::regex("spool_dir: [^\\n]+"),
                                "spool_dir: " + dir + "/webhook-spool");
      text = std::regex_replace(text, std::regex("secret_file: [^\\n]+"),
                                "secret_file: " + dir + "/webhook.secret");
    }
    if (fs::path(f).stem() == "mastodon-api") {  // the quickstart's recorded API pages
      text =
          std::regex_replace(text, std::regex("base_url: [^\\n]+"), "base_url: " + mastodon.url());
      text = std::regex_replace(text, std::regex("token_file: [^\\n]+"),
                                "token_file: " + kQuickstart + "/mastodon/token");
    }
    if (fs::path(f).stem() == "crm-suitecrm") {  // a sample SuiteCRM database over SQLite ODBC
      const std::string crm_db = dir + "/suitecrm.db";
      sqlite3* h = nullptr;
      ASSERT_EQ(sqlite3_open(crm_db.c_str(), &h), SQLITE_OK);
      const std::string sql =
          readFile(sourceDir() + "/plugins/crm.odbc/sql/suitecrm-schema.sql") +
          readFile(sourceDir() + "/plugins/crm.odbc/tests/data/suitecrm-sample.sql");
      EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
      sqlite3_close(h);
      omniloop::testing::OdbcEnv::shared();  // ODBCSYSINI naming the SQLite driver, inherited
      text = std::regex_replace(
          text, std::regex("connection: [^\\n]+"),
          "connection: \"Driver=" + std::string(omniloop::testing::OdbcEnv::kSqliteDriver) +
              ";Database=" + crm_db + ";NoCreat=1\"");
      text = std::regex_replace(text, std::regex("\\n +password_file: [^\\n]+"), "");
    }
    const std::string copy = dir + "/pipelines.d/" + fs::path(f).filename().string();
    writeFile(copy, text);
    runs.push_back(copy);
    std::smatch m;
    if (std::regex_search(text, m, std::regex("\\nname: ([^\\n]+)"))) names.insert(m[1].str());
  }
  // A plugin source that declares its personal fields, masked on the way.
  writeFile(dir + "/pipelines.d/plugin.yaml",
            "version: 1\nname: plugin-contacts\nsource:\n  type: test.contacts\n"
            "  with: { count: 4 }\nstages:\n"
            "  - mask: { first_name: redact, last_name: hmac, customer.email: hmac }\n"
            "sink:\n  type: cdp\n");
  runs.push_back(dir + "/pipelines.d/plugin.yaml");
  names.insert("plugin-contacts");

  const std::string env = "OMNILOOP_PLUGIN_PATH=" + kTestPlugins + "/personal";
  std::string output;
  // 1. `omniloop run`, each pipeline on its own.
  for (const std::string& p : runs) {
    auto r = runCommand({omniloopBin(), "run", p, "--config", dir + "/omniloop.yaml",
                         "--stop-when-idle", "--no-progress"},
                        {env, mastodon.env()});
    EXPECT_EQ(r.exit_code, 0) << p << "\n" << r.out << r.err;
    EXPECT_NE(r.out.find("written"), std::string::npos) << p << "\n" << r.out;
    if (fs::path(p).stem() == "shopify-orders") {  // both bad orders went to the dead letters
      std::smatch m;
      ASSERT_TRUE(std::regex_search(r.out, m, std::regex("\n  dead-lettered +([0-9]+)")));
      EXPECT_GE(std::stoi(m[1].str()), 2) << r.out;
    }
    output += r.out + r.err;
  }
  // 2. omniloopd running all of them at once (a fresh store: everything is ingested again).
  fs::remove(dir + "/store.db");
  const std::string daemon_log = readFile(log);
  auto d = runCommand(
      {std::string(OMNILOOP_BIN_DIR) + "/omniloopd", "--config", dir + "/omniloop.yaml"},
      {env, mastodon.env()}, [&](pid_t pid) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        auto settled = [&] {
          const std::string text = readFile(log).substr(daemon_log.size());
          for (const std::string& n : names) {
            if (text.find("pipeline " + n + " done") == std::string::npos &&
                (kFollowing.count(n) == 0 ||
                 text.find("pipeline " + n + " running") == std::string::npos)) {
              return false;
            }
          }
          return true;
        };
        while (!settled() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        ::kill(pid, SIGTERM);
      });
  EXPECT_EQ(d.exit_code, 0) << d.out << d.err;
  output += d.out + d.err;
  const std::string all_log = readFile(log);
  output += all_log;
  for (const std::string& n : names) {
    if (kFollowing.count(n) > 0) continue;  // follows its file or directory: never done
    EXPECT_NE(all_log.find("pipeline " + n + " done"), std::string::npos) << n << "\n" << all_log;
  }
  EXPECT_NE(all_log.find("omniloopd"), std::string::npos) << all_log;

  std::set<std::string> values = sampleValues();
  for (const char* s :
       {"Amélie", "Lindqvist", "amelie.lindqvist@example.se", "+46 70 123 45 67", "+46701234567",
        "C-0042-7", "op-17", "broken.record@leak-test.example", "+14155550143", "4155550143",
        "(415) 555-0143", "Ophelia", "Brightwater", "ophelia@leak-test.example"}) {
    values.insert(s);
  }
  ASSERT_GT(values.size(), 30u);
  EXPECT_TRUE(values.count("amy@demo.net") && values.count("(415) 256-8563") &&
              values.count("Taylor") && values.count("Michael Jones"));
  for (const std::string& v : values) {
    const size_t at = output.find(v);
    EXPECT_EQ(at, std::string::npos)
        << "the logs contain '" << v << "': ..."
        << output.substr(at == std::string::npos ? 0 : (at > 120 ? at - 120 : 0), 240);
  }
}
