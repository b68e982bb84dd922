// The asterisk.cdr source of callcenter.asterisk over an arbitrary Master.csv and queue_log: the
// first byte picks the options (country for phone numbers, timezone, encoding); the rest up to
// the first NUL byte is Master.csv, after it the queue_log (absent without a NUL).
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "source_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace omniloop::fuzz;
  if (size == 0) return 0;
  const uint8_t opts = data[0];
  ++data;
  --size;
  const auto* nul = static_cast<const uint8_t*>(std::memchr(data, 0, size));
  const size_t cdr_size = nul ? static_cast<size_t>(nul - data) : size;
  static const std::string cdr = scratchDir() + "/Master.csv";
  static const std::string queue = scratchDir() + "/queue_log";
  writeFile(cdr, data, cdr_size);

  static const char* const kCountries[] = {"", "GB", "DE", "US"};
  static const char* const kZones[] = {"+00:00", "-05:00", "+0530", "Z"};
  std::string config = "{\"path\":" + jsonString(cdr);
  config += std::string(",\"country\":\"") + kCountries[opts & 3] + "\"";
  config += std::string(",\"timezone\":\"") + kZones[(opts >> 2) & 3] + "\"";
  if (opts & 16) config += ",\"encoding\":\"latin-1\"";
  if (nul) {
    writeFile(queue, nul + 1, size - cdr_size - 1);
    config += ",\"queue_log\":" + jsonString(queue);
  }
  config += "}";

  SourceInstance source("asterisk.cdr", config);
  source.drain(1 + ((opts >> 5) & 1) * 63, 100000);
  return 0;
}
