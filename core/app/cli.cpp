#include "app/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iomanip>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>

#include "app/profile_command.h"
#include "app/progress.h"
#include "app/runtime.h"
#include "app/signals.h"
#include "app/status_command.h"
#include "app/tcf_command.h"
#include "config/pipeline_spec.h"
#include "event/json.h"
#include "plugin/registry.h"
#include "store/store.h"

namespace omniloop::app {

namespace {

constexpr const char* kUsage = R"(omniloop — integration middleware: legacy systems -> pipelines -> one customer profile

usage: omniloop <command> [options]

commands:
  validate FILE...      check pipeline files; prints `ok` per file or every error with file:line:col
  run FILE              run a pipeline to the end of its source and print a summary
  plugins               list discovered plugins, their components, and plugins that failed to load
  stats                 what the CDP store holds: profiles, identities, events, dead letters
  profile               one unified customer profile: identities, traits, timeline
  status                the running omniloopd's pipelines: state, counters, last error
  tcf decode STRING     decode an IAB TCF v2.2 consent string (--json: IAB field names)
  version               print the version

global options:
  --config FILE         omniloop.yaml (default: $OMNILOOP_CONFIG, else ./omniloop.yaml if present)
  --help                help for a command: omniloop <command> --help
  --version             print the version
)";

constexpr const char* kValidateHelp = R"(usage: omniloop validate FILE... [--config FILE]

Checks each pipeline file against the pipeline schema, the component types the installed plugins
provide, and each component's own config schema. Every problem is reported at once, as
  FILE:LINE:COLUMN: error: WHAT
    hint: WHAT TO DO
Exit status: 0 when every file is valid, 2 otherwise.
)";

constexpr const char* kRunHelp = R"(usage: omniloop run FILE [options]

Runs the pipeline in FILE until its source ends (a followed source runs until Ctrl-C), resuming
from the source's committed checkpoint, then prints a summary: events read, written, filtered,
dead-lettered, per stage, and events/s.

options:
  --store URI           CDP store (default: from omniloop.yaml, else sqlite:var/omniloop.db)
  --config FILE         omniloop.yaml to use
  --batch-size N        events per batch (overrides the pipeline's batch.size)
  --json                print the summary as JSON on stdout
  --progress / --no-progress   force the live progress line on or off (default: on a terminal)
  --progress-interval S seconds between plain progress lines when not on a terminal (default 10)
  --stop-when-idle      stop when a followed source has nothing new (instead of waiting)

Ctrl-C / SIGTERM stop reading, finish the batches in flight, commit, and print the summary.
When the store rolls back a group commit (a batch failing inside it), the run resumes from its
committed cursor (at most 10 times) and the batch that failed is then dead-lettered alone.
Exit status: 0 ok, 1 the pipeline failed, 2 invalid pipeline or usage.
)";

constexpr const char* kPluginsHelp = R"(usage: omniloop plugins [--json] [--config FILE]

Lists every plugin found in the bundled plugin directory, the configured plugin_dirs and
$OMNILOOP_PLUGIN_PATH (colon-separated): name, version, ABI, components; then each file that
failed to load and why. Exit status: 0 (also when some plugins failed to load).
)";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> options;  // --key value / --flag -> ""
  std::vector<std::string> unknown;
};

// Options that take a value.
bool takesValue(const std::string& name) {
  return name == "--config" || name == "--store" || name == "--batch-size" ||
         name == "--progress-interval" || name == "--identity" || name == "--id" ||
         name == "--timeline";
}

Args parseArgs(const std::vector<std::string>& args, size_t from) {
  Args a;
  for (size_t i = from; i < args.size(); ++i) {
    const std::string& s = args[i];
    if (s.rfind("--", 0) == 0) {
      std::string name = s, value;
      if (auto eq = s.find('='); eq != std::string::npos) {
        name = s.substr(0, eq);
        value = s.substr(eq + 1);
      } else if (takesValue(s)) {
        if (i + 1 >= args.size()) {
          a.unknown.push_back(s + " needs a value");
          continue;
        }
        value = args[++i];
      }
      a.options[name] = value;
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

bool has(const Args& a, const char* name) { return a.options.count(name) > 0; }

std::string opt(const Args& a, const char* name, std::string fallback = "") {
  auto it = a.options.find(name);
  return it == a.options.end() ? fallback : it->second;
}

bool checkOptions(const Args& a, std::initializer_list<const char*> allowed, const char* help) {
  bool ok = true;
  for (const auto& u : a.unknown) {
    std::cerr << "omniloop: " << u << "\n";
    ok = false;
  }
  for (const auto& [name, value] : a.options) {
    bool known = false;
    for (const char* k : allowed) known = known || name == k;
    if (!known) {
      std::cerr << "omniloop: unknown option " << name << "\n";
      ok = false;
    }
  }
  if (!ok) std::cerr << help;
  return ok;
}

RuntimeOptions runtimeOptions(const Args& a) {
  RuntimeOptions o;
  o.config_path = opt(a, "--config");
  o.store_override = opt(a, "--store");
  return o;
}

void printConfigError(const config::ConfigError& e) {
  for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
  std::cerr << e.diagnostics().size() << (e.diagnostics().size() == 1 ? " error" : " errors")
            << "\n";
}

int cmdValidate(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kValidateHelp;
    return 0;
  }
  if (!checkOptions(a, {"--config"}, kValidateHelp)) return 2;
  if (a.positional.empty()) {
    std::cerr << "omniloop validate: name at least one pipeline file\n" << kValidateHelp;
    return 2;
  }
  Runtime rt(runtimeOptions(a));
  int status = 0;
  for (const std::string& file : a.positional) {
    try {
      rt.loadPipeline(file);
      std::cout << file << ": ok\n";
    } catch (const config::ConfigError& e) {
      for (const auto& d : e.diagnostics()) std::cout << d.format() << "\n";
      status = 2;
    }
  }
  return status;
}

int cmdRun(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kRunHelp;
    return 0;
  }
  if (!checkOptions(a, {"--config", "--store", "--batch-size", "--json", "--progress",
                        "--no-progress", "--progress-interval", "--stop-when-idle"},
                    kRunHelp)) {
    return 2;
  }
  if (a.positional.size() != 1) {
    std::cerr << "omniloop run: name exactly one pipeline file\n" << kRunHelp;
    return 2;
  }
  const std::string file = a.positional[0];
  SignalWatcher signals;  // before any thread starts
  Runtime rt(runtimeOptions(a));
  config::PipelineSpec spec;
  try {
    spec = rt.loadPipeline(file);
  } catch (const config::ConfigError& e) {
    printConfigError(e);
    return 2;
  }
  pipeline::ExecutorOptions overrides;
  overrides.batch_size = spec.batch_size;
  if (has(a, "--batch-size")) {
    try {
      overrides.batch_size = std::stoul(opt(a, "--batch-size"));
    } catch (const std::exception&) {
      std::cerr << "omniloop run: --batch-size needs a positive number\n";
      return 2;
    }
  }
  overrides.stop_when_idle = has(a, "--stop-when-idle");
  std::unique_ptr<pipeline::Executor> executor = rt.build(spec, overrides);
  if (!rt.generatedKeyPath().empty()) {
    std::cerr << "omniloop: generated a new pseudonymisation key at " << rt.generatedKeyPath()
              << " (back it up: identities in the store can only be matched with it)\n";
  }

  std::mutex executor_mutex;  // the signal thread stops whichever attempt is running
  bool stopping = false;
  signals.start([&](int sig) {
    if (sig != SIGINT && sig != SIGTERM) return;
    std::lock_guard lock(executor_mutex);
    stopping = true;
    executor->requestStop();
  });
  bool interactive = isatty(STDERR_FILENO) && std::getenv("CI") == nullptr;
  if (has(a, "--progress")) interactive = true;
  if (has(a, "--no-progress")) interactive = false;
  double interval = 10;
  if (has(a, "--progress-interval")) interval = std::max(0.1, std::atof(opt(a, "--progress-interval").c_str()));
  // A group commit that was rolled back (a batch failing inside it, or its COMMIT) leaves the
  // pipeline to resume from its committed cursor, as omniloopd would restart it; the store
  // then writes the batch that failed alone, so it is dead-lettered rather than failing again.
  constexpr uint64_t kMaxResumes = 10;
  pipeline::PipelineStats total;
  uint64_t resumes = 0;
  pipeline::Result result;
  for (;;) {
    std::optional<ProgressReporter> progress;
    if (interactive || !has(a, "--no-progress")) {
      progress.emplace(executor->stats(), spec.name, interactive, interval, std::cerr);
    }
    result = executor->run();
    if (progress) progress->stop();
    addAttempt(total, executor->stats(), resumes == 0);
    bool stop_requested = false;  // by a signal (a failing executor stops itself too)
    {
      std::lock_guard lock(executor_mutex);
      stop_requested = stopping;
    }
    if (result.isOk() || stop_requested || resumes == kMaxResumes ||
        !rt.store().mustResume(spec.name, spec.source_id)) {
      break;
    }
    ++resumes;
    std::cerr << "omniloop: " << result.message << "\nomniloop: resuming " << spec.name
              << " from its last committed cursor (" << resumes << " of at most " << kMaxResumes
              << ")\n";
    std::unique_ptr<pipeline::Executor> next = rt.build(spec, overrides);
    std::lock_guard lock(executor_mutex);
    executor = std::move(next);
    if (stopping) executor->requestStop();
  }
  signals.stop();

  if (has(a, "--json")) {
    std::cout << summaryJson(spec.name, file, total, result, resumes) << "\n";
  } else {
    printSummary(std::cout, spec.name, file, total, result, resumes);
    if (executor->stopRequested() && result.isOk()) {
      std::cout << "  stopped early on request; the next run resumes from the checkpoint\n";
    }
  }
  return result.isOk() ? 0 : 1;
}

std::string_view kindName(uint32_t kind) {
  switch (kind) {
    case OL_SOURCE: return "source";
    case OL_STAGE: return "stage";
    case OL_SINK: return "sink";
  }
  return "?";
}

int cmdPlugins(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kPluginsHelp;
    return 0;
  }
  if (!checkOptions(a, {"--config", "--json"}, kPluginsHelp)) return 2;
  Runtime rt(runtimeOptions(a));
  const auto& reg = rt.registry();
  if (has(a, "--json")) {
    std::string j = "{\"plugins\":[";
    for (size_t i = 0; i < reg.plugins().size(); ++i) {
      const auto& p = reg.plugins()[i];
      if (i) j += ",";
      j += "{\"name\":";
      event::appendJsonString(j, p.name);
      j += ",\"version\":";
      event::appendJsonString(j, p.version);
      j += ",\"abi\":\"" + std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor) +
           "\",\"path\":";
      event::appendJsonString(j, p.path);
      j += ",\"components\":[";
      for (size_t c = 0; c < p.components.size(); ++c) {
        if (c) j += ",";
        j += "{\"kind\":\"" + std::string(kindName(p.components[c]->kind)) + "\",\"type\":";
        event::appendJsonString(j, p.components[c]->type ? p.components[c]->type : "");
        j += "}";
      }
      j += "]}";
    }
    j += "],\"errors\":[";
    for (size_t i = 0; i < reg.errors().size(); ++i) {
      if (i) j += ",";
      j += "{\"path\":";
      event::appendJsonString(j, reg.errors()[i].path);
      j += ",\"reason\":";
      event::appendJsonString(j, reg.errors()[i].reason);
      j += "}";
    }
    j += "]}";
    std::cout << j << "\n";
    return 0;
  }
  std::cout << "built-in: stages map, filter, route; sinks cdp, discard\n";
  for (const auto& p : reg.plugins()) {
    std::cout << p.name << " " << p.version << "  (ABI " << p.abi_major << "." << p.abi_minor
              << ", " << p.path << ")\n";
    for (const ol_component* c : p.components) {
      std::cout << "  " << std::left << std::setw(7) << kindName(c->kind) << std::setw(22)
                << (c->type ? c->type : "") << (c->description ? c->description : "") << "\n";
    }
  }
  if (reg.plugins().empty()) std::cout << "no plugins found\n";
  if (!reg.errors().empty()) {
    std::cout << "\nfailed to load:\n";
    for (const auto& e : reg.errors()) std::cout << "  " << e.path << ": " << e.reason << "\n";
  }
  return 0;
}

constexpr const char* kStatsHelp = R"(usage: omniloop stats [--store URI] [--config FILE] [--json]

Prints what the CDP store holds: profiles, identities, events, dead letters.
)";

int cmdStats(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kStatsHelp;
    return 0;
  }
  if (!checkOptions(a, {"--config", "--store", "--json"}, kStatsHelp)) return 2;
  Runtime rt(runtimeOptions(a));
  const store::StoreCounts c = rt.store().counts();
  if (has(a, "--json")) {
    std::cout << "{\"store\":\"" << rt.storeUri() << "\",\"profiles\":" << c.profiles
              << ",\"identities\":" << c.identities << ",\"events\":" << c.events
              << ",\"dead_letters\":" << c.dead_letters << "}\n";
    return 0;
  }
  std::cout << "CDP store " << rt.storeUri() << "\n"
            << "  profiles       " << formatCount(c.profiles) << "\n"
            << "  identities     " << formatCount(c.identities) << "\n"
            << "  events         " << formatCount(c.events) << "\n"
            << "  dead letters   " << formatCount(c.dead_letters) << "\n";
  return 0;
}


constexpr const char* kProfileHelp = R"(usage: omniloop profile --identity TYPE:VALUE [options]
       omniloop profile --id PROFILE_ID [options]

Prints one unified customer profile from the CDP store: its identities (type, source, seen range
and pseudonym; clear values are never stored), computed traits (omniloop.yaml identity.traits),
the profiles merged into it, identity guard conflicts, and its cross-channel timeline.
The VALUE is normalised and pseudonymised with the configured key (key_file in omniloop.yaml,
$OMNILOOP_KEY, or the key next to a SQLite store), exactly as ingested values are, e.g.
  omniloop profile --identity email:jane@example.com
  omniloop profile --identity phone:+4930123456 --json

options:
  --store URI           CDP store (default: from omniloop.yaml, else sqlite:var/omniloop.db)
  --config FILE         omniloop.yaml to use
  --timeline N          latest events to show (default 20; 0 for none)
  --json                print the profile as JSON
Exit status: 0 shown, 1 no such profile, 2 usage.
)";

int cmdProfile(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kProfileHelp;
    return 0;
  }
  if (!checkOptions(a, {"--config", "--store", "--json", "--identity", "--id", "--timeline"},
                    kProfileHelp)) {
    return 2;
  }
  ProfileQuery q;
  q.identity = opt(a, "--identity");
  q.profile_id = opt(a, "--id");
  q.json = has(a, "--json");
  if (q.identity.empty() == q.profile_id.empty() || !a.positional.empty()) {
    std::cerr << "omniloop profile: give exactly one of --identity TYPE:VALUE or --id PROFILE_ID\n"
              << kProfileHelp;
    return 2;
  }
  if (has(a, "--timeline")) {
    const std::string n = opt(a, "--timeline");
    char* end = nullptr;
    const unsigned long long v = std::strtoull(n.c_str(), &end, 10);
    if (n.empty() || *end != '\0' || v > 100000) {
      std::cerr << "omniloop profile: --timeline takes a number of events from 0 to 100000, not '"
                << n << "'\n";
      return 2;
    }
    q.timeline = static_cast<size_t>(v);
  }
  Runtime rt(runtimeOptions(a));
  return showProfile(rt.store(), q, std::cout, std::cerr);
}

}  // namespace

int runCli(const std::vector<std::string>& args) {
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
    std::cout << kUsage;
    return args.size() < 2 ? 2 : 0;
  }
  const std::string& cmd = args[1];
  if (cmd == "--version" || cmd == "version") {
    std::cout << "omniloop " << OMNILOOP_VERSION << " (plugin ABI " << OMNILOOP_ABI_MAJOR << "."
              << OMNILOOP_ABI_MINOR << ")\n";
    return 0;
  }
  Args a = parseArgs(args, 2);
  try {
    if (cmd == "validate") return cmdValidate(a);
    if (cmd == "run") return cmdRun(a);
    if (cmd == "plugins") return cmdPlugins(a);
    if (cmd == "stats") return cmdStats(a);
    if (cmd == "profile") return cmdProfile(a);
    if (cmd == "status") return runStatusCommand(args);
    if (cmd == "tcf") return runTcfCommand(args);
  } catch (const config::ConfigError& e) {
    printConfigError(e);
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "omniloop " << cmd << ": " << e.what() << "\n";
    return 1;
  }
  std::cerr << "omniloop: unknown command '" << cmd << "'\n" << kUsage;
  return 2;
}

}  // namespace omniloop::app
