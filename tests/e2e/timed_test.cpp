// The README's promise, timed: the quickstart fills its store in under ten seconds. It runs in
// the Release leg only (ctest label `release`): under the sanitizers the time means nothing.
#include <gtest/gtest.h>

#include <chrono>

#include "command.h"

using namespace omniloop::testing;

namespace {

const std::string kQuickstart = sourceDir() + "/examples/quickstart";

TEST(Quickstart, FillsTheStoreInUnderTenSeconds) {
  const auto t0 = std::chrono::steady_clock::now();
  auto r = runCommand({"/bin/bash", kQuickstart + "/run.sh", omniloopBin()});
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_LT(secs, 10.0);
  EXPECT_NE(r.out.find("pipeline crm-contacts"), std::string::npos);
  EXPECT_NE(r.out.find("pipeline call-center-cdr"), std::string::npos);
  EXPECT_NE(r.out.find("profiles"), std::string::npos);
  EXPECT_EQ(r.out.find("FAILED"), std::string::npos) << r.out;
}

}  // namespace
