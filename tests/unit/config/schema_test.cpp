// The JSON Schema subset evaluated on YAML nodes, the typed JSON output and name suggestions.
#include <gtest/gtest.h>

#include "config/loader.h"
#include "config/schemas.h"
#include "config/suggest.h"

namespace omniloop::config {
namespace {

std::vector<Diagnostic> check(const std::string& schema, const std::string& yaml,
                              const std::string& path = "x") {
  std::vector<Diagnostic> out;
  Schema::parse(schema).validate(YAML::Load(yaml), "t.yaml", path, Mark{"t.yaml", 1, 1}, out);
  return out;
}

std::string messages(const std::vector<Diagnostic>& diags) {
  std::string out;
  for (const Diagnostic& d : diags) out += d.message + "\n";
  return out;
}

TEST(Schema, ScalarTypesFollowPlainYamlReadings) {
  EXPECT_TRUE(check(R"({"type":"integer"})", "42").empty());
  EXPECT_TRUE(check(R"({"type":"integer"})", "-7").empty());
  EXPECT_EQ(check(R"({"type":"integer"})", "4.5").size(), 1u);
  EXPECT_EQ(check(R"({"type":"integer"})", "'42'").size(), 1u);  // quoted: text
  EXPECT_TRUE(check(R"({"type":"number"})", "-1.5e3").empty());
  EXPECT_TRUE(check(R"({"type":"number"})", "3").empty());
  EXPECT_EQ(check(R"({"type":"number"})", "1.2.3").size(), 1u);
  EXPECT_TRUE(check(R"({"type":"boolean"})", "false").empty());
  EXPECT_EQ(check(R"({"type":"boolean"})", "\"true\"").size(), 1u);
  EXPECT_TRUE(check(R"({"type":"null"})", "~").empty());
  EXPECT_TRUE(check(R"({"type":"string"})", "12").empty());  // any scalar is text
  EXPECT_TRUE(check(R"({"type":["string","array"]})", "[a]").empty());
  const auto diags = check(R"({"type":["string","array"]})", "{a: 1}");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x' must be text or a list, not a map");
}

TEST(Schema, EnumSuggestsTheClosestValue) {
  const auto diags = check(R"({"enum":["trace","debug","info"]})", "inf", "log.level");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'log.level' must be one of trace, debug, info, not \"inf\"");
  EXPECT_EQ(diags[0].hint, "did you mean 'info'?");
  EXPECT_TRUE(check(R"({"enum":["a", 1]})", "1").empty());
}

TEST(Schema, ConstComparesTypedValues) {
  EXPECT_TRUE(check(R"({"const":1})", "1").empty());
  EXPECT_EQ(check(R"({"const":1})", "'1'").size(), 1u);
  EXPECT_TRUE(check(R"({"const":"drop"})", "drop").empty());
}

TEST(Schema, StringRulesCountCharactersAndSearchPatterns) {
  EXPECT_TRUE(check(R"({"minLength":2,"maxLength":2})", "\"é!\"").empty());
  EXPECT_EQ(messages(check(R"({"minLength":1})", "''")), "'x' must not be empty\n");
  EXPECT_EQ(messages(check(R"({"minLength":3})", "ab")),
            "'x' must be at least 3 characters long\n");
  const auto diags = check(R"({"pattern":"^[a-z]+$","description":"lower-case letters"})", "Abc");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x' \"Abc\" does not match the pattern ^[a-z]+$");
  EXPECT_EQ(diags[0].hint, "lower-case letters");
  EXPECT_TRUE(check(R"({"pattern":"b"})", "abc").empty());  // searched, not anchored
}

TEST(Schema, SecretValuesAreNeverEchoed) {
  const auto diags = check(R"({"type":"string","pattern":"^.{12,}$","writeOnly":true})", "hunter2");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message.find("hunter2"), std::string::npos);
  EXPECT_NE(diags[0].message.find("[secret]"), std::string::npos);
}

TEST(Schema, ArraysCheckItemsAndCounts) {
  const std::string schema = R"({"type":"array","minItems":2,"items":{"type":"integer"}})";
  EXPECT_TRUE(check(schema, "[1, 2]").empty());
  auto diags = check(schema, "[1]");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x' needs at least 2 items");
  diags = check(schema, "- 1\n- two\n- 3\n");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x[2]' must be an integer, not \"two\"");
  EXPECT_EQ(diags[0].mark.line, 2);
  EXPECT_EQ(diags[0].mark.column, 3);
}

TEST(Schema, AdditionalPropertiesSchemaChecksEveryOtherKey) {
  const std::string schema = R"({"type":"object","properties":{"a":{"type":"string"}},
                                  "additionalProperties":{"type":"integer"}})";
  EXPECT_TRUE(check(schema, "{a: x, b: 1, c: 2}").empty());
  const auto diags = check(schema, "{a: x, b: y}");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x.b' must be an integer, not \"y\"");
}

TEST(Schema, UnknownKeysCollectedAllAtOnce) {
  const std::string schema = R"({"type":"object","additionalProperties":false,
                                  "properties":{"path":{},"header":{}}})";
  const auto diags = check(schema, "paht: a\nheadr: true\nzzz: 1\n", "");
  ASSERT_EQ(diags.size(), 3u);
  EXPECT_EQ(diags[0].message, "unknown key 'paht'");
  EXPECT_EQ(diags[0].hint, "did you mean 'path'?");
  EXPECT_EQ(diags[1].hint, "did you mean 'header'?");
  EXPECT_EQ(diags[2].hint, "known keys: path, header");
  EXPECT_EQ(diags[2].mark.line, 3);
}

TEST(Schema, PropertyCountsAreBounded) {
  const std::string schema = R"({"type":"object","minProperties":1,"maxProperties":1})";
  EXPECT_TRUE(check(schema, "{a: 1}").empty());
  auto diags = check(schema, "{}");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x' needs at least 1 key");
  diags = check(schema, "{a: 1, b: 2}");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x' takes at most 1 key, not 2");
  EXPECT_EQ(diags[0].hint, "write one key per list item");
}

TEST(Schema, ExclusiveBoundsExcludeTheBound) {
  EXPECT_TRUE(check(R"({"exclusiveMinimum":0})", "0.5").empty());
  const auto diags = check(R"({"exclusiveMinimum":0})", "0");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x' must be greater than 0, not 0");
}

TEST(Schema, RefResolvesDefs) {
  const std::string schema = R"({"$defs":{"port":{"type":"integer","maximum":65535}},
                                  "type":"object","properties":{"port":{"$ref":"#/$defs/port"}}})";
  EXPECT_TRUE(check(schema, "port: 8080").empty());
  const auto diags = check(schema, "port: 70000");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x.port' must be at most 65535, not 70000");
  EXPECT_EQ(check(R"({"$ref":"#/$defs/missing"})", "1").size(), 1u);
  // A schema whose $ref loops is reported, not followed forever.
  EXPECT_EQ(check(R"({"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})", "1").size(), 1u);
}

TEST(Schema, OneOfReportsTheBranchThatFitsBest) {
  const std::string schema = R"({"oneOf":[
      {"type":"string"},
      {"type":"object","required":["a"],"additionalProperties":false,
       "properties":{"a":{"type":"integer"},"b":{"type":"string"}}}]})";
  EXPECT_TRUE(check(schema, "text").empty());
  EXPECT_TRUE(check(schema, "{a: 1}").empty());
  // The map branch fits the kind of value: its errors are the ones shown.
  auto diags = check(schema, "{a: one, c: 2}");
  ASSERT_EQ(diags.size(), 2u) << messages(diags);
  EXPECT_EQ(diags[0].message, "'x.a' must be an integer, not \"one\"");
  EXPECT_EQ(diags[1].message, "unknown key 'c' in 'x'");
  // No branch takes a list: say which kinds would do.
  diags = check(schema, "[1]");
  ASSERT_EQ(diags.size(), 1u);
  EXPECT_EQ(diags[0].message, "'x' must be text or a map, not a list");
}

TEST(Schema, OneOfRejectsAValueMatchingTwoBranches) {
  EXPECT_EQ(check(R"({"oneOf":[{"type":"integer"},{"type":"number"}]})", "1").size(), 1u);
  EXPECT_TRUE(check(R"({"anyOf":[{"type":"integer"},{"type":"number"}]})", "1").empty());
  EXPECT_EQ(check(R"({"anyOf":[{"type":"integer"},{"minLength":3}]})", "ab").size(), 1u);
}

TEST(Schema, EmptySchemaAcceptsAnythingAndBadJsonThrows) {
  EXPECT_TRUE(Schema::parse("").acceptsAnything());
  EXPECT_TRUE(Schema::parse("{}").acceptsAnything());
  EXPECT_FALSE(Schema::parse(R"({"type":"string"})").acceptsAnything());
  EXPECT_TRUE(check("", "{any: [thing]}").empty());
  EXPECT_THROW(Schema::parse("{ nope"), std::invalid_argument);
  EXPECT_THROW(Schema::parse("[1]"), std::invalid_argument);
}

TEST(Schema, ToJsonTypesScalarsAsTheSchemaSays) {
  const Schema s = Schema::parse(R"({"type":"object","properties":{
      "port":{"type":"integer"}, "zip":{"type":"string"}, "ratio":{"type":"number"},
      "on":{"type":"boolean"}, "tags":{"type":"array","items":{"type":"string"}},
      "mode":{"enum":["a","b"]}, "any":{}}})");
  EXPECT_EQ(s.toJson(YAML::Load("{port: 8080, zip: 01234, ratio: 2, on: true, tags: [1, true],"
                                " mode: a, any: 7, extra: 'x\"y'}")),
            R"({"port":8080,"zip":"01234","ratio":2,"on":true,"tags":["1","true"],"mode":"a",)"
            R"("any":7,"extra":"x\"y"})");
}

TEST(Schema, ToJsonFollowsRefsAndAlternatives) {
  const Schema s = Schema::parse(R"({"$defs":{"n":{"type":"integer"}},
      "type":"object","properties":{"v":{"oneOf":[{"type":"array"},{"$ref":"#/$defs/n"}]}}})");
  EXPECT_EQ(s.toJson(YAML::Load("v: 5")), R"({"v":5})");
}

TEST(YamlToJson, GuessesPlainScalarsAndKeepsQuotedText) {
  EXPECT_EQ(
      yamlToJson(YAML::Load("{a: 1, b: -2.5, c: true, d: ~, e: '1', f: hello, g: [x, 0x1F]}")),
      R"({"a":1,"b":-2.5,"c":true,"d":null,"e":"1","f":"hello","g":["x","0x1F"]})");
  EXPECT_EQ(yamlToJson(YAML::Load("text: |\n  line\n")), R"({"text":"line\n"})");
}

TEST(EmbeddedSchemas, PipelineAndDaemonSchemasAreBuiltIn) {
  EXPECT_NO_THROW(Schema::parse(embeddedSchema("pipeline.schema.json")));
  EXPECT_NO_THROW(Schema::parse(embeddedSchema("omniloop.schema.json")));
  EXPECT_NE(embeddedSchema("pipeline.schema.json").find("\"$defs\""), std::string_view::npos);
  EXPECT_THROW(embeddedSchema("nope.json"), std::out_of_range);
}

TEST(ClosestMatch, SuggestsNearbyNamesOnly) {
  const std::vector<std::string> keys = {"version", "name", "source", "path", "delimiter"};
  EXPECT_EQ(closestMatch("pth", keys), "path");
  EXPECT_EQ(closestMatch("nmae", keys), "name");      // a transposition is one edit
  EXPECT_EQ(closestMatch("Source", keys), "source");  // case is ignored
  EXPECT_EQ(closestMatch("delimitter", keys), "delimiter");
  EXPECT_EQ(closestMatch("verison", keys), "version");
  EXPECT_EQ(closestMatch("xyz", keys), "");
  EXPECT_EQ(closestMatch("id", {"to"}), "");  // as many edits as letters
  EXPECT_EQ(closestMatch("anything", {}), "");
  EXPECT_EQ(closestMatch("bat", {"bar", "baz"}), "bar");  // ties: first candidate
}

TEST(ClosestMatch, EditDistanceCountsInsertionsDeletionsSubstitutions) {
  EXPECT_EQ(editDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(editDistance("", "abc"), 3u);
  EXPECT_EQ(editDistance("ab", "ba"), 1u);
  EXPECT_EQ(editDistance("same", "same"), 0u);
}

}  // namespace
}  // namespace omniloop::config
