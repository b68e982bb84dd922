// Configuration of every component: one valid, one empty, one rejection per rule.
#include <gtest/gtest.h>

#include <string>

#include "files_test_host.h"

namespace filestest {
namespace {

struct Rejection {
  ol_component_kind kind;
  const char* type;
  std::string extra;      // JSON members added to {"path": ...}
  const char* expected;   // part of the error message
};

std::string withPath(const std::string& path, const std::string& extra) {
  return "{\"path\":" + jsonQuote(path) + (extra.empty() ? "" : "," + extra) + "}";
}

TEST(FilesConfig, ValidConfigurationsCreateInstances) {
  const std::string dir = scratchDir("config_valid");
  writeFile(dir + "/a.csv", "x\n1\n");
  writeFile(dir + "/a.jsonl", "{}\n");
  EXPECT_TRUE(Instance(OL_SOURCE, "file.csv",
                       withPath(dir + "/a.csv", R"("delimiter":"tab","encoding":"latin-1",)"
                                                R"("short_rows":"dead_letter","follow":true,)"
                                                R"("rename":{"x":"y"},"max_record_bytes":4096)"))
                  .ok());
  EXPECT_TRUE(Instance(OL_SOURCE, "file.jsonl",
                       withPath(dir + "/a.jsonl", R"("time_field":"t","time_format":"unix",)"
                                                  R"("key_field":"id","type":"x","channel":"y")"))
                  .ok());
  // A host that fills in the schema's defaults passes time_format without time_field.
  EXPECT_TRUE(Instance(OL_SOURCE, "file.jsonl",
                       withPath(dir + "/a.jsonl", R"("time_format":"iso8601")")).ok());
  EXPECT_TRUE(Instance(OL_SINK, "file.jsonl", withPath(dir + "/out.jsonl", "")).ok());
}

TEST(FilesConfig, EmptyConfigurationNamesTheMissingPath) {
  for (const auto& [kind, type] : {std::pair{OL_SOURCE, "file.csv"},
                                   std::pair{OL_SOURCE, "file.jsonl"},
                                   std::pair{OL_SINK, "file.jsonl"}}) {
    Instance inst(kind, type, "{}");
    EXPECT_FALSE(inst.ok()) << type;
    EXPECT_NE(inst.createError().find("'path' is required"), std::string::npos)
        << type << ": " << inst.createError();
  }
}

TEST(FilesConfig, EveryRuleHasItsOwnMessage) {
  const std::string dir = scratchDir("config_rules");
  writeFile(dir + "/a.csv", "x\n1\n");
  writeFile(dir + "/a.jsonl", "{}\n");
  const Rejection cases[] = {
      {OL_SOURCE, "file.csv", R"("delimiter":"\"")", "'delimiter' must be one character"},
      {OL_SOURCE, "file.csv", R"("delimiter":";;")", "'delimiter' must be one character"},
      {OL_SOURCE, "file.csv", R"("encoding":"utf-16")", "'encoding' must be utf-8 or latin-1"},
      {OL_SOURCE, "file.csv", R"("short_rows":"drop")", "'short_rows' must be pad or dead_letter"},
      {OL_SOURCE, "file.csv", R"("header":false)", "'columns' is required"},
      {OL_SOURCE, "file.csv", R"("header":false,"columns":["a","a"])", "names 'a' twice"},
      {OL_SOURCE, "file.csv", R"("header":false,"columns":["a"],"key_field":"b")",
       "key_field 'b' is not one of 'columns'"},
      {OL_SOURCE, "file.csv", R"("header":false,"columns":["a"],"rename":{"a":"b"})",
       "'rename' applies to header labels"},
      {OL_SOURCE, "file.csv", R"("columns":["a"])", "use rename"},
      {OL_SOURCE, "file.csv", R"("rename":{"a":1})", "must be a string"},
      {OL_SOURCE, "file.csv", R"("max_record_bytes":0)", "at least 1"},
      {OL_SOURCE, "file.jsonl", R"("time_field":"t","time_format":"rfc2822")",
       "'time_format' must be iso8601, unix or unix_ms"},
  };
  for (const Rejection& c : cases) {
    const std::string path = dir + (std::string(c.type) == "file.csv" ? "/a.csv" : "/a.jsonl");
    Instance inst(c.kind, c.type, withPath(path, c.extra));
    EXPECT_FALSE(inst.ok()) << c.extra;
    EXPECT_NE(inst.createError().find(c.expected), std::string::npos)
        << c.extra << " -> " << inst.createError();
  }
  Instance empty_path(OL_SOURCE, "file.jsonl", R"({"path":""})");
  EXPECT_NE(empty_path.createError().find("'path' must not be empty"), std::string::npos)
      << empty_path.createError();
}

}  // namespace
}  // namespace filestest
