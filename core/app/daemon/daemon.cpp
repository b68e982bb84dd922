#include "app/daemon/daemon.h"

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>

#include "admin/auth.h"
#include "admin/server.h"
#include "app/daemon/purge_scheduler.h"
#include "app/daemon/sd_notify.h"
#include "app/daemon/supervisor.h"
#include "app/logging.h"
#include "app/runtime.h"
#include "app/signals.h"
#include "config/loader.h"
#include "plugin/registry.h"

namespace fs = std::filesystem;

namespace omniloop::app {

namespace {

constexpr const char* kSystemConfig = "/etc/omniloop/omniloop.yaml";

std::string pipelinesDir(const config::DaemonConfig& cfg) {
  if (!cfg.pipelines_dir.empty()) return cfg.pipelines_dir;
  if (cfg.file.empty()) return {};
  return (fs::absolute(cfg.file).parent_path() / "pipelines.d").lexically_normal().string();
}

admin::ServerOptions serverOptions(const config::DaemonConfig& cfg) {
  admin::ServerOptions o;
  o.listen = cfg.admin.listen;
  o.tls_cert_file = cfg.admin.tls_cert_file;
  o.tls_key_file = cfg.admin.tls_key_file;
  o.request_timeout = std::chrono::seconds(cfg.admin.request_timeout_seconds);
  o.max_connections = cfg.admin.max_connections;
  o.max_connections_per_client = cfg.admin.max_connections_per_client;
  return o;
}

// A plain-HTTP admin API reachable from the network sends the bearer token in clear: refused
// unless admin.allow_insecure is true (then a warning). "" when the setting is fine.
std::string insecureListen(const config::AdminConfig& admin, bool* refused) {
  const bool tls = !admin.tls_cert_file.empty() && !admin.tls_key_file.empty();
  *refused = false;
  if (tls || admin::isLoopbackListen(admin.listen)) return {};
  *refused = !admin.allow_insecure;
  return "admin.listen " + admin.listen +
         " is not a loopback address and TLS is off: the bearer token and every answer would "
         "cross the network in clear" +
         (admin.allow_insecure ? std::string(" (allowed by admin.allow_insecure: true)")
                               : std::string("; set admin.tls_cert_file and admin.tls_key_file, "
                                             "listen on 127.0.0.1, or set admin.allow_insecure: "
                                             "true to accept the risk"));
}

// --check-config: everything that can be checked without starting anything. Prints `ok` or
// every problem; returns 0 or 2.
int checkConfig(Runtime& rt) {
  const config::DaemonConfig& cfg = rt.config();
  int errors = 0;
  std::cout << (cfg.file.empty() ? std::string("(defaults)") : cfg.file) << ": ok\n";
  for (const auto& e : rt.registry().errors()) {
    std::cout << e.path << ": warning: plugin not loaded: " << e.reason << "\n";
  }
  if (cfg.admin.token_file.empty()) {
    std::cout << "warning: admin.token_file is not set; the admin API will only serve /health\n";
  } else {
    try {
      std::string warning;
      admin::loadTokenFile(cfg.admin.token_file, &warning);
      if (!warning.empty()) std::cout << "warning: " << warning << "\n";
    } catch (const std::exception& e) {
      std::cout << "error: " << e.what() << "\n";
      ++errors;
    }
  }
  try {
    Poco::Net::SocketAddress address(cfg.admin.listen);
    (void)address;
  } catch (const Poco::Exception& e) {
    std::cout << "error: admin.listen '" << cfg.admin.listen << "': " << e.displayText()
              << "\n  hint: write host:port, e.g. 127.0.0.1:8686\n";
    ++errors;
  }
  for (const std::string* f : {&cfg.admin.tls_cert_file, &cfg.admin.tls_key_file}) {
    if (!f->empty() && !fs::exists(*f)) {
      std::cout << "error: " << *f << ": no such file (admin TLS)\n";
      ++errors;
    }
  }
  if (cfg.admin.tls_cert_file.empty() != cfg.admin.tls_key_file.empty()) {
    std::cout << "error: admin TLS needs both admin.tls_cert_file and admin.tls_key_file\n";
    ++errors;
  }
  {
    bool refused = false;
    const std::string insecure = insecureListen(cfg.admin, &refused);
    if (!insecure.empty()) {
      std::cout << (refused ? "error: " : "warning: ") << insecure << "\n";
      if (refused) ++errors;
    }
  }

  const std::string dir = pipelinesDir(cfg);
  if (dir.empty()) {
    std::cout << "error: pipelines_dir is not set\n  hint: set pipelines_dir in omniloop.yaml "
                 "(or pass --config FILE; the default is pipelines.d beside it)\n";
    return 2;
  }
  std::vector<std::string> files;
  try {
    files = listPipelineFiles(dir);
  } catch (const std::exception& e) {
    std::cout << "error: " << e.what() << "\n";
    return 2;
  }
  if (files.empty()) std::cout << "warning: no *.yaml pipeline files in " << dir << "\n";
  std::map<std::string, std::string> names;
  for (const std::string& f : files) {
    try {
      const config::PipelineSpec spec = rt.loadPipeline(f);
      if (auto it = names.find(spec.name); it != names.end()) {
        std::cout << f << ":1:1: error: pipeline name '" << spec.name << "' is already used by "
                  << it->second << " (which keeps it); " << f
                  << " would not be started\n  hint: give each pipeline file its own name\n";
        ++errors;
        continue;
      }
      names[spec.name] = f;
      std::cout << f << ": ok\n";
    } catch (const config::ConfigError& e) {
      for (const auto& d : e.diagnostics()) std::cout << d.format() << "\n";
      errors += static_cast<int>(e.diagnostics().size());
    } catch (const std::exception& e) {
      std::cout << f << ": error: " << e.what() << "\n";
      ++errors;
    }
  }
  if (errors == 0) {
    std::cout << "ok\n";
    return 0;
  }
  std::cout << errors << (errors == 1 ? " error\n" : " errors\n");
  return 2;
}

std::optional<std::string> loadToken(const config::AdminConfig& admin) {
  if (admin.token_file.empty()) return std::nullopt;
  std::string warning;
  std::string token = admin::loadTokenFile(admin.token_file, &warning);
  if (!warning.empty()) spdlog::warn("{}", warning);
  return token;
}

// What a reload may change live, and notes for what needs a restart.
class ConfigReloader {
 public:
  ConfigReloader(config::DaemonConfig running, admin::AdminServer& server,
                 std::atomic<int>& shutdown_timeout)
      : running_(std::move(running)), server_(server), shutdown_timeout_(shutdown_timeout) {}

  std::vector<std::string> operator()() {
    std::vector<std::string> notes;
    if (running_.file.empty()) return notes;  // started on defaults: nothing to re-read
    const config::DaemonConfig fresh = config::loadDaemonConfig(running_.file);
    std::optional<std::string> token = loadToken(fresh.admin);  // throws: reload refused

    const auto& a = running_.log;
    const auto& b = fresh.log;
    if (a.level != b.level || a.format != b.format || a.file != b.file) {
      setupLogging(fresh.log, "omniloopd");
      running_.log = fresh.log;
      notes.push_back("log settings applied (level " + fresh.log.level + ")");
    }
    server_.setToken(std::move(token));
    if (fresh.admin.token_file != running_.admin.token_file) {
      running_.admin.token_file = fresh.admin.token_file;
      notes.push_back("admin.token_file applied");
    }
    if (fresh.shutdown_timeout_seconds != running_.shutdown_timeout_seconds) {
      running_.shutdown_timeout_seconds = fresh.shutdown_timeout_seconds;
      shutdown_timeout_.store(fresh.shutdown_timeout_seconds);
      notes.push_back("shutdown_timeout_seconds applied");
    }
    auto restartOnly = [&](const char* key, bool changed) {
      if (changed) notes.push_back(std::string(key) + " changed: restart omniloopd to apply it");
    };
    restartOnly("store", fresh.store != running_.store);
    restartOnly("key_file", fresh.key_file != running_.key_file);
    restartOnly("group_commit", fresh.group_commit_events != running_.group_commit_events ||
                                    fresh.group_commit_ms != running_.group_commit_ms);
    restartOnly("store_cache", fresh.store_cache_profiles != running_.store_cache_profiles ||
                                   fresh.store_cache_sqlite_mib != running_.store_cache_sqlite_mib);
    restartOnly("plugin_dirs", fresh.plugin_dirs != running_.plugin_dirs);
    restartOnly("plugins", [&] {  // sha256 pins are checked when plugins load, at start
      const auto& a = fresh.plugin_pins;
      const auto& b = running_.plugin_pins;
      if (a.size() != b.size()) return true;
      for (size_t i = 0; i < a.size(); ++i) {
        if (a[i].name != b[i].name || a[i].sha256 != b[i].sha256) return true;
      }
      return false;
    }());
    restartOnly("plugin_isolation", [&] {  // read when pipelines are built, from the start config
      const auto& a = fresh.plugin_isolation;
      const auto& b = running_.plugin_isolation;
      return a.mode != b.mode || a.call_timeout_ms != b.call_timeout_ms ||
             a.memory_limit_mb != b.memory_limit_mb || a.max_restarts != b.max_restarts;
    }());
    restartOnly("privacy", [&] {  // purposes feed the consent stages' checks and decisions
      const auto& a = fresh.privacy;
      const auto& b = running_.privacy;
      if (a.tcf_vendor_id != b.tcf_vendor_id || a.purposes.size() != b.purposes.size()) return true;
      for (size_t i = 0; i < a.purposes.size(); ++i) {
        if (a.purposes[i].name != b.purposes[i].name || a.purposes[i].basis != b.purposes[i].basis ||
            a.purposes[i].tcf != b.purposes[i].tcf) {
          return true;
        }
      }
      return false;
    }());
    restartOnly("pipelines_dir", pipelinesDir(fresh) != pipelinesDir(running_));
    restartOnly("admin.listen", fresh.admin.listen != running_.admin.listen);
    restartOnly("admin.tls_cert_file / admin.tls_key_file",
                fresh.admin.tls_cert_file != running_.admin.tls_cert_file ||
                    fresh.admin.tls_key_file != running_.admin.tls_key_file);
    restartOnly("admin limits (allow_insecure, request_timeout_seconds, max_connections*)",
                fresh.admin.allow_insecure != running_.admin.allow_insecure ||
                    fresh.admin.request_timeout_seconds != running_.admin.request_timeout_seconds ||
                    fresh.admin.max_connections != running_.admin.max_connections ||
                    fresh.admin.max_connections_per_client !=
                        running_.admin.max_connections_per_client);
    return notes;
  }

 private:
  config::DaemonConfig running_;
  admin::AdminServer& server_;
  std::atomic<int>& shutdown_timeout_;
};

}  // namespace

int serveDaemon(const DaemonOptions& options) {
  SignalWatcher signals;  // blocks SIGINT/SIGTERM/SIGHUP before any thread starts

  RuntimeOptions ro;
  ro.config_path = options.config_path;
  if (ro.config_path.empty() && std::getenv("OMNILOOP_CONFIG") == nullptr &&
      !fs::exists("omniloop.yaml") && fs::exists(kSystemConfig)) {
    ro.config_path = kSystemConfig;  // the packaged service's config
  }
  std::unique_ptr<Runtime> rt;
  try {
    rt = std::make_unique<Runtime>(ro);
  } catch (const config::ConfigError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    std::cerr << "omniloopd: the configuration is invalid\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "omniloopd: " << e.what() << "\n";
    return 2;
  }
  if (options.check_only) return checkConfig(*rt);

  const config::DaemonConfig cfg = rt->config();
  setupLogging(cfg.log, "omniloopd");
  const auto log = spdlog::default_logger();
  log->info("omniloopd {} starting (config {})", OMNILOOP_VERSION,
            cfg.file.empty() ? std::string("defaults") : cfg.file);
  for (const auto& e : rt->registry().errors()) {
    log->warn("plugin not loaded: {}: {}", e.path, e.reason);
  }

  const std::string dir = pipelinesDir(cfg);
  if (dir.empty()) {
    log->error("pipelines_dir is not set: set it in omniloop.yaml (or pass --config FILE; the "
               "default is pipelines.d beside it)");
    return 2;
  }
  std::optional<std::string> token;
  try {
    token = loadToken(cfg.admin);
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 2;
  }
  if (!token) {
    log->warn("admin.token_file is not set: the admin API serves /health only; every other "
              "endpoint answers 401");
  }
  try {
    rt->store();
  } catch (const std::exception& e) {
    log->error("cannot open the CDP store {}: {}", rt->storeUri(), e.what());
    return 1;
  }
  if (!rt->generatedKeyPath().empty()) {
    log->warn("generated a new pseudonymisation key at {} (back it up: identities in the store "
              "can only be matched with it)",
              rt->generatedKeyPath());
  }

  std::unique_ptr<PurgeScheduler> purger;
  try {
    const store::RetentionPolicy retention = store::parseRetention(cfg.retention_json);
    const std::optional<int64_t> interval = store::parseDuration(cfg.purge_interval);
    if (!interval || *interval <= 0) throw std::invalid_argument("purge.interval: write a duration such as 1h");
    purger = std::make_unique<PurgeScheduler>(rt->store(), retention, std::chrono::microseconds(*interval),
                                              cfg.purge_max_rows);
  } catch (const std::exception& e) {
    log->error("{} (in {})", e.what(), cfg.file.empty() ? std::string("omniloop.yaml") : cfg.file);
    return 2;
  }

  SupervisorOptions so;
  so.pipelines_dir = dir;
  Supervisor supervisor(*rt, so);

  {
    bool refused = false;
    const std::string insecure = insecureListen(cfg.admin, &refused);
    if (refused) {
      log->error("{}", insecure);
      return 2;
    }
    if (!insecure.empty()) log->warn("{}", insecure);
  }
  std::unique_ptr<admin::AdminServer> server;
  try {
    server = std::make_unique<admin::AdminServer>(serverOptions(cfg), supervisor);
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 1;
  }
  server->setToken(token);
  std::atomic<int> shutdown_timeout{cfg.shutdown_timeout_seconds};
  supervisor.setConfigReloader(ConfigReloader(cfg, *server, shutdown_timeout));

  try {
    const ReloadSummary s = supervisor.syncPipelines();
    log->info("{} pipeline{} started from {}, {} invalid", s.started.size(),
              s.started.size() == 1 ? "" : "s", dir, s.invalid.size());
  } catch (const std::exception& e) {
    log->error("{}", e.what());
    return 2;
  }

  std::mutex mu;
  std::condition_variable cv;
  bool terminate = false;
  int reloads_pending = 0;
  signals.start([&](int sig) {
    std::lock_guard lock(mu);
    if (sig == SIGHUP) {
      ++reloads_pending;
    } else {
      terminate = true;
    }
    cv.notify_all();
  });

  server->start();
  purger->start();
  log->info("admin API listening on {}://{}", server->tls() ? "https" : "http", cfg.admin.listen);
  sdNotify("READY=1");

  for (;;) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return terminate || reloads_pending > 0; });
    if (terminate) break;
    reloads_pending = 0;
    lock.unlock();
    log->info("SIGHUP: reloading");
    sdNotify("RELOADING=1");
    supervisor.reload();
    sdNotify("READY=1");
  }

  const int timeout_s = shutdown_timeout.load();
  log->info("stopping: draining pipelines (up to {} s)", timeout_s);
  sdNotify("STOPPING=1");
  server->stop();
  purger->stop();
  std::vector<std::string> late;
  const bool drained = supervisor.stopAll(std::chrono::seconds(timeout_s), &late);
  if (!drained) {
    std::string names;
    for (const auto& n : late) names += (names.empty() ? "" : ", ") + n;
    log->error("shutdown_timeout_seconds ({} s) passed with pipelines still draining: {}; "
               "exiting without their last batches (they are read again on the next start)",
               timeout_s, names);
    spdlog::shutdown();
    std::_Exit(1);  // the draining threads cannot be joined; skip destructors
  }
  signals.stop();
  log->info("stopped");
  spdlog::default_logger()->flush();
  return 0;
}

}  // namespace omniloop::app
