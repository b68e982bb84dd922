// Secrets never printed: a canary password in the store URI must not reach any output stream
// or log of the CLI or the daemon, whatever fails.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

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
