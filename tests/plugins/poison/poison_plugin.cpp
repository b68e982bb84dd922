// A stage that misbehaves on one record, for the plugin isolation tests (plugin/isolation.h):
//   test.poison  marks every live event `checked: true`; on an event whose `field` (default
//                "note") equals `marker` (default "POISON") it does `action`:
//                  segv   writes through a wild pointer (SIGSEGV)
//                  abort  calls abort() (SIGABRT)
//                  hang   sleeps forever
//                  alloc  allocates and touches memory without bound
//                  none   nothing (a well-behaved run of the same pipeline)
//   test.poison_sink  (a sink) writes the `id` of every live event, one per line, to `path`:
//                buffered by write, appended to the file by flush (nothing is durable before
//                flush, as the SDK asks of sinks); does `action` in write on the marked event.
//   test.poison_source  (a source) emits `count` events {id: i, note: "ok"} (key i), cursor =
//                the next position, ending after the last; does `action` when it reaches
//                position `crash_at`, `times` times (counted in the file `state`; without
//                `times`, every time).
// Never bundled; tests load it from ${CMAKE_BINARY_DIR}/test-plugins/poison.
#include <omniloop/plugin.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace sdk = omniloop::sdk;

namespace {

[[noreturn]] void crash() {
  // Not NULL (UBSan would report it before the fault): an unmapped low address.
  static volatile uintptr_t address = 16;
  volatile int* wild = reinterpret_cast<volatile int*>(address);
  *wild = 1;
  std::abort();  // not reached
}

[[noreturn]] void allocateForever() {
  std::vector<char*> kept;
  for (;;) {
    char* p = static_cast<char*>(std::malloc(4 << 20));
    if (p == nullptr) crash();  // what a careless plugin does when malloc fails
    std::memset(p, 1, 4 << 20);
    kept.push_back(p);
    ::usleep(1000);  // < 4 GB/s: a memory limit checked by polling (ASan's) still catches it
  }
}

bool validAction(const std::string& action) {
  return action == "segv" || action == "abort" || action == "hang" || action == "alloc" ||
         action == "none";
}

void act(const std::string& action) {
  if (action == "segv") crash();
  if (action == "abort") std::abort();
  if (action == "hang") {
    for (;;) ::pause();
  }
  if (action == "alloc") allocateForever();
}

class Poison : public sdk::StageBase {
 public:
  explicit Poison(const sdk::Config& config)
      : field_(config.str("field", "note")),
        marker_(config.str("marker", "POISON")),
        action_(config.str("action", "segv")) {
    if (!validAction(action_)) {
      throw sdk::Error("option 'action' must be segv, abort, hang, alloc or none");
    }
  }

  void process(sdk::BatchView& batch) override {
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      const auto v = ev.get(field_);
      if (v && v->isString() && v->asString() == marker_) act(action_);
      ev.boolean("checked", true);
      host().counter("checked");
    }
  }

 private:
  std::string field_, marker_, action_;
};

class PoisonSink : public sdk::SinkBase {
 public:
  explicit PoisonSink(const sdk::Config& config)
      : path_(config.str("path")),
        field_(config.str("field", "note")),
        marker_(config.str("marker", "POISON")),
        action_(config.str("action", "segv")) {
    if (path_.empty()) throw sdk::Error("option 'path' is required");
    if (!validAction(action_)) {
      throw sdk::Error("option 'action' must be segv, abort, hang, alloc or none");
    }
  }

  void write(sdk::BatchView& batch) override {
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      const auto v = ev.get(field_);
      if (v && v->isString() && v->asString() == marker_) act(action_);
      buf_ += ev.text("id", "?");
      buf_ += '\n';
    }
  }

  void flush() override {
    if (buf_.empty()) return;
    const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw sdk::Error("cannot open the output file");
    const ssize_t n = ::write(fd, buf_.data(), buf_.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(buf_.size())) throw sdk::Error("short write");
    buf_.clear();
  }

 private:
  std::string path_, field_, marker_, action_, buf_;
};

class PoisonSource : public sdk::SourceBase {
 public:
  explicit PoisonSource(const sdk::Config& config)
      : count_(config.integer("count", 40)),
        crash_at_(config.integer("crash_at", -1)),
        times_(config.integer("times", -1)),
        state_(config.str("state", "")),
        action_(config.str("action", "segv")) {
    if (!validAction(action_)) {
      throw sdk::Error("option 'action' must be segv, abort, hang, alloc or none");
    }
    if (times_ >= 0 && state_.empty()) throw sdk::Error("option 'times' needs 'state'");
  }

  void resume(std::string_view cursor) override { next_ = std::stoll(std::string(cursor)); }

  ol_status read(sdk::BatchWriter& out, size_t /*max*/) override {
    for (; next_ < count_; ++next_) {
      if (next_ == crash_at_ && shouldCrash()) act(action_);
      sdk::EventBuilder ev = out.append();
      if (!ev) break;  // batch full: the host calls again
      ev.key(std::to_string(next_)).type("test.poison").i64("id", next_).str("note", "ok");
    }
    out.cursor(std::to_string(next_));
    return next_ < count_ ? OL_OK : OL_END;
  }

 private:
  // Counts this crash in the state file; false once `times` crashes happened.
  bool shouldCrash() {
    if (times_ < 0) return true;
    int64_t done = 0;
    std::ifstream(state_) >> done;
    if (done >= times_) return false;
    std::ofstream(state_, std::ios::trunc) << done + 1;
    return true;
  }

  int64_t count_, crash_at_, times_;
  std::string state_, action_;
  int64_t next_ = 0;
};

}  // namespace

OMNILOOP_PLUGIN("test.poison", "1.0.0",
                OMNILOOP_STAGE(Poison, "test.poison", "Misbehaves on the record carrying a marker",
                               R"({"type":"object","properties":{
                                   "field":{"type":"string"},"marker":{"type":"string"},
                                   "action":{"enum":["segv","abort","hang","alloc","none"]}}})"),
                OMNILOOP_SINK(PoisonSink, "test.poison_sink",
                              "Writes ids to a file; misbehaves on the record carrying a marker",
                              R"({"type":"object","properties":{
                                  "path":{"type":"string"},
                                  "field":{"type":"string"},"marker":{"type":"string"},
                                  "action":{"enum":["segv","abort","hang","alloc","none"]}}})"),
                OMNILOOP_SOURCE(PoisonSource, "test.poison_source",
                                "Numbered events; misbehaves at a position",
                                R"({"type":"object","properties":{
                                    "count":{"type":"integer"},"crash_at":{"type":"integer"},
                                    "times":{"type":"integer"},"state":{"type":"string"},
                                    "action":{"enum":["segv","abort","hang","alloc","none"]}}})"))
