#pragma once
// Runs a command as a user would (fork + exec), capturing stdout, stderr and the exit status.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace omniloop::testing {

struct CommandResult {
  int exit_code = -1;  // 128 + signal when killed
  std::string out;
  std::string err;
};

inline std::string readFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string tempDir(const std::string& name) {
  std::string tmpl =
      (std::filesystem::temp_directory_path() / ("omniloop-" + name + "-XXXXXX")).string();
  char* p = mkdtemp(tmpl.data());
  if (!p) std::abort();
  return p;
}

// Starts a command; `on_started(pid)` runs in the parent while it runs (for signals).
inline CommandResult runCommand(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env = {},
                                const std::function<void(pid_t)>& on_started = nullptr,
                                const std::string& cwd = "") {
  static int counter = 0;
  const std::string dir = std::filesystem::temp_directory_path().string();
  const std::string tag = std::to_string(getpid()) + "-" + std::to_string(++counter);
  const std::string out_path = dir + "/omniloop-cmd-" + tag + ".out";
  const std::string err_path = dir + "/omniloop-cmd-" + tag + ".err";
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  if (on_started) on_started(pid);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = readFile(out_path);
  r.err = readFile(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  return r;
}

inline std::string omniloopBin() {
  return std::string(OMNILOOP_BIN_DIR) + "/omniloop";
}
inline std::string sourceDir() {
  return OMNILOOP_SOURCE_DIR;
}

}  // namespace omniloop::testing
