/* Broken on purpose: exports a near-miss of the entry point's name, not omniloop_plugin_entry. */
#include "omniloop/plugin.h"

OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry_v0(uint16_t major,
                                                                     uint16_t minor);
OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry_v0(uint16_t major,
                                                                     uint16_t minor) {
  (void)major;
  (void)minor;
  return 0;
}
