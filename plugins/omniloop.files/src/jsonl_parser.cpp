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
