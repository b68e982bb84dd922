#include <gtest/gtest.h>

#include "app/daemon/supervisor.h"

using omniloop::app::backoffDelay;
using std::chrono::milliseconds;

TEST(Backoff, DoublesFromOneSecondUpToOneMinute) {
  const milliseconds initial(1000), max(60000);
  EXPECT_EQ(backoffDelay(1, initial, max), milliseconds(1000));
  EXPECT_EQ(backoffDelay(2, initial, max), milliseconds(2000));
  EXPECT_EQ(backoffDelay(3, initial, max), milliseconds(4000));
  EXPECT_EQ(backoffDelay(6, initial, max), milliseconds(32000));
  EXPECT_EQ(backoffDelay(7, initial, max), milliseconds(60000));
  EXPECT_EQ(backoffDelay(1000, initial, max), milliseconds(60000));
  EXPECT_EQ(backoffDelay(0, initial, max), milliseconds(1000));
}
