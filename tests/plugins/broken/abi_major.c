/* Broken on purpose: built for a future ABI major (2). */
#include "raw_plugin.h"

static const ol_plugin_descriptor kDescriptor = {
    sizeof(ol_plugin_descriptor), 2, 0, "test.abi_major", "1.0.0", 1, &kStubSource};

OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t major, uint16_t minor) {
  (void)major;
  (void)minor;
  return &kDescriptor; /* a v2 plugin answers anyway, so the host can name both versions */
}
