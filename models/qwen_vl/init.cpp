#include "models/qwen_vl/init.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"
#include "editcaption/dist/tp.h"
#include "models/qwen_vl/tp_shard.h"

namespace ec::models {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_norm(const std::string& name) {
  return name.find("norm") != std::string::npos || name.find("ln_q") != std::string::npos;
}

}  // namespace

void init_weights(nn::QwenVLImpl& model, double std, uint64_t seed) {
  at::NoGradGuard no_grad;
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const dist::TpGroup* tp = model.options.tp;
  const int tp_size = dist::tp_size(tp), tp_rank = dist::tp_rank(tp);
  auto params = model.named_parameters();
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.key());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    at::Tensor p = params[name];
    EC_CHECK(p.device().is_cpu(), "init_weights runs before the model moves to {}", p.device().str());
    if (name.find("lora_") != std::string::npos) continue;  // adapters keep their own init
    if (ends_with(name, ".bias")) {
      p.zero_();
    } else if (is_norm(name)) {
      p.fill_(1.0);
    } else if (tp_size > 1 && tp_sharded(name)) {
      // Draw the full tensor and keep this rank's part: the generator advances as it does for the
      // tp = 1 model, so every tensor-parallel size starts from the same weights.
      at::Tensor full = at::empty(tp_full_shape(name, p.sizes(), tp_size), p.options());
      full.normal_(0.0, std, gen);
      p.copy_(tp_shard(name, full, tp_rank, tp_size));
    } else {
      p.normal_(0.0, std, gen);
    }
  }
}

}  // namespace ec::models
