/* Broken on purpose: the descriptor claims a size smaller than the ABI 1.0 struct. */
#include "raw_plugin.h"

static const ol_plugin_descriptor kDescriptor = {
    8, OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR, "test.small_descriptor", "1.0.0", 1, &kStubSource};

OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t major, uint16_t minor) {
  (void)major;
  (void)minor;
  return &kDescriptor;
}
