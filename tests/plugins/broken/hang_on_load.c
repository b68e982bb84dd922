/* Broken on purpose: a load-time constructor never returns. */
#include <unistd.h>

#include "raw_plugin.h"

__attribute__((constructor)) static void hang_forever(void) {
  for (;;) pause();
}

static const ol_plugin_descriptor kDescriptor = {
    sizeof(ol_plugin_descriptor), OMNILOOP_ABI_MAJOR, OMNILOOP_ABI_MINOR, "test.hang_on_load",
    "1.0.0", 1, &kStubSource};

OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t major, uint16_t minor) {
  (void)major;
  (void)minor;
  return &kDescriptor;
}
