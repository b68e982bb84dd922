#include "jsonl_parser.h"

namespace omniloop::files {

namespace dom = simdjson::dom;

bool JsonlParser::parse(const char* line, size_t len, size_t capacity, FieldVisitor& visitor,
                        std::string* error) {
  path_.clear();
  if (capacity < len + simdjson::SIMDJSON_PADDING) {
    *error = "internal: line buffer is not padded";
    return false;
  }
  dom::element root;
  simdjson::error_code err =
      parser_.parse(reinterpret_cast<const uint8_t*>(line), len, false).get(root);
  if (err == simdjson::NUMBER_ERROR && widenBigIntegers(line, len)) {
    // An integer beyond 64 bits (simdjson refuses it as a number error): read it as the double
    // it is closest to, like every other number that is not a 64-bit integer.
    const size_t widened = widened_.size();
    widened_.resize(widened + simdjson::SIMDJSON_PADDING);
    if (!parser_.parse(reinterpret_cast<const uint8_t*>(widened_.data()), widened, false)
             .get(root)) {
      err = simdjson::SUCCESS;
    }
  }
  if (err) {
    *error = simdjson::error_message(err);
    return false;
  }
  dom::object object;
  if (root.get_object().get(object)) {
    *error = "the line is not a JSON object";
    return false;
  }
  walkObject(object, visitor);
  return true;
}

bool JsonlParser::widenBigIntegers(const char* line, size_t len) {
  widened_.clear();
  bool changed = false;
  bool in_string = false;
  size_t i = 0;
  while (i < len) {
    const char c = line[i];
    if (in_string) {
      widened_.push_back(c);
      if (c == '\\' && i + 1 < len) {
        widened_.push_back(line[++i]);
      } else if (c == '"') {
        in_string = false;
      }
      ++i;
      continue;
    }
    if (c == '"') {
      in_string = true;
      widened_.push_back(c);
      ++i;
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
      // A number token: digits, sign, fraction, exponent.
      size_t end = i + 1;
      size_t digits = c == '-' ? 0 : 1;
      bool integer = true;
      while (end < len) {
        const char d = line[end];
        if (d >= '0' && d <= '9') {
          ++digits;
        } else if (d == '.' || d == 'e' || d == 'E' || d == '+' || d == '-') {
          integer = false;
        } else {
          break;
        }
        ++end;
      }
      widened_.append(line + i, end - i);
      // 20 digits and more may not fit 64 bits (2^64 has 20): written as a fraction, it is
      // parsed as a double.
      if (integer && digits >= 20) {
        widened_.append(".0");
        changed = true;
      }
      i = end;
      continue;
    }
    widened_.push_back(c);
    ++i;
  }
  return changed;
}

void JsonlParser::walkObject(dom::object object, FieldVisitor& visitor) {
  const size_t base = path_.size();
  bool empty = true;
  for (dom::key_value_pair field : object) {
    empty = false;
    path_.resize(base);
    if (base != 0) path_ += '.';
    path_ += field.key;
    walkValue(field.value, visitor);
  }
  path_.resize(base);
  if (empty && base != 0) visitor.onJson(path_, "{}");
}

void JsonlParser::walkValue(dom::element value, FieldVisitor& visitor) {
  switch (value.type()) {
    case dom::element_type::OBJECT:
      walkObject(dom::object(value), visitor);
      return;
    case dom::element_type::ARRAY:
      json_ = simdjson::minify(value);
      visitor.onJson(path_, json_);
      return;
    case dom::element_type::STRING:
      visitor.onString(path_, std::string_view(value));
      return;
    case dom::element_type::INT64:
      visitor.onInt(path_, int64_t(value));
      return;
    case dom::element_type::UINT64:  // above INT64_MAX
      visitor.onDouble(path_, static_cast<double>(uint64_t(value)));
      return;
    case dom::element_type::DOUBLE:
      visitor.onDouble(path_, double(value));
      return;
    case dom::element_type::BOOL:
      visitor.onBool(path_, bool(value));
      return;
    case dom::element_type::NULL_VALUE:
      visitor.onNull(path_);
      return;
  }
}

}  // namespace omniloop::files
