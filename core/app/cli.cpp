#include "app/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <iomanip>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>

#include "app/dead_letters_command.h"
#include "app/audit_command.h"
#include "app/erase_command.h"
#include "app/export_command.h"
#include "app/detokenize_command.h"
#include "app/keys_command.h"
#include "app/logging.h"
#include "app/profile_command.h"
#include "app/purge_command.h"
#include "app/progress.h"
#include "app/runtime.h"
#include "app/signals.h"
#include "app/status_command.h"
#include "config/loader.h"
#include "app/tcf_command.h"
#include "config/pipeline_spec.h"
#include "config/suggest.h"
#include "event/json.h"
#include "plugin/registry.h"
#include "store/store.h"

namespace omniloop::app {

namespace {

constexpr const char* kUsage =
    R"(omniloop — integration middleware: legacy systems -> pipelines -> one customer profile

usage: omniloop <command> [options]

commands:
  validate FILE...      check pipeline files and their personal data; `ok` or every error with file:line:col
  run FILE              run a pipeline to the end of its source and print a summary
  plugins               list discovered plugins, their components, and plugins that failed to load
  stats                 what the CDP store holds: profiles, identities, events, dead letters
  profile               one unified customer profile: identities, traits, timeline
  status                the running omniloopd's pipelines: state, counters, last error
  dead-letters          list, show and replay the records a pipeline could not store
  erase / export / audit / purge   data subject rights: erase, access export, audit log, retention purge
  detokenize TOKEN      the clear value behind a vault token (needs the vault key; audited)
  keys                  pseudonymisation key: status, rotate (dual-hash period), retire
  tcf decode STRING     decode an IAB TCF v2.2 consent string (--json: IAB field names)
  version               print the version

global options:
  --config FILE         omniloop.yaml (default: $OMNILOOP_CONFIG, else ./omniloop.yaml if present)
  --help                help for a command: omniloop <command> --help
  --version             print the version
)";

constexpr const char* kValidateHelp = R"(usage: omniloop validate FILE... [--explain] [--config FILE]

Checks each pipeline file against the pipeline schema, the component types the installed plugins
provide, and each component's own config schema, then follows every personal field (`personal:`
and those the source type declares) through the stages to every sink: a field that can reach a
sink in clear is an error unless `allow_clear:` gives the reason. Every problem is reported at
once, as
  FILE:LINE:COLUMN: error: WHAT
    hint: WHAT TO DO
An omniloop.yaml (the daemon's config) is not a pipeline file: check it with
`omniloopd --config FILE --check-config`.

options:
  --explain             also print, per personal field, its path through the stages to each
                        sink and the allow_clear reasons
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
  --from-start          read the source from its start, ignoring the committed checkpoint
                        (event ids do not change: the replay updates the same events, adds none)
  --max-dead-letter-ratio R   fail (exit 3) when more than R (0..1) of the records read were
                        dead-lettered; without it, exit 3 only when every record read was
                        dead-lettered

Ctrl-C / SIGTERM stop reading, finish the batches in flight, commit, and print the summary.
When the store rolls back a group commit (a batch failing inside it), the run resumes from its
committed cursor (at most 10 times) and the batch that failed is then dead-lettered alone.
With --json every outcome is one JSON object on stdout; a failure has "ok":false and "error".
Exit status:
  0  the run finished (or was stopped on request) and its dead letters are within bounds
  1  the pipeline, the store or a plugin failed at run time (e.g. the store is unreachable)
  2  invalid pipeline file or usage
  3  the run finished, but every record read was dead-lettered (or more than
     --max-dead-letter-ratio of them): see `omniloop dead-letters list --pipeline NAME`
)";

constexpr const char* kPluginsHelp = R"(usage: omniloop plugins [--json] [--config FILE]

Lists every plugin found in the bundled plugin directory, the configured plugin_dirs and
$OMNILOOP_PLUGIN_PATH (colon-separated): name, version, ABI, the sha256 of its file (pin it in
omniloop.yaml: plugins: {<name>: {sha256: ...}}), components and the personal fields a source
declares it emits; then each file that failed to load and why (a plugin file or directory that
others than root and the service user can write to is refused). Exit status: 0 (also when some
plugins failed to load).
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
         name == "--timeline" || name == "--region" || name == "--max-dead-letter-ratio" ||
         name == "--pipeline" || name == "--pipeline-file" || name == "--limit";
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

// Options missing their value and options the command does not know, one message each.
std::vector<std::string> optionProblems(const Args& a, std::initializer_list<const char*> allowed) {
  std::vector<std::string> problems = a.unknown;
  for (const auto& [name, value] : a.options) {
    bool known = false;
    for (const char* k : allowed) known = known || name == k;
    if (!known) problems.push_back("unknown option " + name);
  }
  return problems;
}

bool checkOptions(const Args& a, std::initializer_list<const char*> allowed, const char* help) {
  const std::vector<std::string> problems = optionProblems(a, allowed);
  for (const auto& p : problems) std::cerr << "omniloop: " << p << "\n";
  if (!problems.empty()) std::cerr << help;
  return problems.empty();
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
  if (!checkOptions(a, {"--config", "--explain"}, kValidateHelp)) return 2;
  if (a.positional.empty()) {
    std::cerr << "omniloop validate: name at least one pipeline file\n" << kValidateHelp;
    return 2;
  }
  const bool explain = has(a, "--explain");
  Runtime rt(runtimeOptions(a));
  int status = 0;
  for (const std::string& file : a.positional) {
    if (config::looksLikeDaemonConfig(file)) {
      std::cout << file << ":1:1: error: this is an omniloop.yaml (the daemon's config), not a "
                << "pipeline file\n  hint: check it with `omniloopd --config " << file
                << " --check-config`, which also checks every pipeline of its pipelines_dir\n";
      status = 2;
      continue;
    }
    try {
      const config::PipelineSpec spec = rt.loadPipeline(file);
      std::cout << file << ": ok\n";
      if (explain) std::cout << spec.personal_explanation;
    } catch (const config::ConfigError& e) {
      for (const auto& d : e.diagnostics()) std::cout << d.format() << "\n";
      if (explain) std::cout << e.explanation();
      status = 2;
    }
  }
  return status;
}

// How `omniloop run` reports a failure before (or instead of) a summary: one JSON object on
// stdout with --json (as docs/cli.md promises for every failure), text on stderr otherwise.
class RunFailure {
 public:
  RunFailure(const Args& a, std::string file) : json_(has(a, "--json")), file_(std::move(file)) {}

  int usage(const std::vector<std::string>& problems) {
    std::string joined;
    for (const auto& p : problems) joined += (joined.empty() ? "" : "; ") + p;
    if (!json_) {
      for (const auto& p : problems) std::cerr << "omniloop run: " << p << "\n";
      std::cerr << kRunHelp;
      return 2;
    }
    return print(2, joined, "see omniloop run --help", {});
  }
  int invalid(const config::ConfigError& e) {
    if (!json_) {
      printConfigError(e);
      return 2;
    }
    std::vector<std::string> diags;
    for (const auto& d : e.diagnostics()) diags.push_back(d.format());
    return print(2, "invalid pipeline: " + (diags.empty() ? std::string(e.what()) : diags.front()),
                 "fix the file (omniloop validate FILE lists every problem)", diags);
  }
  int runtime(const std::string& message) {
    if (!json_) {
      std::cerr << "omniloop run: " << message << "\n";
      return 1;
    }
    return print(1, message, "", {});
  }

 private:
  int print(int code, const std::string& error, const std::string& hint,
            const std::vector<std::string>& diagnostics) {
    std::string out;
    {
      event::JsonObjectWriter o(out);
      o.raw("ok", "false").text("error", error);
      if (!hint.empty()) o.text("hint", hint);
      if (!file_.empty()) o.text("file", file_);
      if (!diagnostics.empty()) o.strings("diagnostics", diagnostics);
      o.integer("exit_code", static_cast<uint64_t>(code));
    }
    std::cout << out << "\n";
    return code;
  }

  bool json_;
  std::string file_;
};

// Exit status 3: the run worked but its records did not (docs/cli.md).
constexpr int kExitDeadLetters = 3;

int cmdRun(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kRunHelp;
    return 0;
  }
  RunFailure failure(a, a.positional.size() == 1 ? a.positional[0] : std::string());
  const std::vector<std::string> problems = optionProblems(
      a, {"--config", "--store", "--batch-size", "--json", "--progress", "--no-progress",
          "--progress-interval", "--stop-when-idle", "--max-dead-letter-ratio",
          "--from-start"});
  if (!problems.empty()) return failure.usage(problems);
  if (a.positional.size() != 1) return failure.usage({"name exactly one pipeline file"});
  std::optional<double> max_ratio;
  if (has(a, "--max-dead-letter-ratio")) {
    const std::string text = opt(a, "--max-dead-letter-ratio");
    char* end = nullptr;
    const double r = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(r >= 0.0 && r <= 1.0)) {
      return failure.usage(
          {"--max-dead-letter-ratio takes a number from 0 to 1 (a share of the "
           "records read, e.g. 0.05), not '" +
           text + "'"});
    }
    max_ratio = r;
  }
  const std::string file = a.positional[0];
  try {
    SignalWatcher signals;  // before any thread starts
    Runtime rt(runtimeOptions(a));
    // The `log:` section of omniloop.yaml (level, format, file) applies to `run` as to omniloopd.
    try {
      setupLogging(rt.config().log, "omniloop");
    } catch (const std::exception& e) {
      return failure.usage({e.what()});
    }
    config::PipelineSpec spec;
    try {
      spec = rt.loadPipeline(file);
    } catch (const config::ConfigError& e) {
      return failure.invalid(e);
    }
    pipeline::ExecutorOptions overrides;
    overrides.batch_size = spec.batch_size;
    if (has(a, "--batch-size")) {
      const std::string text = opt(a, "--batch-size");
      char* end = nullptr;
      const unsigned long long n = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || n == 0 || text[0] == '-') {
        return failure.usage({"--batch-size needs a positive number, not '" + text + "'"});
      }
      overrides.batch_size = static_cast<size_t>(n);
    }
    overrides.stop_when_idle = has(a, "--stop-when-idle");
    overrides.from_start = has(a, "--from-start");
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
    if (has(a, "--progress-interval"))
      interval = std::max(0.1, std::atof(opt(a, "--progress-interval").c_str()));
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
      overrides.from_start = false;  // a resume goes on from what the first attempt committed
      std::unique_ptr<pipeline::Executor> next = rt.build(spec, overrides);
      std::lock_guard lock(executor_mutex);
      executor = std::move(next);
      if (stopping) executor->requestStop();
    }
    signals.stop();

    // Dead letters beyond what the user allows make a finished run a failed one (exit 3).
    int code = result.isOk() ? 0 : 1;
    pipeline::Result shown = result;
    const uint64_t read = total.read.load();
    const uint64_t dead = total.dead_lettered.load();
    if (result.isOk() && read > 0) {
      const double ratio = static_cast<double>(dead) / static_cast<double>(read);
      const bool exceeded = max_ratio ? ratio > *max_ratio : dead >= read;
      if (exceeded) {
        code = kExitDeadLetters;
        std::string message = (dead >= read ? "every record read was dead-lettered ("
                                            : "too many records were dead-lettered (") +
                              std::to_string(dead) + " of " + std::to_string(read);
        if (max_ratio) {
          char allowed[32];
          std::snprintf(allowed, sizeof allowed, "%g", *max_ratio);
          message += std::string(", more than --max-dead-letter-ratio ") + allowed;
        }
        message += "): see `omniloop dead-letters list --pipeline " + spec.name +
                   "`, fix the cause, then `omniloop dead-letters replay --pipeline-file " + file +
                   "`";
        shown = pipeline::Result::error(message);
      }
    }
    if (has(a, "--json")) {
      std::cout << summaryJson(spec.name, file, total, shown, resumes) << "\n";
    } else {
      printSummary(std::cout, spec.name, file, total, result, resumes);
      if (executor->stopRequested() && result.isOk()) {
        std::cout << "  stopped early on request; the next run resumes from the checkpoint\n";
      }
      if (code == kExitDeadLetters) std::cerr << "omniloop run: " << shown.message << "\n";
    }
    return code;
  } catch (const config::ConfigError& e) {
    return failure.invalid(e);  // omniloop.yaml
  } catch (const std::exception& e) {
    return failure.runtime(e.what());  // the store, a plugin, the key
  }
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
      j += ",\"sha256\":\"" + p.sha256 + "\"";
      j += ",\"components\":[";
      for (size_t c = 0; c < p.components.size(); ++c) {
        if (c) j += ",";
        j += "{\"kind\":\"" + std::string(kindName(p.components[c]->kind)) + "\",\"type\":";
        event::appendJsonString(j, p.components[c]->type ? p.components[c]->type : "");
        j += ",\"personal_fields\":[";
        for (size_t f = 0; f < p.personal_fields[c].size(); ++f) {
          if (f) j += ",";
          event::appendJsonString(j, p.personal_fields[c][f]);
        }
        j += "]}";
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
    std::cout << "  sha256 " << p.sha256 << "\n";
    for (size_t i = 0; i < p.components.size(); ++i) {
      const ol_component* c = p.components[i];
      std::cout << "  " << std::left << std::setw(7) << kindName(c->kind) << std::setw(22)
                << (c->type ? c->type : "") << (c->description ? c->description : "") << "\n";
      if (!p.personal_fields[i].empty()) {
        std::string list;
        for (const auto& f : p.personal_fields[i]) list += (list.empty() ? "" : ", ") + f;
        std::cout << "  " << std::string(29, ' ') << "personal: " << list << "\n";
      }
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

Prints what the CDP store holds: profiles, identities, events, dead letters. Read-only: a store
that does not exist is an error naming its path (nothing is created).
Exit status: 0 shown, 1 the store cannot be opened (e.g. no such file), 2 usage.
)";

int cmdStats(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kStatsHelp;
    return 0;
  }
  if (!checkOptions(a, {"--config", "--store", "--json"}, kStatsHelp)) return 2;
  RuntimeOptions options = runtimeOptions(a);
  options.read_only = true;  // never creates the store or a key
  Runtime rt(options);
  const store::StoreCounts c = rt.store().counts();
  if (has(a, "--json")) {
    std::string store_json;
    event::appendJsonString(store_json, rt.storeUri());
    std::cout << "{\"store\":" << store_json << ",\"profiles\":" << c.profiles
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
  omniloop profile --identity phone:030123456 --region DE

options:
  --store URI           CDP store (default: from omniloop.yaml, else sqlite:var/omniloop.db)
  --config FILE         omniloop.yaml to use
  --timeline N          latest events to show (default 20; 0 for none)
  --region CC           region (ISO 3166, e.g. DE) of a phone number written without country
                        code (default: identity.default_region in omniloop.yaml)
  --json                print the profile as JSON; when none is found, {"found":false,"error":...}
Read-only: a store or key file that does not exist is an error naming its path (nothing is
created).
Exit status: 0 shown, 1 no such profile (or the store or key cannot be opened), 2 usage.
)";

int cmdProfile(const Args& a) {
  if (has(a, "--help")) {
    std::cout << kProfileHelp;
    return 0;
  }
  if (!checkOptions(a, {"--config", "--store", "--json", "--identity", "--id", "--timeline", "--region"},
                    kProfileHelp)) {
    return 2;
  }
  ProfileQuery q;
  q.identity = opt(a, "--identity");
  q.profile_id = opt(a, "--id");
  q.json = has(a, "--json");
  q.region = opt(a, "--region");
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
  RuntimeOptions options = runtimeOptions(a);
  options.read_only = true;  // never creates the store or a key
  std::unique_ptr<Runtime> rt;
  store::Store* opened = nullptr;
  try {
    rt = std::make_unique<Runtime>(options);
    opened = &rt->store();
  } catch (const config::ConfigError& e) {
    if (!q.json) throw;
    return profileError(q, std::cout, std::cerr, 2,
                        e.diagnostics().empty() ? e.what() : e.diagnostics().front().format(), "");
  } catch (const std::exception& e) {
    if (!q.json) throw;
    return profileError(q, std::cout, std::cerr, 1, e.what(), "");
  }
  store::Store& store = *opened;
  if (!q.identity.empty() && !rt->keyProblem().empty()) {
    return profileError(q, std::cout, std::cerr, 1, rt->keyProblem(),
                        "an identity is looked up by its pseudonym, made with the key the data "
                        "was ingested with");
  }
  return showProfile(store, q, std::cout, std::cerr);
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
    if (cmd == "dead-letters") return runDeadLettersCommand(args);
    if (cmd == "erase") return runEraseCommand(args);
    if (cmd == "export") return runExportCommand(args);
    if (cmd == "audit") return runAuditCommand(args);
    if (cmd == "purge") return runPurgeCommand(args);
    if (cmd == "detokenize") return runDetokenizeCommand(args);
    if (cmd == "keys") return runKeysCommand(args);
    if (cmd == "tcf") return runTcfCommand(args);
  } catch (const config::ConfigError& e) {
    printConfigError(e);
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "omniloop " << cmd << ": " << e.what() << "\n";
    return 1;
  }
  const std::vector<std::string> commands = {"validate",     "run",        "plugins",
                                             "stats",        "profile",    "status",
                                             "dead-letters", "detokenize", "version"};
  std::cerr << "omniloop: unknown command '" << cmd
            << "'\n  hint: " << config::didYouMeanAndKnown(cmd, commands, "commands")
            << "\n(omniloop --help for the usage)\n";
  return 2;
}

}  // namespace omniloop::app
