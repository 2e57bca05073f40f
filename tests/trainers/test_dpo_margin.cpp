#include <gtest/gtest.h>

#include <cmath>

#include "trainers/dpo_margin.h"

namespace ec::train {
namespace {

TEST(DpoMargin, DefaultIsPlainDpoWithoutManifestMargins) {
  MarginConfig c;
  EXPECT_DOUBLE_EQ(pair_margin(c, 0.1, Severity::P0, ErrorType::Orientation, std::nullopt, -10, -5), 0.0);
  EXPECT_DOUBLE_EQ(pair_margin(c, 0.1, Severity::P0, ErrorType::Orientation, 0.7, -10, -5), 0.7);
  c.use_manifest = false;
  EXPECT_TRUE(c.is_zero());
}

TEST(DpoMargin, TermsAddAndScale) {
  MarginConfig c;
  c.use_manifest = false;
  c.severity["P0"] = 1.0;
  c.error_type["orientation"] = 0.5;
  c.hardness = 2.0;
  c.scale = 0.5;
  // hardness = sigmoid(beta * (ref_r - ref_c)) = sigmoid(0.1 * 10)
  double h = 1.0 / (1.0 + std::exp(-1.0));
  EXPECT_NEAR(pair_margin(c, 0.1, Severity::P0, ErrorType::Orientation, 9.0, -15, -5), 0.5 * (1.0 + 0.5 + 2.0 * h), 1e-12);
  EXPECT_NEAR(pair_margin(c, 0.1, Severity::P2, ErrorType::Viewpoint, std::nullopt, -5, -5), 0.5 * (2.0 * 0.5), 1e-12);
  EXPECT_FALSE(c.is_zero());
}

}  // namespace
}  // namespace ec::train
