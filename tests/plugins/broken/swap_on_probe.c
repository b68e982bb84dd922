/* A valid plugin that, when loaded with OMNILOOP_TEST_SWAP_FROM and OMNILOOP_TEST_SWAP_TO set,
 * renames the first file over the second (its own path): the host's probe child loads it and
 * swaps the file under the host between probe and load, race-free. A host that loads the path
 * again (instead of the file it probed) then loads whatever was swapped in. */
#include <stdio.h>
#include <stdlib.h>

#include "raw_plugin.h"

__attribute__((constructor)) static void swap_file(void) {
  const char* from = getenv("OMNILOOP_TEST_SWAP_FROM");
  const char* to = getenv("OMNILOOP_TEST_SWAP_TO");
  if (from && to && *from && *to) (void)rename(from, to); /* fails harmlessly the second time */
}

static const ol_plugin_descriptor kDescriptor = {sizeof(ol_plugin_descriptor),
                                                 OMNILOOP_ABI_MAJOR,
                                                 OMNILOOP_ABI_MINOR,
                                                 "test.swap_on_probe",
                                                 "1.0.0",
                                                 1,
                                                 &kStubSource};

OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t major, uint16_t minor) {
  (void)major;
  (void)minor;
  return &kDescriptor;
}
