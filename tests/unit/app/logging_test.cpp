// Logging: text and JSON lines, level filtering, the rotating file, pipeline loggers sharing the
// default output across a reload, and the rate limiter for repeated errors.
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "app/logging.h"

namespace omniloop::app {
namespace {

namespace fs = std::filesystem;

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() /
           ("omniloop-logging-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    setupLogging(config::LogConfig{}, "omniloop-test");  // release the file
    fs::remove_all(dir_);
  }

  config::LogConfig fileConfig(const std::string& level, const std::string& format,
                               const std::string& name = "omniloopd.log") {
    config::LogConfig c;
    c.level = level;
    c.format = format;
    c.file = (dir_ / name).string();
    return c;
  }

  static std::vector<std::string> readLines(const fs::path& file) {
    spdlog::default_logger()->flush();
    std::ifstream in(file);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }

  fs::path dir_;
};

struct JsonLine {
  std::string ts, level, logger, msg;
};

JsonLine parseJsonLine(const std::string& line) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  const auto error = parser.parse(line).get(doc);
  EXPECT_EQ(error, simdjson::SUCCESS) << "not JSON: " << line;
  JsonLine out;
  if (error) return out;
  EXPECT_EQ(doc.get_object().size(), 4u) << line;
  std::string_view v;
  if (!doc["ts"].get(v)) out.ts = v;
  if (!doc["level"].get(v)) out.level = v;
  if (!doc["logger"].get(v)) out.logger = v;
  if (!doc["msg"].get(v)) out.msg = v;
  return out;
}

TEST_F(LoggingTest, JsonLinesParseAndKeepQuotesNewlinesAndControlCharacters) {
  setupLogging(fileConfig("info", "json"), "omniloopd");
  const std::string tricky = "say \"hi\"\nsecond line\tand \\ backslash \x01 end \xC3\xA9";
  spdlog::info("{}", tricky);
  spdlog::warn("plain");

  const auto lines = readLines(dir_ / "omniloopd.log");
  ASSERT_EQ(lines.size(), 2u);  // the newline in the message is escaped, not written
  const JsonLine first = parseJsonLine(lines[0]);
  EXPECT_EQ(first.msg, tricky);
  EXPECT_EQ(first.level, "info");
  EXPECT_EQ(first.logger, "omniloopd");
  EXPECT_TRUE(std::regex_match(first.ts,
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << first.ts;
  EXPECT_EQ(parseJsonLine(lines[1]).level, "warning");
}

TEST_F(LoggingTest, JsonReplacesInvalidUtf8SoTheLineStaysValid) {
  setupLogging(fileConfig("info", "json"), "omniloopd");
  spdlog::info("bad \xFF byte, truncated \xE2\x82, overlong \xC0\xAF, ok \xE2\x82\xAC");
  const auto lines = readLines(dir_ / "omniloopd.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(parseJsonLine(lines[0]).msg,
            "bad \xEF\xBF\xBD byte, truncated \xEF\xBF\xBD\xEF\xBF\xBD, overlong "
            "\xEF\xBF\xBD\xEF\xBF\xBD, ok \xE2\x82\xAC");
}

TEST_F(LoggingTest, TextLinesCarryTimestampLevelAndLoggerName) {
  setupLogging(fileConfig("info", "text"), "omniloopd");
  spdlog::info("started {} pipelines", 3);
  const auto lines = readLines(dir_ / "omniloopd.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(std::regex_match(
      lines[0], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d info omniloopd: started 3 pipelines)")))
      << lines[0];
}

TEST_F(LoggingTest, LevelFilteringDropsLessSevereMessagesInEveryLogger) {
  setupLogging(fileConfig("warn", "json"), "omniloopd");
  auto pipeline = pipelineLogger("crm-contacts");
  spdlog::debug("debug default");
  spdlog::info("info default");
  pipeline->info("info pipeline");
  spdlog::warn("warn default");
  pipeline->error("error pipeline");

  const auto lines = readLines(dir_ / "omniloopd.log");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(parseJsonLine(lines[0]).msg, "warn default");
  const JsonLine second = parseJsonLine(lines[1]);
  EXPECT_EQ(second.msg, "error pipeline");
  EXPECT_EQ(second.logger, "pipeline.crm-contacts");
  EXPECT_EQ(second.level, "error");
}

TEST_F(LoggingTest, PipelineLoggersFollowAReloadOfOutputFormatAndLevel) {
  setupLogging(fileConfig("error", "text", "before.log"), "omniloopd");
  auto pipeline = pipelineLogger("pos");
  EXPECT_EQ(pipelineLogger("pos"), pipeline);  // one logger per pipeline
  pipeline->error("before reload");
  pipeline->info("filtered before reload");

  setupLogging(fileConfig("debug", "json", "after.log"), "omniloopd");
  pipeline->debug("after reload");

  const auto before = readLines(dir_ / "before.log");
  ASSERT_EQ(before.size(), 1u);
  EXPECT_NE(before[0].find("error pipeline.pos: before reload"), std::string::npos) << before[0];
  const auto after = readLines(dir_ / "after.log");
  ASSERT_EQ(after.size(), 1u);
  const JsonLine line = parseJsonLine(after[0]);
  EXPECT_EQ(line.logger, "pipeline.pos");
  EXPECT_EQ(line.level, "debug");
  EXPECT_EQ(line.msg, "after reload");
}

TEST_F(LoggingTest, FileSinkCreatesTheFileAndItsDirectoryAndRotates) {
  setupLogging(fileConfig("info", "text", "sub/dir/omniloopd.log"), "omniloopd");
  spdlog::info("first");
  ASSERT_TRUE(fs::exists(dir_ / "sub/dir/omniloopd.log"));
  EXPECT_EQ(readLines(dir_ / "sub/dir/omniloopd.log").size(), 1u);

  // 10 MiB per file: about 11 MiB of lines makes one rotation.
  const std::string filler(1024, 'x');
  for (int i = 0; i < 11 * 1024; ++i) spdlog::info("{}", filler);
  spdlog::default_logger()->flush();
  EXPECT_TRUE(fs::exists(dir_ / "sub/dir/omniloopd.1.log"));
  EXPECT_FALSE(fs::exists(dir_ / "sub/dir/omniloopd.2.log"));
  EXPECT_LE(fs::file_size(dir_ / "sub/dir/omniloopd.1.log"), 10u * 1024 * 1024);
}

TEST_F(LoggingTest, BadSettingsAreRefusedAndKeepTheCurrentOutput) {
  setupLogging(fileConfig("info", "text"), "omniloopd");
  config::LogConfig bad_level = fileConfig("loud", "text", "other.log");
  EXPECT_THROW(setupLogging(bad_level, "omniloopd"), std::invalid_argument);
  config::LogConfig bad_format = fileConfig("info", "xml", "other.log");
  EXPECT_THROW(setupLogging(bad_format, "omniloopd"), std::invalid_argument);
  fs::create_directories(dir_ / "blocked");
  std::ofstream(dir_ / "blocked" / "file") << "not a directory";
  config::LogConfig bad_file = fileConfig("info", "text", "blocked/file/omniloopd.log");
  try {
    setupLogging(bad_file, "omniloopd");
    ADD_FAILURE() << "an unopenable log file was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("log.file"), std::string::npos) << e.what();
  }

  spdlog::info("still here");
  const auto lines = readLines(dir_ / "omniloopd.log");
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("still here"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "other.log"));
}

TEST(RateLimiter, LetsTheBurstThroughThenSuppressesAndReportsTheCountAfterTheWindow) {
  RateLimiter limiter(3, std::chrono::seconds(1));
  uint64_t suppressed = 99;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter.allow("pipeline crm: store error", suppressed)) << i;
    EXPECT_EQ(suppressed, 0u);
  }
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(limiter.allow("pipeline crm: store error", suppressed)) << i;
  }
  // Keys are independent.
  EXPECT_TRUE(limiter.allow("pipeline pos: store error", suppressed));
  EXPECT_EQ(suppressed, 0u);

  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(limiter.allow("pipeline crm: store error", suppressed));
  EXPECT_EQ(suppressed, 4u);  // reported once, with the first message let through
  EXPECT_TRUE(limiter.allow("pipeline crm: store error", suppressed));
  EXPECT_EQ(suppressed, 0u);
}

TEST(RateLimiter, ManyDistinctKeysDoNotLoseCountsOfRecentOnes) {
  RateLimiter limiter(1, std::chrono::seconds(60));
  uint64_t suppressed = 0;
  ASSERT_TRUE(limiter.allow("hot", suppressed));
  EXPECT_FALSE(limiter.allow("hot", suppressed));
  for (int i = 0; i < 10000; ++i) limiter.allow("key " + std::to_string(i), suppressed);
  EXPECT_FALSE(limiter.allow("hot", suppressed));  // still inside its window, still limited
}

}  // namespace
}  // namespace omniloop::app
