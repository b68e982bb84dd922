// Broken on purpose: a static initializer dereferences a null pointer, so merely loading the
// library kills the process that loads it (SIGSEGV). The host must survive it.
#include "raw_plugin.h"

namespace {

struct CrashOnLoad {
  // Not instrumented: under UBSan the null store would be reported and the probe would exit
  // instead of taking the real SIGSEGV this plugin exists to deliver.
  __attribute__((no_sanitize("undefined"))) CrashOnLoad() {
    volatile int* volatile target = nullptr;  // volatile: the store must happen
    *target = 42;
  }
};
const CrashOnLoad kCrash;

const ol_plugin_descriptor kDescriptor = {sizeof(ol_plugin_descriptor),
                                          OMNILOOP_ABI_MAJOR,
                                          OMNILOOP_ABI_MINOR,
                                          "test.crash_on_load",
                                          "1.0.0",
                                          1,
                                          &kStubSource};

}  // namespace

extern "C" OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t, uint16_t) {
  return &kDescriptor;
}
