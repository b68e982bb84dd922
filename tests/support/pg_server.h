#pragma once
// A throwaway PostgreSQL server for tests, from Debian's packages: initdb + pg_ctl in a temp
// directory, listening on a free loopback port (and a Unix socket in that directory only),
// fsync/synchronous_commit off for speed. One per test process (PgServer::shared()), stopped
// at exit; a reaper process stops it too if the test process dies any other way (a crash,
// SIGKILL, a ctest timeout), so no server outlives its test.
//
// initdb refuses to run as root: as root, the server runs as the `postgres` system user (or
// `nobody`, or a dedicated `omniloop-test` user created with useradd) through runuser.
//
// The superuser is `omniloop` with a random password (scram-sha-256 over TCP), so tests also
// exercise password handling. uri(db) gives a libpq URI; createDatabase() a fresh database.
#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace omniloop::testing {

class PgServer {
 public:
  // The process's server, started on first use (throws std::runtime_error when it cannot be).
  static PgServer& shared() {
    static std::once_flag once;
    static PgServer* server = nullptr;
    std::call_once(once, [] {
      server = new PgServer();
      std::atexit([] { server->stop(); });
    });
    return *server;
  }

  // Where Debian installs the server binaries ("" when PostgreSQL is not installed).
  static std::string binDir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string best;
    if (fs::exists("/usr/lib/postgresql", ec)) {
      for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        if (fs::exists(e.path() / "bin" / "initdb") && e.path().string() > best) best = e.path().string();
      }
    }
    return best.empty() ? std::string() : best + "/bin";
  }

  int port() const { return port_; }
  const std::string& password() const { return password_; }
  const std::string& user() const { return user_; }
  const std::string& dir() const { return dir_; }

  std::string uri(const std::string& database) const {
    return "postgresql://omniloop:" + password_ + "@127.0.0.1:" + std::to_string(port_) + "/" + database;
  }

  // A new empty database named `prefix` + a counter; returns its name.
  std::string createDatabase(const std::string& prefix = "t") {
    static std::atomic<int> counter{0};
    const std::string name = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
    // FILE_COPY (PostgreSQL 15+) copies the template's files instead of WAL-logging every
    // page: with fsync off, create + drop take a third of the time (it adds up over a suite).
    admin("CREATE DATABASE " + name + (major_ >= 15 ? " STRATEGY FILE_COPY" : ""));
    return name;
  }

  void dropDatabase(const std::string& name) { admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)"); }

  // Runs SQL on the `postgres` database; throws on error.
  void admin(const std::string& sql) const {
    PGconn* c = PQconnectdb(uri("postgres").c_str());
    if (PQstatus(c) != CONNECTION_OK) {
      const std::string m = PQerrorMessage(c);
      PQfinish(c);
      throw std::runtime_error("test PostgreSQL: " + m);
    }
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    const std::string m = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (!ok) throw std::runtime_error("test PostgreSQL: " + sql + ": " + m);
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    run(pgCtl() + " -m immediate -w stop >/dev/null 2>&1");
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    if (reaper_pipe_ >= 0) ::close(reaper_pipe_);  // the reaper finds nothing left to do
    reaper_pipe_ = -1;
  }

 private:
  PgServer() {
    const std::string bin = binDir();
    if (bin.empty()) throw std::runtime_error("PostgreSQL server binaries not found under /usr/lib/postgresql");
    bin_ = bin;
    // ".../postgresql/<major>/bin"
    major_ = std::atoi(std::filesystem::path(bin).parent_path().filename().c_str());
    std::string tmpl = (std::filesystem::temp_directory_path() / "omniloop-pg-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);
    password_ = randomPassword();
    if (::geteuid() == 0) {
      user_ = unprivilegedUser();
      const passwd* pw = ::getpwnam(user_.c_str());
      if (pw == nullptr || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        throw std::runtime_error("cannot hand " + dir_ + " to user " + user_);
      }
      as_ = "runuser -u " + user_ + " -- ";
    }
    const std::string pwfile = dir_ + "/pwfile";
    {
      std::ofstream(pwfile) << password_ << "\n";
    }
    if (!user_.empty()) {
      const passwd* pw = ::getpwnam(user_.c_str());
      if (::chown(pwfile.c_str(), pw->pw_uid, pw->pw_gid) != 0) throw std::runtime_error("chown pwfile");
    }
    ::chmod(pwfile.c_str(), 0600);
    if (run(as_ + bin_ + "/initdb -D " + dir_ + "/data -U omniloop --pwfile=" + pwfile +
            " --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-sync"
            " --no-instructions >" + dir_ + "/initdb.log 2>&1") != 0) {
      const std::string log = slurp(dir_ + "/initdb.log");
      cleanup();
      throw std::runtime_error("initdb failed: " + log);
    }
    std::filesystem::remove(pwfile);
    for (int attempt = 0;; ++attempt) {
      port_ = freePort();
      const std::string options = "-p " + std::to_string(port_) +
                                  " -c listen_addresses=127.0.0.1 -c unix_socket_directories=" + dir_ +
                                  " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                                  " -c max_connections=60 -c shared_buffers=64MB -c log_min_messages=warning";
      if (run(as_ + bin_ + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -o \"" + options +
              "\" start >/dev/null 2>&1") == 0) {
        break;
      }
      if (attempt == 2) {
        const std::string log = slurp(dir_ + "/server.log");
        cleanup();
        throw std::runtime_error("pg_ctl start failed: " + log);
      }
    }
    startReaper();
  }

  std::string pgCtl() const { return as_ + bin_ + "/pg_ctl -D " + dir_ + "/data"; }

  static int run(const std::string& command) {
    const int rc = std::system(command.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  }

  static std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  void cleanup() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  static std::string randomPassword() {
    std::random_device rd;
    static constexpr char kChars[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::string p = "pw-";
    for (int i = 0; i < 20; ++i) p.push_back(kChars[rd() % (sizeof kChars - 1)]);
    return p;
  }

  static std::string unprivilegedUser() {
    for (const char* u : {"postgres", "nobody"}) {
      if (::getpwnam(u) != nullptr) return u;
    }
    if (run("useradd --system --no-create-home --shell /usr/sbin/nologin omniloop-test >/dev/null 2>&1") != 0 &&
        ::getpwnam("omniloop-test") == nullptr) {
      throw std::runtime_error("no unprivileged user to run PostgreSQL as (tried postgres, nobody, useradd)");
    }
    return "omniloop-test";
  }

  static int freePort() {
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      ::close(s);
      throw std::runtime_error("cannot find a free port");
    }
    const int port = ntohs(a.sin_port);
    ::close(s);
    return port;
  }

  // A child in its own session that waits for this process to go away (the pipe's write end
  // closes with it, however it ends) and then stops the server and removes its directory.
  void startReaper() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    const std::string command = pgCtl() + " -m immediate -w stop >/dev/null 2>&1; rm -rf " + dir_;
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      ::signal(SIGINT, SIG_IGN);
      ::signal(SIGTERM, SIG_IGN);
      ::signal(SIGHUP, SIG_IGN);
      ::close(fds[1]);
      char c;
      while (::read(fds[0], &c, 1) != 0) {
      }
      // Stopped cleanly already? Then the directory is gone and there is nothing to do.
      if (::access((dir_ + "/data").c_str(), F_OK) == 0) {
        ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      }
      ::_exit(0);
    }
    ::close(fds[0]);
    reaper_pipe_ = fds[1];
  }

  std::string bin_;
  std::string dir_;
  std::string user_;
  std::string as_;
  std::string password_;
  int port_ = 0;
  int major_ = 0;
  int reaper_pipe_ = -1;
  bool stopped_ = false;
};

}  // namespace omniloop::testing
