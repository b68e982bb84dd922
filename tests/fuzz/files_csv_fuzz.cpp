// The file.csv source of omniloop.files over an arbitrary file. The first byte picks the options
// (header, delimiter, short rows, encoding, a small record limit, a key field); the rest is the
// file, read to its end in small batches.
#include <cstddef>
#include <cstdint>
#include <string>

#include "source_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace omniloop::fuzz;
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  static const std::string path = scratchDir() + "/input.csv";
  writeFile(path, data + 1, size - 1);

  static const char* const kDelimiters[] = {",", ";", "\\t", "|"};
  std::string config = "{\"path\":" + jsonString(path);
  config += std::string(",\"header\":") + ((opts & 1) ? "false" : "true");
  config += std::string(",\"delimiter\":\"") + kDelimiters[(opts >> 1) & 3] + "\"";
  if (opts & 8) config += ",\"short_rows\":\"dead_letter\"";
  if (opts & 16) config += ",\"encoding\":\"latin-1\"";
  if (opts & 32) config += ",\"max_record_bytes\":1024";
  if (opts & 64) config += ",\"key_field\":\"id\"";
  if ((opts & 129) == 129) config += ",\"columns\":[\"id\",\"email\",\"a.b\",\"a\"]";
  config += "}";

  SourceInstance source("file.csv", config);
  source.drain(1 + (opts >> 7) * 63, 100000);
  return 0;
}
