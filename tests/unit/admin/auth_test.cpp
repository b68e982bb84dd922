#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "admin/auth.h"

using namespace omniloop::admin;
namespace fs = std::filesystem;

namespace {

std::string writeTemp(const std::string& name, const std::string& text, mode_t mode) {
  const fs::path dir = fs::temp_directory_path() / ("omniloop-auth-" + std::to_string(getpid()));
  fs::create_directories(dir);
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  chmod(path.c_str(), mode);
  return path;
}

}  // namespace

TEST(ConstantTimeEquals, EqualOnlyForIdenticalBytes) {
  EXPECT_TRUE(constantTimeEquals("s3cret-token", "s3cret-token"));
  EXPECT_FALSE(constantTimeEquals("s3cret-token", "s3cret-tokeN"));
  EXPECT_FALSE(constantTimeEquals("s3cret-token", "s3cret-token2"));
  EXPECT_FALSE(constantTimeEquals("s3cret-token", "s3cret"));
  EXPECT_FALSE(constantTimeEquals("s3cret-token", ""));
  EXPECT_FALSE(constantTimeEquals("", "x"));
  EXPECT_TRUE(constantTimeEquals("", ""));
  // Same prefix then a NUL: still different.
  EXPECT_FALSE(constantTimeEquals(std::string_view("ab\0", 3), "ab"));
}

TEST(BearerToken, ParsesTheSchemeCaseInsensitivelyAndTrims) {
  EXPECT_EQ(bearerToken("Bearer abc").value_or(""), "abc");
  EXPECT_EQ(bearerToken("bearer abc").value_or(""), "abc");
  EXPECT_EQ(bearerToken("BEARER   abc  ").value_or(""), "abc");
  EXPECT_FALSE(bearerToken("Basic YWxhZGRpbjpvcGVuc2VzYW1l"));
  EXPECT_FALSE(bearerToken("Bearer"));
  EXPECT_FALSE(bearerToken("Bearer    "));
  EXPECT_FALSE(bearerToken("Bearerabc"));
  EXPECT_FALSE(bearerToken(""));
}

TEST(LoadTokenFile, TrimsWhitespaceAndWarnsWhenEveryoneCanRead) {
  std::string warning;
  const std::string tight = writeTemp("tight", "  tok-123\n", 0600);
  EXPECT_EQ(loadTokenFile(tight, &warning), "tok-123");
  EXPECT_TRUE(warning.empty()) << warning;

  const std::string group = writeTemp("group", "tok-789\n", 0640);
  EXPECT_EQ(loadTokenFile(group, &warning), "tok-789");
  EXPECT_TRUE(warning.empty()) << warning;

  const std::string loose = writeTemp("loose", "tok-456\n", 0644);
  EXPECT_EQ(loadTokenFile(loose, &warning), "tok-456");
  EXPECT_NE(warning.find("every user"), std::string::npos) << warning;
}

TEST(LoadTokenFile, RefusesMissingEmptyAndMultiWordFiles) {
  const std::string empty = writeTemp("empty", " \n", 0600);
  const std::string spaced = writeTemp("spaced", "two words\n", 0600);
  const std::string huge = writeTemp("huge", std::string(5000, 'x'), 0600);
  auto message = [](const std::string& path) {
    try {
      loadTokenFile(path);
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(message(empty).find("empty"), std::string::npos);
  EXPECT_NE(message(spaced).find("space"), std::string::npos);
  EXPECT_NE(message(huge).find("4 KiB"), std::string::npos);
  const std::string missing = message("/nonexistent/omniloop/token");
  EXPECT_NE(missing.find("/nonexistent/omniloop/token"), std::string::npos);
  EXPECT_NE(missing.find("No such file"), std::string::npos) << missing;
}
