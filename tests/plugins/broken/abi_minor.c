/* Broken on purpose: built against a newer minor of the ABI than the host's. */
#include "raw_plugin.h"

static const ol_plugin_descriptor kDescriptor = {
    sizeof(ol_plugin_descriptor), OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR + 1, "test.abi_minor",
    "1.0.0", 1, &kStubSource};

OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t major, uint16_t minor) {
  (void)major;
  (void)minor;
  return &kDescriptor;
}
