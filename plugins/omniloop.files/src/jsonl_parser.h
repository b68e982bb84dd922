#pragma once
// One JSON object per line, flattened: nested objects become dotted paths (customer.email),
// arrays are handed over whole as their (minified) JSON text, an empty object as "{}".
//
// Uses simdjson's DOM API: it dispatches to the best kernel for the CPU at run time for both
// parsing stages. (The On-Demand API is compiled for the build machine's baseline here and fell
// back to its generic kernel, which measured ~30% slower on the benchmark.)
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
  // len + SIMDJSON_PADDING. The whole line is validated before any field is visited: on failure
  // (false, `error` set to simdjson's message) the visitor has seen nothing.
  bool parse(const char* line, size_t len, size_t capacity, FieldVisitor& visitor,
             std::string* error);

 private:
  void walkObject(simdjson::dom::object object, FieldVisitor& visitor);
  void walkValue(simdjson::dom::element value, FieldVisitor& visitor);

  // Copies the line into widened_ with every integer of 20 digits or more written as a
  // fraction ("...0.0"), outside strings. True when it changed anything.
  bool widenBigIntegers(const char* line, size_t len);

  simdjson::dom::parser parser_;
  std::string widened_;  // reused: a line whose big integers are written as fractions
  std::string path_;  // reused: the dotted path of the field being visited
  std::string json_;  // reused: minified text of an array
};

}  // namespace omniloop::files
