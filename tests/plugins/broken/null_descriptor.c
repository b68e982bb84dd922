/* Broken on purpose: the entry point refuses every host (returns NULL). */
#include "omniloop/plugin.h"

OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t major, uint16_t minor) {
  (void)major;
  (void)minor;
  return 0;
}
