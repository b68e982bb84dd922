#pragma once
// The quickstart's recorded Mastodon API (examples/quickstart/mastodon/serve.py, python3) as a
// child process on a free 127.0.0.1 port, for tests that run Mastodon pipelines end to end.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "command.h"

namespace omniloop::testing {

class QuickstartMastodonServer {
 public:
  QuickstartMastodonServer() {
    const std::string dir = tempDir("mastodon-serve");
    const std::string port_file = dir + "/port";
    const std::string script = sourceDir() + "/examples/quickstart/mastodon/serve.py";
    pid_ = fork();
    if (pid_ == 0) {
      execlp("python3", "python3", script.c_str(), "--port-file", port_file.c_str(),
             static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      std::ifstream f(port_file);
      int port = 0;
      if (f >> port && port > 0) {
        url_ = "http://127.0.0.1:" + std::to_string(port);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::filesystem::remove_all(dir);
  }
  ~QuickstartMastodonServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  QuickstartMastodonServer(const QuickstartMastodonServer&) = delete;
  QuickstartMastodonServer& operator=(const QuickstartMastodonServer&) = delete;

  // "http://127.0.0.1:<port>", empty when the server did not come up.
  const std::string& url() const { return url_; }
  // The environment entry the quickstart's social pipeline reads its base_url from.
  std::string env() const { return "OMNILOOP_QUICKSTART_MASTODON_URL=" + url_; }

 private:
  pid_t pid_ = -1;
  std::string url_;
};

}  // namespace omniloop::testing
