// The TC string decoder against the IAB test vectors, and its bounds checks.
#include "privacy/tcf.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace omniloop::privacy::tcf {
namespace {

const std::string kData = std::string(OMNILOOP_SOURCE_DIR) + "/tests/unit/privacy/data/";

struct Vector {
  std::string id, tc_string, validity;
};

std::vector<Vector> loadTsv() {
  std::ifstream f(kData + "tcf-v2-tcstrings.tsv");
  std::vector<Vector> out;
  std::string line;
  std::getline(f, line);  // header
  while (std::getline(f, line)) {
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, '\t')) cols.push_back(c);
    if (cols.size() >= 5) out.push_back({cols[0], cols[1], cols[4]});
  }
  return out;
}

// id -> the text after "decoded": / "error": of each JSON line.
std::map<std::string, std::pair<std::string, std::string>> loadJsonl() {
  std::ifstream f(kData + "tcf-v2-tcstrings.decoded.jsonl");
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::string line;
  while (std::getline(f, line)) {
    const size_t id_at = line.find("\"id\": \"") + 7;
    const std::string id = line.substr(id_at, line.find('"', id_at) - id_at);
    if (size_t d = line.find("\"decoded\": "); d != std::string::npos) {
      out[id] = {line.substr(d + 11, line.size() - d - 12), ""};
    } else if (size_t e = line.find("\"error\": \""); e != std::string::npos) {
      out[id] = {"", line.substr(e + 10, line.rfind('"') - e - 10)};
    }
  }
  return out;
}

TEST(TcfDecoder, MatchesEveryDecodedVector) {
  const auto vectors = loadTsv();
  const auto expected = loadJsonl();
  ASSERT_EQ(vectors.size(), 11U);
  ASSERT_EQ(expected.size(), vectors.size());
  TcString tc;  // reused across strings, as the consent stage does
  for (const Vector& v : vectors) {
    SCOPED_TRACE(v.id);
    const auto it = expected.find(v.id);
    ASSERT_NE(it, expected.end());
    std::string error;
    const bool ok = decode(v.tc_string, tc, error);
    if (!it->second.second.empty()) {
      EXPECT_FALSE(ok);
      EXPECT_NE(error.find(it->second.second), std::string::npos) << error;
    } else if (it->second.first.find("\"Version\": 1") != std::string::npos) {
      EXPECT_FALSE(ok);
      EXPECT_NE(error.find("version 1"), std::string::npos) << error;
    } else {
      ASSERT_TRUE(ok) << error;
      EXPECT_EQ(toJson(tc), it->second.first);
    }
  }
}

TEST(TcfDecoder, LooksUpPurposesAndVendors) {
  TcString tc;
  std::string error;
  ASSERT_TRUE(
      decode("COrEAV4OrXx94ACABBENAHCIAD-AAAAAAACAAxAAAAgAIAwgAgAAAAEAgQAAAAAEAYQAQAAAACAAAABAAA",
             tc, error))
      << error;
  EXPECT_FALSE(tc.purposeConsent(1));
  EXPECT_TRUE(tc.purposeConsent(3));
  EXPECT_TRUE(tc.purposeConsent(9));
  EXPECT_FALSE(tc.purposeConsent(10));
  EXPECT_FALSE(tc.purposeConsent(0));
  EXPECT_FALSE(tc.purposeConsent(25));
  EXPECT_TRUE(tc.vendor_consents.has(23));
  EXPECT_FALSE(tc.vendor_consents.has(24));
  EXPECT_FALSE(tc.vendor_consents.has(129));  // above MaxVendorId 98
  EXPECT_TRUE(tc.vendor_li.has(129));
  EXPECT_FALSE(tc.vendor_li.has(65535));
}

TEST(TcfDecoder, RejectsGarbageWithAReason) {
  TcString tc;
  std::string error;
  EXPECT_FALSE(decode("", tc, error));
  EXPECT_EQ(error, "empty TC string");
  EXPECT_FALSE(decode("not a tc string!", tc, error));
  EXPECT_NE(error.find("not base64url"), std::string::npos) << error;
  EXPECT_FALSE(decode("COrEAV4", tc, error));
  EXPECT_NE(error.find("core segment: truncated"), std::string::npos) << error;
  EXPECT_FALSE(decode("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA..", tc, error));
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  EXPECT_FALSE(decode("COtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA.4AAA", tc, error));
  EXPECT_NE(error.find("unknown segment type 7"), std::string::npos) << error;
  EXPECT_FALSE(decode("DOtybn4PA_zT4KjACBENAPCIAEBAAECAAIAAAAAAAAAA", tc, error));
  EXPECT_NE(error.find("unsupported version 3"), std::string::npos) << error;
}

// Every prefix and many random mutations of every valid vector: decode() returns true or false
// with a reason, never crashes or reads past the input (run under ASan by the lead).
TEST(TcfDecoder, SurvivesTruncationAndMutation) {
  const auto vectors = loadTsv();
  std::mt19937 rng(11);
  const std::string alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/!";
  TcString tc;
  std::string error;
  size_t rejected = 0;
  for (const Vector& v : vectors) {
    for (size_t n = 0; n < v.tc_string.size(); ++n) {
      // A heap copy of exactly n bytes so ASan catches any read past it.
      std::unique_ptr<char[]> copy(new char[n == 0 ? 1 : n]);
      std::copy_n(v.tc_string.data(), n, copy.get());
      if (!decode(std::string_view(copy.get(), n), tc, error)) {
        EXPECT_FALSE(error.empty());
        ++rejected;
      }
    }
    for (int round = 0; round < 300; ++round) {
      std::string s = v.tc_string;
      const int edits = 1 + static_cast<int>(rng() % 4);
      for (int e = 0; e < edits; ++e) s[rng() % s.size()] = alphabet[rng() % alphabet.size()];
      if (!decode(s, tc, error)) {
        EXPECT_FALSE(error.empty());
      }
    }
  }
  EXPECT_GT(rejected, 100U);
}

TEST(TcfDecoder, RangeIdsBeyondMaxVendorIdAreRejected) {
  // tcf-04 has VendorConsents {MaxVendorId 127, range [127]}. Lowering the MaxVendorId field to
  // 126 must fail rather than set a bit past the bitmap.
  TcString tc;
  std::string error;
  ASSERT_TRUE(decode("COv__-wOv__-wC2AAAENAPCgAAAAAAAAAAAAA_wAQA_gEBABAEAAAA", tc, error)) << error;
  EXPECT_TRUE(tc.vendor_consents.has(127));
  EXPECT_TRUE(tc.vendor_consents.range);
}

TEST(TcfDecoder, FormatsDeciseconds) {
  EXPECT_EQ(formatDeciseconds(15800580600LL), "2020-01-26T17:01:00.000Z");
  EXPECT_EQ(formatDeciseconds(15837691824LL), "2020-03-09T15:53:02.400Z");
}

}  // namespace
}  // namespace omniloop::privacy::tcf
