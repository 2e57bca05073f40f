#include "models/qwen_vl/param_count.h"

#include <fmt/format.h>

#include "editcaption/core/strings.h"

namespace ec::models {

ParameterCounts count_parameters(const QwenVLConfig& c) {
  ParameterCounts n;
  const auto& v = c.vision;
  const bool q3 = c.family == ModelFamily::Qwen3VL, q25 = c.family == ModelFamily::Qwen25VL;
  const int64_t D = v.hidden_size, I = v.intermediate_size, W = D * v.spatial_merge_size * v.spatial_merge_size;
  const int64_t norm = q25 ? D : 2 * D;  // RMSNorm weight, or LayerNorm weight + bias
  const int64_t mlp = q25 ? 2 * (D * I + I) + I * D + D : D * I + I + I * D + D;
  const int64_t block = 2 * norm + (3 * D * D + 3 * D) + (D * D + D) + mlp;
  n.vision_tower = D * v.patch_dim() + (q3 ? D + v.num_position_embeddings * D : 0) + v.depth * block;
  const int64_t head = W * W + W + W * v.out_hidden_size + v.out_hidden_size;
  n.merger = norm + head;
  if (q3) n.merger += static_cast<int64_t>(v.deepstack_visual_indexes.size()) * (2 * W + head);

  const auto& t = c.text;
  const int64_t d = t.hidden_size, hd = t.resolved_head_dim(), q = t.num_heads * hd, kv = t.num_kv_heads * hd;
  int64_t layer = 2 * d + d * q + 2 * d * kv + q * d + 3 * d * t.intermediate_size;
  layer += q3 ? 2 * hd : q + 2 * kv;  // q/k norms, or q/k/v biases
  n.embedding = t.vocab_size * d;
  n.decoder = t.num_layers * layer + d;
  n.lm_head = c.tie_word_embeddings ? 0 : t.vocab_size * d;
  return n;
}

std::vector<ComponentCount> parameter_report(const torch::nn::Module& model) {
  std::vector<ComponentCount> out{{"vision_tower"}, {"merger"}, {"embedding"}, {"decoder"}, {"lm_head"}, {"lora"}};
  for (const auto& p : model.named_parameters()) {
    const std::string& name = p.key();
    size_t slot = 3;
    if (name.find("lora_a") != std::string::npos || name.find("lora_b") != std::string::npos) slot = 5;
    else if (starts_with(name, "visual.merger.") || starts_with(name, "visual.deepstack_merger_list.")) slot = 1;
    else if (starts_with(name, "visual.")) slot = 0;
    else if (starts_with(name, "language_model.embed_tokens.")) slot = 2;
    else if (starts_with(name, "lm_head.")) slot = 4;
    out[slot].total += p.value().numel();
    if (p.value().requires_grad()) out[slot].trainable += p.value().numel();
  }
  return out;
}

std::string format_parameter_report(const std::vector<ComponentCount>& report) {
  std::string s = fmt::format("{:<14} {:>16} {:>16}\n", "component", "parameters", "trainable");
  int64_t total = 0, trainable = 0;
  for (const auto& c : report) {
    if (c.total == 0) continue;
    s += fmt::format("{:<14} {:>16} {:>16}\n", c.name, c.total, c.trainable);
    total += c.total;
    trainable += c.trainable;
  }
  s += fmt::format("{:<14} {:>16} {:>16}", "total", total, trainable);
  return s;
}

}  // namespace ec::models
