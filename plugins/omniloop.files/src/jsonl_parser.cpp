#include "jsonl_parser.h"

#include <limits>

namespace omniloop::files {

namespace ond = simdjson::ondemand;
using simdjson::error_code;
using simdjson::SUCCESS;

bool JsonlParser::parse(const char* line, size_t len, size_t capacity, FieldVisitor& visitor,
                        std::string* error) {
  path_.clear();
  error_code err = parser_.iterate(line, len, capacity).get(doc_);
  ond::object root;
  if (!err) {
    ond::json_type type;
    err = doc_.type().get(type);
    if (!err && type != ond::json_type::object) {
      *error = "the line is not a JSON object";
      return false;
    }
  }
  if (!err) err = doc_.get_object().get(root);
  if (!err) err = walkObject(root, visitor);
  const char* rest = nullptr;
  if (!err && doc_.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) {
    *error = "unexpected content after the JSON object";
    return false;
  }
  if (err) {
    *error = simdjson::error_message(err);
    return false;
  }
  return true;
}

error_code JsonlParser::walkObject(ond::object object, FieldVisitor& visitor) {
  const size_t base = path_.size();
  bool empty = true;
  for (auto field : object) {
    empty = false;
    std::string_view key;
    if (error_code err = field.unescaped_key().get(key)) return err;
    path_.resize(base);
    if (base != 0) path_ += '.';
    path_ += key;
    if (error_code err = walkValue(field.value(), visitor)) return err;
  }
  path_.resize(base);
  if (empty && base != 0) visitor.onJson(path_, "{}");
  return SUCCESS;
}

error_code JsonlParser::walkValue(ond::value value, FieldVisitor& visitor) {
  ond::json_type type;
  if (error_code err = value.type().get(type)) return err;
  switch (type) {
    case ond::json_type::object: {
      ond::object object;
      if (error_code err = value.get_object().get(object)) return err;
      return walkObject(object, visitor);
    }
    case ond::json_type::array: {
      // Walk the array to validate all of it, then hand over its raw text.
      const char* start = value.raw_json_token().data();
      if (error_code err = validate(value)) return err;
      const char* next = nullptr;
      if (error_code err = doc_.current_location().get(next)) return err;
      const char* end = next;
      while (end > start && end[-1] != ']') --end;
      visitor.onJson(path_, std::string_view(start, static_cast<size_t>(end - start)));
      return SUCCESS;
    }
    case ond::json_type::string: {
      std::string_view s;
      if (error_code err = value.get_string().get(s)) return err;
      visitor.onString(path_, s);
      return SUCCESS;
    }
    case ond::json_type::number: {
      ond::number number;
      if (error_code err = value.get_number().get(number)) return err;
      switch (number.get_number_type()) {
        case ond::number_type::signed_integer:
          visitor.onInt(path_, number.get_int64());
          break;
        case ond::number_type::unsigned_integer:  // above INT64_MAX
          visitor.onDouble(path_, static_cast<double>(number.get_uint64()));
          break;
        default:
          visitor.onDouble(path_, number.get_double());
          break;
      }
      return SUCCESS;
    }
    case ond::json_type::boolean: {
      bool b = false;
      if (error_code err = value.get_bool().get(b)) return err;
      visitor.onBool(path_, b);
      return SUCCESS;
    }
    case ond::json_type::null: {
      bool is_null = false;
      if (error_code err = value.is_null().get(is_null)) return err;
      if (!is_null) return simdjson::N_ATOM_ERROR;
      visitor.onNull(path_);
      return SUCCESS;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

error_code JsonlParser::validate(ond::value value) {
  ond::json_type type;
  if (error_code err = value.type().get(type)) return err;
  switch (type) {
    case ond::json_type::array: {
      ond::array array;
      if (error_code err = value.get_array().get(array)) return err;
      for (auto element : array) {
        ond::value v;
        if (error_code err = element.get(v)) return err;
        if (error_code err = validate(v)) return err;
      }
      return SUCCESS;
    }
    case ond::json_type::object: {
      ond::object object;
      if (error_code err = value.get_object().get(object)) return err;
      for (auto field : object) {
        std::string_view key;
        if (error_code err = field.unescaped_key().get(key)) return err;
        if (error_code err = validate(field.value())) return err;
      }
      return SUCCESS;
    }
    case ond::json_type::string: {
      std::string_view s;
      return value.get_string().get(s);
    }
    case ond::json_type::number: {
      ond::number number;
      return value.get_number().get(number);
    }
    case ond::json_type::boolean: {
      bool b = false;
      return value.get_bool().get(b);
    }
    case ond::json_type::null: {
      bool is_null = false;
      if (error_code err = value.is_null().get(is_null)) return err;
      return is_null ? SUCCESS : simdjson::N_ATOM_ERROR;
    }
  }
  return simdjson::INCORRECT_TYPE;
}

}  // namespace omniloop::files
