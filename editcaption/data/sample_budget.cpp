#include "editcaption/data/sample_budget.h"

#include "editcaption/core/check.h"

namespace ec::data {
namespace {

struct Tokens {
  GridThw source, target;
  int64_t count = 0;
};

Tokens tokens_at(int64_t sh, int64_t sw, int64_t th, int64_t tw, const ImageProcessorOptions& o, int64_t max_pixels) {
  ImageProcessorOptions opt = o;
  opt.max_pixels = max_pixels;
  Tokens t;
  t.source = image_grid(sh, sw, opt);
  t.target = image_grid(th, tw, opt);
  const int64_t m2 = o.merge_size * o.merge_size;
  t.count = (t.source[0] * t.source[1] * t.source[2] + t.target[0] * t.target[1] * t.target[2]) / m2;
  return t;
}

}  // namespace

SamplePlan plan_sample(int64_t sh, int64_t sw, int64_t th, int64_t tw, int64_t text_tokens,
                       const ImageProcessorOptions& o, const BudgetConfig& budget) {
  SamplePlan plan;
  plan.text_tokens = text_tokens;
  plan.max_pixels = o.max_pixels;
  Tokens full = tokens_at(sh, sw, th, tw, o, o.max_pixels);
  plan.source_grid = full.source;
  plan.target_grid = full.target;
  plan.image_tokens = full.count;
  const int64_t limit = budget.max_seq_len;
  if (limit <= 0 || plan.total_tokens() <= limit) return plan;

  if (text_tokens >= limit) {
    throw EC_USER_ERROR(Input, "over the token budget: the text alone needs {} tokens, data.budget.max_seq_len is {}",
                        text_tokens, limit);
  }
  if (budget.over_budget == OverBudget::Reject) {
    throw EC_USER_ERROR(Input,
                        "over the token budget: {} tokens (text {}, images {}), data.budget.max_seq_len is {} "
                        "(data.budget.over_budget: reject)",
                        plan.total_tokens(), text_tokens, full.count, limit);
  }
  // Largest max_pixels (a multiple of factor^2, not below min_pixels) whose tokens fit. Token
  // counts grow with max_pixels, so a binary search finds it; a final check guards the edge.
  const int64_t unit = o.factor() * o.factor();
  int64_t lo = std::max<int64_t>(1, (o.min_pixels + unit - 1) / unit), hi = o.max_pixels / unit;
  auto fits = [&](int64_t k) { return tokens_at(sh, sw, th, tw, o, k * unit).count + text_tokens <= limit; };
  if (lo > hi || !fits(lo)) {
    Tokens smallest = tokens_at(sh, sw, th, tw, o, std::min(lo, hi) * unit);
    throw EC_USER_ERROR(Input,
                        "over the token budget: {} tokens even with the images at min_pixels ({} image tokens + {} text), "
                        "data.budget.max_seq_len is {}",
                        smallest.count + text_tokens, smallest.count, text_tokens, limit);
  }
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  Tokens t = tokens_at(sh, sw, th, tw, o, lo * unit);
  EC_CHECK(t.count + text_tokens <= limit, "budget search ended over the limit");
  plan.max_pixels = lo * unit;
  plan.source_grid = t.source;
  plan.target_grid = t.target;
  plan.image_tokens = t.count;
  plan.downscaled = true;
  return plan;
}

ImageProcessorOptions options_for_plan(const ImageProcessorOptions& options, const SamplePlan& plan) {
  ImageProcessorOptions o = options;
  o.max_pixels = plan.max_pixels;
  return o;
}

}  // namespace ec::data
