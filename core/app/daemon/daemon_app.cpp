// The omniloopd command line on Poco::Util::ServerApplication: its --daemon, --pidfile and
// --umask come for free; without --daemon it stays in the foreground, as systemd
// (Type=notify or simple) and containers want.
#include <Poco/Util/Option.h>
#include <Poco/Util/OptionSet.h>
#include <Poco/Util/ServerApplication.h>

#include <iostream>
#include <set>

#include "app/daemon/daemon.h"
#include "omniloop/plugin.h"

namespace omniloop::app {

namespace {

constexpr const char* kHelp = R"(usage: omniloopd [--config FILE] [--check-config]

Runs every pipeline file (*.yaml) of the configured pipelines_dir at once and serves the admin
API (health, readiness, Prometheus metrics, pipeline state, restart, reload).

options:
  --config FILE, -c FILE  omniloop.yaml (default: $OMNILOOP_CONFIG, else ./omniloop.yaml, else
                          /etc/omniloop/omniloop.yaml)
  --check-config          load the config and every pipeline file, print `ok` or every problem
                          with file:line:column, and exit (0 valid, 2 invalid)
  --pidfile FILE          write the process id to FILE
  --daemon                detach from the terminal (not for systemd: it runs us in the foreground)
  --umask MASK            set the file creation mask (octal) when detaching
  --version               print the version
  --help, -h              this text

signals: SIGHUP reloads (like POST /v1/reload); SIGTERM / SIGINT drain in-flight batches, commit
and exit 0 (within shutdown_timeout_seconds, else 1); a second one exits at once.
Exit status: 0 clean stop, 1 runtime failure (admin port taken, store unavailable, drain timeout),
2 invalid configuration or usage.
)";

class DaemonApp : public Poco::Util::ServerApplication {
 public:
  DaemonApp() { setUnixOptions(true); }

 protected:
  void defineOptions(Poco::Util::OptionSet& options) override {
    ServerApplication::defineOptions(options);  // daemon, umask, pidfile
    options.addOption(Poco::Util::Option("config", "c", "omniloop.yaml")
                          .required(false)
                          .repeatable(false)
                          .argument("FILE"));
    options.addOption(Poco::Util::Option("check-config", "", "validate and exit")
                          .required(false)
                          .repeatable(false));
    options.addOption(Poco::Util::Option("help", "h", "help").required(false).repeatable(false));
    options.addOption(Poco::Util::Option("version", "", "version").required(false).repeatable(false));
  }

  void handleOption(const std::string& name, const std::string& value) override {
    ServerApplication::handleOption(name, value);
    if (name == "config") {
      options_.config_path = value;
    } else if (name == "check-config") {
      options_.check_only = true;
    } else if (name == "help") {
      help_ = true;
      stopOptionsProcessing();
    } else if (name == "version") {
      version_ = true;
    }
  }

  int main(const std::vector<std::string>& args) override {
    if (help_) {
      std::cout << kHelp;
      return 0;
    }
    if (version_) {
      std::cout << "omniloopd " << OMNILOOP_VERSION << " (plugin ABI " << OMNILOOP_ABI_MAJOR << "."
                << OMNILOOP_ABI_MINOR << ")\n";
      return 0;
    }
    if (!args.empty()) {
      std::cerr << "omniloopd: unexpected argument '" << args.front() << "'\n" << kHelp;
      return 2;
    }
    try {
      return serveDaemon(options_);
    } catch (const std::exception& e) {
      std::cerr << "omniloopd: " << e.what() << "\n";
      return 1;
    }
  }

 private:
  DaemonOptions options_;
  bool help_ = false;
  bool version_ = false;
};

// Poco reports an unknown option through its logger and exits 78; check first, so a typo gets
// our usage text and exit status 2 like the omniloop CLI.
bool knownOptions(int argc, char** argv) {
  static const std::set<std::string> kWithValue = {"--config", "-c", "--pidfile", "--umask"};
  static const std::set<std::string> kFlags = {"--check-config", "--help", "-h", "--version",
                                               "--daemon"};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.empty() || arg[0] != '-') continue;
    std::string name = arg.substr(0, arg.find('='));
    if (kFlags.count(name)) continue;
    if (kWithValue.count(name)) {
      if (name == arg) {
        if (i + 1 >= argc) {
          std::cerr << "omniloopd: " << name << " needs a value\n" << kHelp;
          return false;
        }
        ++i;
      }
      continue;
    }
    std::cerr << "omniloopd: unknown option " << name << "\n" << kHelp;
    return false;
  }
  return true;
}

}  // namespace

int runDaemonMain(int argc, char** argv) {
  if (!knownOptions(argc, argv)) return 2;
  DaemonApp app;
  return app.run(argc, argv);
}

}  // namespace omniloop::app
