/* Stub callbacks for the hand-written (raw C ABI) broken test plugins: a minimal, otherwise
 * valid source component, so each plugin is broken in exactly one way. */
#ifndef OMNILOOP_TEST_RAW_PLUGIN_H
#define OMNILOOP_TEST_RAW_PLUGIN_H

#include "omniloop/plugin.h"

static int stub_create(const ol_host_api* host, void* ctx, const char* config, size_t config_len,
                       void** instance, char* err, size_t err_cap) {
  (void)host; (void)ctx; (void)config; (void)config_len; (void)err; (void)err_cap;
  *instance = 0;
  return OL_OK;
}

static void stub_destroy(void* instance) { (void)instance; }

static int stub_read(void* instance, ol_batch* batch, size_t max_events, char* err,
                     size_t err_cap) {
  (void)instance; (void)batch; (void)max_events; (void)err; (void)err_cap;
  return OL_END;
}

static const ol_component kStubSource = {
    sizeof(ol_component), OL_SOURCE, "test.stub", "does nothing", "{\"type\":\"object\"}",
    stub_create, stub_destroy, 0, stub_read, 0, 0, 0, 0, 0};

#endif
