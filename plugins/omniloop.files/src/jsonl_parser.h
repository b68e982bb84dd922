#pragma once
// One JSON object per line, flattened: nested objects become dotted paths (customer.email),
// arrays are handed over whole as their raw JSON text, an empty object as "{}".
#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace omniloop::files {

// Receives the fields of one line in document order. Views are valid during the call only.
class FieldVisitor {
 public:
  virtual ~FieldVisitor() = default;
  virtual void onString(std::string_view path, std::string_view value) = 0;
  virtual void onInt(std::string_view path, int64_t value) = 0;
  virtual void onDouble(std::string_view path, double value) = 0;
  virtual void onBool(std::string_view path, bool value) = 0;
  virtual void onNull(std::string_view path) = 0;
  virtual void onJson(std::string_view path, std::string_view raw) = 0;
};

class JsonlParser {
 public:
  // Parses `line` (no terminator). `capacity`: bytes readable from `line`, which must be at least
  // len + SIMDJSON_PADDING. Fields are visited as they are parsed: on failure (false, `error` set
  // to simdjson's message) the visitor may already have seen some of them.
  bool parse(const char* line, size_t len, size_t capacity, FieldVisitor& visitor,
             std::string* error);

 private:
  simdjson::error_code walkObject(simdjson::ondemand::object object, FieldVisitor& visitor);
  simdjson::error_code walkValue(simdjson::ondemand::value value, FieldVisitor& visitor);
  simdjson::error_code validate(simdjson::ondemand::value value);

  simdjson::ondemand::parser parser_;
  simdjson::ondemand::document doc_;
  std::string path_;  // reused: the dotted path of the field being visited
};

}  // namespace omniloop::files
