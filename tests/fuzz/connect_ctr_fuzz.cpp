// The connect.ctr source of callcenter.connect over an arbitrary file of contact trace records
// (JSON lines, objects possibly back to back on one line), read to its end in small batches; the
// first byte picks the batch size and a small record limit.
#include <cstddef>
#include <cstdint>
#include <string>

#include "source_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace omniloop::fuzz;
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  static const std::string path = scratchDir() + "/ctr.jsonl";
  writeFile(path, data + 1, size - 1);
  std::string config = "{\"path\":" + jsonString(path);
  if (opts & 1) config += ",\"max_record_bytes\":1024";
  config += "}";
  SourceInstance source("connect.ctr", config);
  source.drain(1 + ((opts >> 1) & 3) * 3, 100000);
  return 0;
}
