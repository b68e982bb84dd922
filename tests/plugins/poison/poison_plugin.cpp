// A stage that misbehaves on one record, for the plugin isolation tests (plugin/isolation.h):
//   test.poison  marks every live event `checked: true`; on an event whose `field` (default
//                "note") equals `marker` (default "POISON") it does `action`:
//                  segv   writes through a wild pointer (SIGSEGV)
//                  abort  calls abort() (SIGABRT)
//                  hang   sleeps forever
//                  alloc  allocates and touches memory without bound
//                  none   nothing (a well-behaved run of the same pipeline)
// Never bundled; tests load it from ${CMAKE_BINARY_DIR}/test-plugins/poison.
#include <omniloop/plugin.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
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

class Poison : public sdk::StageBase {
 public:
  explicit Poison(const sdk::Config& config)
      : field_(config.str("field", "note")),
        marker_(config.str("marker", "POISON")),
        action_(config.str("action", "segv")) {
    if (action_ != "segv" && action_ != "abort" && action_ != "hang" && action_ != "alloc" &&
        action_ != "none") {
      throw sdk::Error("option 'action' must be segv, abort, hang, alloc or none");
    }
  }

  void process(sdk::BatchView& batch) override {
    for (sdk::EventView ev : batch) {
      if (!ev.live()) continue;
      const auto v = ev.get(field_);
      if (v && v->isString() && v->asString() == marker_) act();
      ev.boolean("checked", true);
      host().counter("checked");
    }
  }

 private:
  void act() {
    if (action_ == "segv") crash();
    if (action_ == "abort") std::abort();
    if (action_ == "hang") {
      for (;;) ::pause();
    }
    if (action_ == "alloc") allocateForever();
  }

  std::string field_, marker_, action_;
};

}  // namespace

OMNILOOP_PLUGIN("test.poison", "1.0.0",
                OMNILOOP_STAGE(Poison, "test.poison", "Misbehaves on the record carrying a marker",
                               R"({"type":"object","properties":{
                                   "field":{"type":"string"},"marker":{"type":"string"},
                                   "action":{"enum":["segv","abort","hang","alloc","none"]}}})"))
