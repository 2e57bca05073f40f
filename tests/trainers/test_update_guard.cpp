#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "editcaption/core/error.h"
#include "trainers/update_guard.h"

namespace ec::train {
namespace {

TEST(UpdateGuard, SkipsNonFiniteAndStopsAfterTooMany) {
  GuardConfig c;
  c.max_consecutive_skips = 2;
  UpdateGuard g(c);
  EXPECT_FALSE(g.check(0, 1.0, 1.0).skip);
  EXPECT_TRUE(g.check(1, std::nan(""), 1.0).skip);
  EXPECT_TRUE(g.check(2, 1.0, std::numeric_limits<double>::infinity()).skip);
  EXPECT_EQ(g.consecutive_skips(), 2);
  try {
    g.check(3, std::nan(""), 1.0);
    FAIL() << "expected a NonFinite stop";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::NonFinite);
  }
}

TEST(UpdateGuard, AcceptResetsTheCount) {
  UpdateGuard g;
  EXPECT_TRUE(g.check(0, std::nan(""), 1.0).skip);
  EXPECT_FALSE(g.check(1, 2.0, 1.0).skip);
  EXPECT_EQ(g.consecutive_skips(), 0);
  EXPECT_EQ(g.total_skips(), 1);
}

TEST(UpdateGuard, OutliersAfterHistory) {
  GuardConfig c;
  c.zscore = 5.0;
  c.min_history = 8;
  UpdateGuard g(c);
  for (int i = 0; i < 8; ++i) EXPECT_FALSE(g.check(i, 2.0 + 0.01 * (i % 3), 1.0 + 0.01 * (i % 2)).skip);
  auto d = g.check(8, 50.0, 1.0);
  EXPECT_TRUE(d.skip);
  EXPECT_NE(d.reason.find("loss"), std::string::npos);
  EXPECT_TRUE(g.check(9, 2.0, 80.0).skip);
  EXPECT_FALSE(g.check(10, 2.01, 1.0).skip);
}

TEST(UpdateGuard, StateRoundTripGivesTheSameDecisions) {
  GuardConfig c;
  c.zscore = 3.0;
  c.min_history = 4;
  UpdateGuard a(c);
  for (int i = 0; i < 6; ++i) a.check(i, 1.0 + 0.1 * i, 1.0);
  UpdateGuard b(c);
  b.load_state(a.state());
  for (double v : {1.4, 9.0, 1.5}) EXPECT_EQ(a.check(7, v, 1.0).skip, b.check(7, v, 1.0).skip);
  EXPECT_EQ(a.state(), b.state());
}

}  // namespace
}  // namespace ec::train
