// Secrets never printed: a canary password in the store URI must not reach any output stream
// or log of the CLI or the daemon, whatever fails.
#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <sys/wait.h>

#include <csignal>
#include <thread>

#include "../support/pg_server.h"
#include "command.h"

using namespace omniloop::testing;
namespace fs = std::filesystem;

namespace {

const std::string kCanary = "Canary7pw";

const std::string kKeyEnv = "OMNILOOP_KEY=" + std::string(64, 'a');

std::string omniloopdBin() {
  return std::string(OMNILOOP_BIN_DIR) + "/omniloopd";
}

// A loopback port nothing listens on (bound, read, released).
int closedPort() {
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

std::string pgUri() {
  return "postgresql://omniloop:" + kCanary + "@127.0.0.1:" + std::to_string(closedPort()) +
         "/cdp?password=" + kCanary;
}

void expectNoCanary(const CommandResult& r, const std::string& what) {
  EXPECT_EQ(r.out.find(kCanary), std::string::npos) << what << " stdout: " << r.out;
  EXPECT_EQ(r.err.find(kCanary), std::string::npos) << what << " stderr: " << r.err;
}

}  // namespace

TEST(Secrets, StatsNeverPrintsTheStorePassword) {
  for (const bool json : {false, true}) {
    std::vector<std::string> argv = {omniloopBin(), "stats", "--store", pgUri()};
    if (json) argv.push_back("--json");
    const CommandResult r = runCommand(argv, {kKeyEnv});
    EXPECT_NE(r.exit_code, 0);
    expectNoCanary(r, json ? "stats --json" : "stats");
    EXPECT_NE((r.out + r.err).find("[secret]"), std::string::npos)
        << "the store should still be named, redacted: " << r.out << r.err;
  }
  const CommandResult p = runCommand(
      {omniloopBin(), "profile", "--store", pgUri(), "--identity", "email:a@b.example"}, {kKeyEnv});
  EXPECT_NE(p.exit_code, 0);
  expectNoCanary(p, "profile");
}

TEST(Secrets, DaemonNeverLogsTheStorePasswordEvenAtTraceLevel) {
  const std::string dir = tempDir("secrets");
  fs::create_directories(dir + "/pipelines.d");
  {
    std::ofstream(dir + "/omniloop.yaml") << "store: \"" << pgUri() << "\"\n"
                                          << "pipelines_dir: pipelines.d\n"
                                          << "log: { level: trace }\n"
                                          << "admin:\n  listen: 127.0.0.1:" << closedPort() << "\n";
  }
  const CommandResult r = runCommand({omniloopdBin(), "--config", dir + "/omniloop.yaml"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.err.find("cannot open the CDP store"), std::string::npos) << r.err;
  expectNoCanary(r, "omniloopd");

  const CommandResult check =
      runCommand({omniloopdBin(), "--config", dir + "/omniloop.yaml", "--check-config"});
  expectNoCanary(check, "omniloopd --check-config");
  fs::remove_all(dir);
}

TEST(Secrets, StatsOnAReachablePostgresStoreNamesItWithoutItsPassword) {
  auto& pg = PgServer::shared();
  const std::string db = pg.createDatabase("secrets");
  for (const bool json : {false, true}) {
    std::vector<std::string> argv = {omniloopBin(), "stats", "--store", pg.uri(db)};
    if (json) argv.push_back("--json");
    const CommandResult r = runCommand(argv, {kKeyEnv});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ((r.out + r.err).find(pg.password()), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.out.find("omniloop:[secret]@127.0.0.1"), std::string::npos) << r.out;
  }
  pg.dropDatabase(db);
}

namespace {

// Every secret-bearing setting gets a canary; nothing omniloop prints may contain one.
struct CanaryInstall {
  std::string dir = tempDir("canary");
  std::string token = "CanaryTokenA1b2C3d4E5f6G7h8";
  std::string key_hex = "ca11ab1eca11ab1eca11ab1eca11ab1eca11ab1eca11ab1eca11ab1eca11ab1e";
  std::string suppression_hex = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed";
  std::string hook_secret = "CanaryHookSecret42";
  std::string odbc_password = "CanaryOdbcPw9";
  std::string crm_file_password = "CanaryCrmFile7";
  std::string tls_key_line;  // a line of the PEM private key
  int port = closedPort();
  int hook_port = closedPort();

  std::vector<std::string> canaries(const std::string& store_password) const {
    return {token,        key_hex.substr(0, 24), suppression_hex.substr(0, 24),
            hook_secret,  odbc_password,         crm_file_password,
            tls_key_line, store_password};
  }

  void write(const std::string& path, const std::string& text) const {
    std::ofstream(path) << text;
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
  }

  std::string config(const std::string& store, const std::string& admin_extra = "") const {
    const std::string path = dir + "/omniloop.yaml";
    write(path, "store: \"" + store +
                    "\"\n"
                    "key_file: omniloop.key\n"
                    "suppression_key_file: suppression.key\n"
                    "pipelines_dir: pipelines.d\n"
                    "log: { level: trace }\n"
                    "admin:\n  listen: 127.0.0.1:" +
                    std::to_string(port) + "\n  token_file: token\n" + admin_extra);
    return path;
  }

  CanaryInstall() {
    fs::create_directories(dir + "/pipelines.d");
    fs::create_directories(dir + "/spool");
    write(dir + "/token", token + "\n");
    write(dir + "/omniloop.key", key_hex + "\n");
    write(dir + "/suppression.key", suppression_hex + "\n");
    write(dir + "/hook.secret", hook_secret + "\n");
    write(dir + "/crm.pw", crm_file_password + "\n");
    const CommandResult gen =
        runCommand({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                    "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", dir + "/admin.key", "-out", dir + "/admin.crt"});
    EXPECT_EQ(gen.exit_code, 0) << gen.err;
    std::istringstream key(readFile(dir + "/admin.key"));
    std::getline(key, tls_key_line);
    std::getline(key, tls_key_line);  // the first line of base64
    write(dir + "/pipelines.d/hook.yaml",
          "version: 1\nname: hook\nsource:\n  type: http.webhook\n  with:\n"
          "    listen: 127.0.0.1:" +
              std::to_string(hook_port) +
              "\n"
              "    path: /hook\n    spool_dir: ../spool\n    secret_file: ../hook.secret\n"
              "sink:\n  type: cdp\n");
    write(dir + "/pipelines.d/crm.yaml",
          "version: 1\nname: crm\nsource:\n  type: crm.odbc\n  with:\n"
          "    connection: \"DSN=OmniloopNoSuchDsn;Server=127.0.0.1;UID=crm;PWD=" +
              odbc_password +
              ";\"\n    poll_interval: 1\n"
              "stages:\n  - map: { drop: [salutation, first_name, last_name, title, birthdate, "
              "address] }\n"
              "sink:\n  type: cdp\n");
    write(dir + "/pipelines.d/crm2.yaml",
          "version: 1\nname: crm2\nsource:\n  type: crm.odbc\n  with:\n"
          "    connection: \"DSN=OmniloopNoSuchDsn;UID=crm\"\n"
          "    password_file: ../crm.pw\n    poll_interval: 1\n"
          "stages:\n  - map: { drop: [salutation, first_name, last_name, title, birthdate, "
          "address] }\n"
          "sink:\n  type: cdp\n");
  }
  ~CanaryInstall() {
    if (!::testing::Test::HasFailure()) fs::remove_all(dir);
  }
};

void expectNone(const std::vector<std::string>& canaries, const std::string& text,
                const std::string& what) {
  for (const std::string& c : canaries) {
    ASSERT_FALSE(c.empty());
    EXPECT_EQ(text.find(c), std::string::npos) << what << " prints the secret " << c << ":\n"
                                               << text;
  }
}

struct Answer {
  int status = 0;
  std::string text;  // status line, header fields and body
};

Answer adminGet(int port, const std::string& method, const std::string& path,
                const std::string& token) {
  Answer a;
  try {
    Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest req(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!token.empty()) req.set("Authorization", "Bearer " + token);
    if (method == "POST") req.setContentLength(0);
    session.sendRequest(req);
    Poco::Net::HTTPResponse resp;
    std::istream& in = session.receiveResponse(resp);
    std::ostringstream ss;
    resp.write(ss);
    ss << in.rdbuf();
    a.status = resp.getStatus();
    a.text = ss.str();
  } catch (const Poco::Exception& e) {
    a.text = e.displayText();
  }
  return a;
}

}  // namespace

TEST(Secrets, NoCanaryInAnyOutputLogOrAdminAnswer) {
  auto& pg = PgServer::shared();
  const std::string db = pg.createDatabase("canary");
  CanaryInstall in;
  const std::vector<std::string> canaries = in.canaries(pg.password());
  const std::string cfg = in.config(pg.uri(db));
  const std::string hook = in.dir + "/pipelines.d/hook.yaml";
  const std::string crm = in.dir + "/pipelines.d/crm.yaml";
  const std::string crm2 = in.dir + "/pipelines.d/crm2.yaml";

  // The CLI: validate, run (the ODBC connection fails), stats.
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {omniloopBin(), "validate", "--config", cfg, hook, crm, crm2},
           {omniloopBin(), "validate", "--explain", "--config", cfg, crm},
           {omniloopBin(), "run", "--config", cfg, crm},
           {omniloopBin(), "run", "--config", cfg, crm2},
           {omniloopBin(), "stats", "--config", cfg},
           {omniloopBin(), "stats", "--config", cfg, "--json"}}) {
    const CommandResult r = runCommand(argv, {}, [](pid_t pid) {
      // At most 8 s (a `run` that retried forever would be a bug); the child is not reaped
      // here (WNOWAIT), so the pid stays ours until runCommand waits for it.
      for (int i = 0; i < 160; ++i) {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
            info.si_pid == pid) {
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      ADD_FAILURE() << "still running after 8 s: killed";
      ::kill(pid, SIGKILL);
    });
    std::string what;
    for (const auto& a : argv) what += a + " ";
    expectNone(canaries, r.out + r.err, what);
  }

  // The daemon at trace level, every admin answer and `omniloop status`, plain and with TLS.
  for (const bool tls : {false, true}) {
    in.config(pg.uri(db), tls ? "  tls_cert_file: admin.crt\n  tls_key_file: admin.key\n" : "");
    std::vector<std::string> answers;
    const CommandResult d = runCommand({omniloopdBin(), "--config", cfg}, {}, [&](pid_t pid) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (std::chrono::steady_clock::now() < deadline) {
        const CommandResult s = runCommand({omniloopBin(), "status", "--config", cfg});
        answers.push_back("status: " + s.out + s.err);
        if (s.exit_code == 0 && s.out.find("crm2") != std::string::npos) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the ODBC pipelines fail
      if (!tls) {
        for (const char* path : {"/v1/pipelines", "/v1/pipelines/crm", "/v1/pipelines/crm2",
                                 "/v1/pipelines/hook", "/metrics", "/ready", "/v1/nope"}) {
          answers.push_back(adminGet(in.port, "GET", path, in.token).text);
        }
        answers.push_back(adminGet(in.port, "GET", "/v1/pipelines", in.token + "x").text);
        answers.push_back(adminGet(in.port, "GET", "/v1/pipelines", "").text);
        answers.push_back(adminGet(in.port, "POST", "/v1/reload", in.token).text);
        answers.push_back(adminGet(in.port, "POST", "/v1/pipelines/crm/restart", in.token).text);
        const Answer listing = adminGet(in.port, "GET", "/v1/pipelines", in.token);
        EXPECT_EQ(listing.status, 200) << listing.text;
        EXPECT_NE(listing.text.find("\"crm2\""), std::string::npos) << listing.text;
      }
      const CommandResult s = runCommand({omniloopBin(), "status", "--config", cfg});
      answers.push_back("status: " + s.out + s.err);
      EXPECT_EQ(s.exit_code, 0) << s.out << s.err;
      ::kill(pid, SIGTERM);
    });
    EXPECT_EQ(d.exit_code, 0) << d.err;
    EXPECT_NE(d.err.find(" debug "), std::string::npos) << "the log should be at trace level";
    expectNone(canaries, d.out + d.err, tls ? "omniloopd (TLS)" : "omniloopd");
    for (const std::string& a : answers) expectNone(canaries, a, "admin answer");
  }

  // Failure paths: a PostgreSQL URI libpq cannot parse (it quotes the malformed password
  // token in its error), an ODBC store that cannot be opened.
  for (const std::string& uri : {"postgresql://omniloop:" + kCanary +
                                     "%zz@127.0.0.1:" + std::to_string(closedPort()) + "/cdp",
                                 "postgresql://omniloop@127.0.0.1:" + std::to_string(closedPort()) +
                                     "/cdp?password=" + kCanary + "%zz"}) {
    const std::string cfg_bad_uri = in.config(uri);
    for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
             {omniloopBin(), "stats", "--config", cfg_bad_uri},
             {omniloopBin(), "stats", "--config", cfg_bad_uri, "--json"},
             {omniloopdBin(), "--config", cfg_bad_uri}}) {
      const CommandResult r = runCommand(argv);
      EXPECT_NE(r.exit_code, 0) << r.out << r.err;
      EXPECT_NE((r.out + r.err).find("percent-encoded"), std::string::npos) << r.out << r.err;
      expectNone({kCanary}, r.out + r.err, argv[0] + " " + argv[1] + " (malformed PostgreSQL URI)");
    }
  }

  // Failure paths: an ODBC store that cannot be opened.
  const std::string odbc_store =
      "odbc:Driver=OmniloopNoSuchDriver;Server=127.0.0.1;UID=cdp;PWD=" + in.odbc_password + ";";
  const std::string bad = in.config(odbc_store);
  for (const std::vector<std::string>& argv :
       std::vector<std::vector<std::string>>{{omniloopBin(), "stats", "--config", bad},
                                             {omniloopBin(), "stats", "--config", bad, "--json"},
                                             {omniloopBin(), "run", "--config", bad, crm},
                                             {omniloopdBin(), "--config", bad},
                                             {omniloopdBin(), "--config", bad, "--check-config"}}) {
    const CommandResult r = runCommand(argv);
    if (argv.back() != "--check-config") {
      EXPECT_NE(r.exit_code, 0) << argv[1] << r.out << r.err;
    }
    expectNone(canaries, r.out + r.err, argv[0] + " " + argv[1] + " (ODBC store)");
  }
  pg.dropDatabase(db);
}
