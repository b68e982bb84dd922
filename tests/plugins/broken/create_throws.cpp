// Broken on purpose: raw C ABI callbacks that let C++ exceptions escape through the C boundary
// (what a careless plugin written without plugin.hpp does). The host must turn each into an
// error instead of dying.
//   test.throw_create   (source) create() throws std::runtime_error
//   test.throw_read     (source) read() throws an int (not a std::exception)
//   test.throw_process  (stage)  process() throws std::logic_error
#include <stdexcept>

#include "omniloop/plugin.h"

namespace {

int throwingCreate(const ol_host_api*, void*, const char*, size_t, void**, char*, size_t) {
  throw std::runtime_error("config parser exploded");
}

int okCreate(const ol_host_api*, void*, const char*, size_t, void** instance, char*, size_t) {
  static int dummy = 0;
  *instance = &dummy;
  return OL_OK;
}

void noDestroy(void*) {}

int throwingRead(void*, ol_batch*, size_t, char*, size_t) {
  throw 42;
}

int throwingProcess(void*, ol_batch*, char*, size_t) {
  throw std::logic_error("stage lost its mind");
}

int neverRead(void*, ol_batch*, size_t, char*, size_t) {
  return OL_END;
}

const ol_component kComponents[] = {
    {sizeof(ol_component), OL_SOURCE, "test.throw_create", "create() throws", "{}", throwingCreate,
     noDestroy, nullptr, neverRead, nullptr, nullptr, nullptr, nullptr, 0},
    {sizeof(ol_component), OL_SOURCE, "test.throw_read", "read() throws an int", "{}", okCreate,
     noDestroy, nullptr, throwingRead, nullptr, nullptr, nullptr, nullptr, 0},
    {sizeof(ol_component), OL_STAGE, "test.throw_process", "process() throws", "{}", okCreate,
     noDestroy, nullptr, nullptr, throwingProcess, nullptr, nullptr, nullptr, 0},
};

const ol_plugin_descriptor kDescriptor = {sizeof(ol_plugin_descriptor),
                                          OMNILOOP_ABI_MAJOR,
                                          OMNILOOP_ABI_MINOR,
                                          "test.throwing",
                                          "1.0.0",
                                          sizeof(kComponents) / sizeof(kComponents[0]),
                                          kComponents};

}  // namespace

extern "C" OMNILOOP_EXPORT const ol_plugin_descriptor* omniloop_plugin_entry(uint16_t, uint16_t) {
  return &kDescriptor;
}
