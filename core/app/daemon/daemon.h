#pragma once
// omniloopd: runs every pipeline of the pipelines directory, serves the admin API, reloads on
// SIGHUP, drains and exits on SIGTERM/SIGINT.
#include <string>

namespace omniloop::app {

struct DaemonOptions {
  std::string config_path;   // --config; "" = $OMNILOOP_CONFIG, ./omniloop.yaml, or defaults
  bool check_only = false;   // --check-config
};

// Exit codes: 0 clean stop (or a valid config with --check-config), 1 a runtime failure (the
// admin port is taken, the store cannot be opened, pipelines did not drain in time),
// 2 invalid configuration or usage.
int serveDaemon(const DaemonOptions& options);

// The `omniloopd` command line (Poco::Util::ServerApplication): parses the options, then
// serveDaemon. Runs in the foreground unless --daemon is given.
int runDaemonMain(int argc, char** argv);

}  // namespace omniloop::app
