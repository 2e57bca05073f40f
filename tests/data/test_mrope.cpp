// M-RoPE position ids against the worked example of ../shared/spec/qwen_vl.md section 3.6
// (which reproduces transformers' get_rope_index for images).
#include <gtest/gtest.h>

#include "editcaption/core/error.h"
#include "editcaption/data/mrope.h"

namespace ec::data {
namespace {

TEST(Mrope, SpecWorkedExample) {
  SpecialTokenIds sp;
  std::vector<int32_t> ids{1, 2, 3, sp.vision_start};
  ids.insert(ids.end(), 6, sp.image_pad);
  ids.insert(ids.end(), {sp.vision_end, sp.vision_start});
  ids.insert(ids.end(), 6, sp.image_pad);
  ids.insert(ids.end(), {sp.vision_end, 4, 5});
  std::vector<GridThw> grids{{1, 4, 6}, {1, 6, 4}};
  auto r = mrope_positions(ids, grids, sp);
  ASSERT_EQ(r.ids.size(1), 21);
  std::vector<int64_t> t{0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 7, 8, 9, 9, 9, 9, 9, 9, 12, 13, 14};
  std::vector<int64_t> h{0, 1, 2, 3, 4, 4, 4, 5, 5, 5, 7, 8, 9, 9, 10, 10, 11, 11, 12, 13, 14};
  std::vector<int64_t> w{0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9, 10, 9, 10, 9, 10, 12, 13, 14};
  for (int64_t i = 0; i < 21; ++i) {
    EXPECT_EQ(r.ids[0][i].item<int64_t>(), t[i]) << i;
    EXPECT_EQ(r.ids[1][i].item<int64_t>(), h[i]) << i;
    EXPECT_EQ(r.ids[2][i].item<int64_t>(), w[i]) << i;
  }
  EXPECT_EQ(r.rope_delta, -6);
}

TEST(Mrope, TextOnlyAndContinuation) {
  SpecialTokenIds sp;
  std::vector<int32_t> ids{5, 6, 7};
  auto r = mrope_positions(ids, {}, sp, 2, 10);
  EXPECT_TRUE(r.ids.equal(text_positions(3, 10)));
  EXPECT_EQ(r.rope_delta, 0);
}

TEST(Mrope, MismatchedPadsAreRejected) {
  SpecialTokenIds sp;
  std::vector<int32_t> ids{sp.vision_start, sp.image_pad, sp.image_pad, sp.vision_end};
  std::vector<GridThw> grids{{1, 4, 4}};  // needs 4 pads
  EXPECT_THROW(mrope_positions(ids, grids, sp), InternalError);
  std::vector<GridThw> none;
  EXPECT_THROW(mrope_positions(ids, none, sp), InternalError);
}

}  // namespace
}  // namespace ec::data
