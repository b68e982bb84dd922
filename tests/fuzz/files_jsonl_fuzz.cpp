// The file.jsonl source of omniloop.files over an arbitrary file. The first byte picks the options
// (time field and format, a small record limit, key fields, type and channel); the rest is the
// file, read to its end in small batches.
#include <cstddef>
#include <cstdint>
#include <string>

#include "source_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace omniloop::fuzz;
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  static const std::string path = scratchDir() + "/input.jsonl";
  writeFile(path, data + 1, size - 1);

  static const char* const kFormats[] = {"iso8601", "unix", "unix_ms", nullptr};
  std::string config = "{\"path\":" + jsonString(path);
  if (const char* format = kFormats[opts & 3]) {
    config += ",\"time_field\":\"ts\",\"time_format\":\"" + std::string(format) + "\"";
  }
  if (opts & 4) config += ",\"max_record_bytes\":1024";
  if (opts & 8) {
    config += ",\"key_field\":\"id\"";
  } else if (opts & 16) {
    config += ",\"key_field\":[\"id\",\"a.b\"]";
  }
  if (opts & 32) config += ",\"type\":\"order.placed\",\"channel\":\"web\"";
  config += "}";

  SourceInstance source("file.jsonl", config);
  source.drain(1 + ((opts >> 6) & 1) * 63, 100000);
  return 0;
}
