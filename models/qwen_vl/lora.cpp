#include "models/qwen_vl/lora.h"

#include <algorithm>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "models/nn/linear.h"

namespace ec::models {
namespace {

std::string leaf(const std::string& path) {
  auto dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

template <class F>
void for_each_linear(torch::nn::Module& model, F&& f) {
  for (const auto& m : model.named_modules()) {
    if (auto* lin = m.value()->as<nn::LinearImpl>()) f(m.key(), *lin);
  }
}

bool is_lora_param(const std::string& name) {
  return name.find("lora_a") != std::string::npos || name.find("lora_b") != std::string::npos;
}

}  // namespace

int64_t apply_lora(torch::nn::Module& model, const LoraConfig& cfg) {
  if (cfg.rank == 0) return 0;
  const bool all_linear = std::find(cfg.targets.begin(), cfg.targets.end(), "all-linear") != cfg.targets.end();
  std::set<std::string> matched;
  int64_t count = 0;
  nn::LoraOptions opts{cfg.rank, cfg.alpha, cfg.dropout};
  for_each_linear(model, [&](const std::string& path, nn::LinearImpl& lin) {
    const bool llm = starts_with(path, "language_model.layers.");
    const bool vision = cfg.vision && starts_with(path, "visual.blocks.");
    if (!llm && !vision) return;
    const std::string name = leaf(path);
    const bool wanted = (all_linear && llm) || std::find(cfg.targets.begin(), cfg.targets.end(), name) != cfg.targets.end();
    if (!wanted || lin.has_lora()) return;
    lin.add_lora(opts);
    matched.insert(name);
    ++count;
  });
  for (const auto& t : cfg.targets) {
    EC_USER_CHECK(t == "all-linear" || matched.count(t) > 0, Usage,
                  "model.lora.targets: '{}' matches no layer (LLM layer names: q_proj, k_proj, v_proj, o_proj, "
                  "gate_proj, up_proj, down_proj; vision: qkv, proj, fc1, fc2, linear_fc1, linear_fc2, gate_proj, ...)",
                  t);
  }
  // The adapted components train only through their adapters.
  for (auto& p : model.named_parameters()) {
    const bool in_llm = starts_with(p.key(), "language_model.") || starts_with(p.key(), "lm_head.");
    const bool in_vision = cfg.vision && starts_with(p.key(), "visual.blocks.");
    if ((in_llm || in_vision) && !is_lora_param(p.key())) p.value().set_requires_grad(false);
  }
  log::info("LoRA: rank {} alpha {} on {} layers", cfg.rank, cfg.alpha, count);
  return count;
}

void set_lora_enabled(torch::nn::Module& model, bool enabled) {
  for_each_linear(model, [&](const std::string&, nn::LinearImpl& lin) {
    if (lin.has_lora()) lin.set_lora_enabled(enabled);
  });
}

void merge_lora(torch::nn::Module& model) {
  for_each_linear(model, [](const std::string&, nn::LinearImpl& lin) { lin.merge_lora(); });
}

void unmerge_lora(torch::nn::Module& model) {
  for_each_linear(model, [](const std::string&, nn::LinearImpl& lin) { lin.unmerge_lora(); });
}

bool has_lora(const torch::nn::Module& model) {
  for (const auto& p : model.named_parameters()) {
    if (is_lora_param(p.key())) return true;
  }
  return false;
}

void apply_freeze(torch::nn::Module& model, const FreezeConfig& cfg) {
  for (auto& p : model.named_parameters()) {
    const std::string& n = p.key();
    if (is_lora_param(n)) continue;
    const bool merger = starts_with(n, "visual.merger.") || starts_with(n, "visual.deepstack_merger_list.");
    const bool tower = starts_with(n, "visual.") && !merger;
    const bool llm = starts_with(n, "language_model.") || starts_with(n, "lm_head.");
    if ((tower && cfg.vision_tower) || (merger && cfg.merger) || (llm && cfg.llm)) p.value().set_requires_grad(false);
  }
}

}  // namespace ec::models
