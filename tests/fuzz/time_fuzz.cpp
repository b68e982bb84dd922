// The timestamp parsers over arbitrary text: the map stage's `time` op (a format compiled at
// config time, then parsed per event, with and without a timezone), the file sources'
// ISO 8601 / epoch parser (omniloop.files) and the call-center connectors' (plugins/filetail).
// Input: "<format or zone>\n<text>"; without a newline the whole input is the text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/stages/time_parse.h"
#include "text.h"
#include "time_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace pl = omniloop::pipeline;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nl = input.find('\n');
  const std::string_view format = nl == std::string_view::npos ? "" : input.substr(0, nl);
  const std::string_view text = nl == std::string_view::npos ? input : input.substr(nl + 1);

  int64_t micros = 0;
  // Map stage: the fixed formats, then the first line as a pattern and as a timezone.
  for (const char* f : {"iso8601", "rfc2822", "unix", "unix_ms"}) {
    pl::TimeFormat tf;
    size_t at = 0;
    if (!pl::compileTimeFormat(f, tf, &at).empty()) __builtin_trap();
    (void)pl::parseTime(tf, text, micros);
  }
  pl::TimeFormat pattern;
  size_t error_at = 0;
  if (pl::compileTimeFormat(format, pattern, &error_at).empty()) {
    (void)pl::parseTime(pattern, text, micros);
  } else if (error_at > format.size()) {
    __builtin_trap();  // the error offset points into the format
  }
  int32_t offset = 0;
  if (pl::parseTimezone(format, offset).empty()) {
    pl::TimeFormat zoned;
    if (pl::compileTimeFormat("%Y-%m-%d %H:%M:%S", zoned, &error_at).empty()) {
      zoned.default_offset_s = offset;
      (void)pl::parseTime(zoned, text, micros);
    }
  }

  // omniloop.files
  namespace files = omniloop::files;
  (void)files::parseTimeFormat(text);
  (void)files::parseIso8601Micros(text);
  for (files::TimeFormat f :
       {files::TimeFormat::kIso8601, files::TimeFormat::kUnix, files::TimeFormat::kUnixMs}) {
    (void)files::epochTextToMicros(text, f);
  }

  // plugins/filetail (Asterisk, Connect)
  namespace ft = omniloop::filetail;
  if (const auto iso = ft::parseIsoTimestamp(text)) (void)ft::formatIsoUtc(*iso);
  if (const auto off = ft::parseUtcOffset(format)) {
    if (const auto local = ft::parseLocalTimestamp(text, *off)) (void)ft::formatIsoUtc(*local);
  }
  return 0;
}
