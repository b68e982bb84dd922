#include "jsonl_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace omniloop::files {
namespace {

// Records every visited field as "path=type:value".
class Recorder : public FieldVisitor {
 public:
  void onString(std::string_view p, std::string_view v) override {
    fields.push_back(std::string(p) + "=s:" + std::string(v));
  }
  void onInt(std::string_view p, int64_t v) override {
    fields.push_back(std::string(p) + "=i:" + std::to_string(v));
  }
  void onDouble(std::string_view p, double v) override {
    fields.push_back(std::string(p) + "=d:" + std::to_string(v));
  }
  void onBool(std::string_view p, bool v) override {
    fields.push_back(std::string(p) + "=b:" + (v ? "true" : "false"));
  }
  void onNull(std::string_view p) override { fields.push_back(std::string(p) + "=null"); }
  void onJson(std::string_view p, std::string_view raw) override {
    fields.push_back(std::string(p) + "=j:" + std::string(raw));
  }
  std::vector<std::string> fields;
};

struct Parsed {
  bool ok;
  std::string error;
  std::vector<std::string> fields;
};

Parsed parse(std::string line) {
  JsonlParser parser;
  Recorder rec;
  const size_t len = line.size();
  line.append(simdjson::SIMDJSON_PADDING, ' ');
  Parsed p;
  p.ok = parser.parse(line.data(), len, line.size(), rec, &p.error);
  p.fields = rec.fields;
  return p;
}

TEST(JsonlParser, FlattensNestedObjectsToDottedPaths) {
  const Parsed p = parse(R"({"id":7,"customer":{"email":"a@example.com","address":{"zip":"10115"}},"total":12.5})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.fields, (std::vector<std::string>{"id=i:7", "customer.email=s:a@example.com",
                                                "customer.address.zip=s:10115",
                                                "total=d:12.500000"}));
}

TEST(JsonlParser, KeepsArraysWholeAsMinifiedJson) {
  const Parsed p = parse(R"({"tags": ["a", {"b": [1, 2]}] , "n": [ ], "last":[true]})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.fields, (std::vector<std::string>{R"(tags=j:["a",{"b":[1,2]}])", "n=j:[]",
                                                "last=j:[true]"}));
}

TEST(JsonlParser, TypesBoolsNullsEmptyObjectsAndEscapes) {
  const Parsed p = parse(R"({"a":true,"b":null,"c":{},"d":"x\"y\u00e9","e":-3,"f":1e2})");
  ASSERT_TRUE(p.ok) << p.error;
  EXPECT_EQ(p.fields, (std::vector<std::string>{"a=b:true", "b=null", "c=j:{}",
                                                "d=s:x\"y\xC3\xA9", "e=i:-3", "f=d:100.000000"}));
}

TEST(JsonlParser, IntegerAboveInt64BecomesDouble) {
  const Parsed p = parse(R"({"big":18446744073709551615})");
  ASSERT_TRUE(p.ok) << p.error;
  ASSERT_EQ(p.fields.size(), 1u);
  EXPECT_EQ(p.fields[0].substr(0, 6), "big=d:");
}

TEST(JsonlParser, RejectsTruncatedLine) {
  const Parsed p = parse(R"({"a":1,"b":)");
  EXPECT_FALSE(p.ok);
  EXPECT_FALSE(p.error.empty());
}

TEST(JsonlParser, RejectsInvalidAtomInsideArray) {
  const Parsed p = parse(R"({"a":[1, tru]})");
  EXPECT_FALSE(p.ok);
}

TEST(JsonlParser, RejectsANonObjectLine) {
  const Parsed p = parse(R"([1,2])");
  EXPECT_FALSE(p.ok);
  EXPECT_EQ(p.error, "the line is not a JSON object");
}

TEST(JsonlParser, RejectsTrailingContent) {
  EXPECT_FALSE(parse(R"({"a":1} {"b":2})").ok);
}

TEST(JsonlParser, RejectsInvalidUtf8) {
  const Parsed p = parse("{\"name\":\"caf\xE9\"}");
  EXPECT_FALSE(p.ok);
  EXPECT_NE(p.error.find("UTF-8"), std::string::npos) << p.error;
}

TEST(JsonlParser, ParserIsReusableAfterAnError) {
  JsonlParser parser;
  Recorder rec;
  std::string error;
  std::string bad = R"({"a":)" + std::string(simdjson::SIMDJSON_PADDING, ' ');
  EXPECT_FALSE(parser.parse(bad.data(), 5, bad.size(), rec, &error));
  std::string good = R"({"a":2})" + std::string(simdjson::SIMDJSON_PADDING, ' ');
  rec.fields.clear();
  EXPECT_TRUE(parser.parse(good.data(), 7, good.size(), rec, &error)) << error;
  EXPECT_EQ(rec.fields, (std::vector<std::string>{"a=i:2"}));
}

}  // namespace
}  // namespace omniloop::files
