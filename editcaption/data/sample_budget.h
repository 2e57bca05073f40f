// The token budget of one sample. Visual-token counts follow from image sizes alone (smart_resize
// on the header's size), so a sample's length is known before anything is decoded. A sample over
// `max_seq_len` gets a lower max_pixels for its two images (downscaled) or is rejected with the
// reason; it is never truncated, so an image span is never cut.
#pragma once

#include <cstdint>
#include <string>

#include "editcaption/config/visitor.h"
#include "editcaption/data/image_processor.h"
#include "editcaption/data/types.h"

namespace ec::data {

enum class OverBudget { Downscale, Reject };
EC_CONFIG_ENUM(OverBudget, {{"downscale", OverBudget::Downscale}, {"reject", OverBudget::Reject}})

/// `data.budget`
struct BudgetConfig {
  using is_config_section = void;
  int64_t max_seq_len = 4096;
  OverBudget over_budget = OverBudget::Downscale;
  int64_t template_tokens = 64;

  template <class V>
  void visit(V& v) {
    v("max_seq_len", max_seq_len,
      "Most tokens in one sequence (prompt, both images and the answer; the longer answer of a DPO pair). 0: no limit.",
      config::at_least<int64_t>(0));
    v("over_budget", over_budget,
      "What to do with a longer sample: downscale both images (a lower max_pixels) until it fits, or reject it.");
    v("template_tokens", template_tokens,
      "Tokens assumed for the chat template and prompt when lengths are estimated without a tokenizer "
      "(`data check`); answers are then counted as one token per UTF-8 byte, an upper bound for byte-level BPE.",
      config::at_least<int64_t>(0));
  }
};

struct SamplePlan {
  /// max_pixels for both images of this sample (the processor's, or lower when downscaled).
  int64_t max_pixels = 0;
  GridThw source_grid{1, 0, 0}, target_grid{1, 0, 0};
  int64_t image_tokens = 0;  ///< image-pad tokens of both images
  int64_t text_tokens = 0;   ///< every other token
  bool downscaled = false;
  int64_t total_tokens() const { return image_tokens + text_tokens; }
};

/// Plans a sample whose images have these displayed sizes. Throws UserError(Input) with the
/// reason (aspect ratio, text alone too long, over budget even at min_pixels, or over budget
/// with over_budget: reject).
SamplePlan plan_sample(int64_t source_height, int64_t source_width, int64_t target_height, int64_t target_width,
                       int64_t text_tokens, const ImageProcessorOptions& options, const BudgetConfig& budget);

/// The processor options for one planned sample (its max_pixels applied).
ImageProcessorOptions options_for_plan(const ImageProcessorOptions& options, const SamplePlan& plan);

}  // namespace ec::data
