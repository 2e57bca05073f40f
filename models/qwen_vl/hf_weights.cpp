#include "models/qwen_vl/hf_weights.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/dist/tp.h"
#include "editcaption/io/safetensors_index.h"
#include "models/nn/linear.h"
#include "models/nn/shape.h"
#include "models/qwen_vl/tp_shard.h"

namespace ec::models {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_patch_embed(const std::string& internal) { return internal == "visual.patch_embed.proj.weight"; }

bool is_lora(const std::string& name) {
  return name.find("lora_a") != std::string::npos || name.find("lora_b") != std::string::npos;
}

std::string list(const std::vector<std::string>& items, size_t max = 8) {
  std::vector<std::string> head(items.begin(), items.begin() + static_cast<long>(std::min(max, items.size())));
  std::string s = join(head, ", ");
  if (items.size() > max) s += fmt::format(" and {} more", items.size() - max);
  return s;
}

}  // namespace

HfLayout default_layout(ModelFamily family) {
  return family == ModelFamily::Qwen3VL ? HfLayout::Nested : HfLayout::Legacy;
}

std::optional<std::string> internal_name(const std::string& n) {
  if (ends_with(n, "rotary_emb.inv_freq") || ends_with(n, "rotary_pos_emb.inv_freq")) return std::nullopt;
  if (n == "lm_head.weight") return n;
  if (starts_with(n, "model.visual.") || starts_with(n, "model.language_model.")) return n.substr(6);
  if (starts_with(n, "visual.")) return n;
  if (starts_with(n, "model.")) return "language_model." + n.substr(6);
  return n;  // reported as unexpected by the loader
}

std::string hf_name(const std::string& internal, HfLayout layout) {
  if (internal == "lm_head.weight") return internal;
  if (layout == HfLayout::Nested) return "model." + internal;
  if (starts_with(internal, "language_model.")) return "model." + internal.substr(15);
  return internal;
}

void load_hf_weights(nn::QwenVLImpl& model, const std::filesystem::path& dir) {
  io::ShardedSafetensors st(dir);
  auto params = model.named_parameters();
  const bool tied = model.config().tie_word_embeddings;
  std::set<std::string> expected;
  for (const auto& p : params) {
    if (!is_lora(p.key())) expected.insert(p.key());
  }
  std::vector<std::string> unexpected, misshaped;
  std::set<std::string> seen;
  bool has_lm_head = false;
  // A tensor-parallel model takes its rank's part of each full checkpoint tensor.
  const int tp_size = dist::tp_size(model.options.tp), tp_rank = dist::tp_rank(model.options.tp);
  at::NoGradGuard no_grad;
  for (const auto& name : st.names()) {
    auto in = internal_name(name);
    if (!in) continue;
    if (*in == "lm_head.weight") has_lm_head = true;
    if (*in == "lm_head.weight" && tied) continue;  // the head is the embedding
    if (!expected.count(*in)) {
      unexpected.push_back(name);
      continue;
    }
    at::Tensor& param = params[*in];
    at::Tensor value = st.view(name);
    if (is_patch_embed(*in) && value.dim() == 5) value = value.reshape({value.size(0), -1});
    if (tp_size > 1 && value.sizes() == at::IntArrayRef(tp_full_shape(*in, param.sizes(), tp_size))) {
      value = tp_shard(*in, value, tp_rank, tp_size);
    }
    if (value.sizes() != param.sizes()) {
      misshaped.push_back(fmt::format("{} is {} in the checkpoint, the model needs {}", name, nn::shape_str(value),
                                      tp_size > 1 ? fmt::format("[{}]", fmt::join(tp_full_shape(*in, param.sizes(), tp_size), ", "))
                                                  : nn::shape_str(param)));
      continue;
    }
    param.copy_(value);
    seen.insert(*in);
  }
  if (tied && has_lm_head) log::warn("{}: the config ties the LM head to the embedding; lm_head.weight is ignored", dir.string());
  std::vector<std::string> missing;
  for (const auto& e : expected) {
    if (!seen.count(e)) missing.push_back(e);
  }
  std::string problems;
  if (!tied && !has_lm_head) {
    problems += "\n  lm_head.weight is absent but the config says tie_word_embeddings: false (a broken upload?)";
    missing.erase(std::remove(missing.begin(), missing.end(), "lm_head.weight"), missing.end());
  }
  if (!missing.empty()) problems += fmt::format("\n  missing ({}): {}", missing.size(), list(missing));
  if (!unexpected.empty()) problems += fmt::format("\n  unexpected ({}): {}", unexpected.size(), list(unexpected));
  if (!misshaped.empty()) problems += fmt::format("\n  wrong shape: {}", list(misshaped, 4));
  EC_USER_CHECK(problems.empty(), Input, "{}: the checkpoint does not fit the {} model:{}", st.source().string(),
                config::enum_name(model.config().family), problems);
  log::info("loaded {} tensors from {}", seen.size(), st.source().string());
}

void save_hf_weights(nn::QwenVLImpl& model, const std::filesystem::path& dir, const SaveOptions& o) {
  EC_CHECK(dist::tp_size(model.options.tp) == 1,
           "save_hf_weights needs the full model: gather tensor-parallel parts first (tp_shard.h)");
  const HfLayout layout = o.layout.value_or(default_layout(model.config().family));
  // Active adapters are part of the model being saved: fold them into their layer's weight.
  std::map<std::string, at::Tensor> lora_delta;
  for (const auto& m : model.named_modules()) {
    auto* lin = m.value()->as<nn::LinearImpl>();
    if (lin && lin->has_lora() && lin->lora_enabled() && !lin->lora_merged()) {
      lora_delta[m.key() + ".weight"] = lin->lora_delta();
    }
  }
  at::NoGradGuard no_grad;
  io::NamedTensors tensors;
  for (const auto& p : model.named_parameters()) {
    if (is_lora(p.key())) continue;
    at::Tensor value = p.value().detach();
    if (auto it = lora_delta.find(p.key()); it != lora_delta.end()) value = value + it->second.to(value.scalar_type());
    if (is_patch_embed(p.key())) {
      const auto& v = model.config().vision;
      value = value.reshape({value.size(0), v.in_channels, v.temporal_patch_size, v.patch_size, v.patch_size});
    }
    tensors.emplace_back(hf_name(p.key(), layout), value.to(at::kCPU, o.dtype).contiguous());
  }
  io::ShardedWriteOptions wo;
  wo.max_shard_bytes = o.max_shard_bytes;
  io::write_safetensors_sharded(dir, tensors, {{"format", "pt"}}, wo);
}

}  // namespace ec::models
