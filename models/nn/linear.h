// A linear layer (y = x W^T + b, weight [out, in] as in Hugging Face checkpoints) that can carry a
// LoRA adapter: y += (alpha / rank) * dropout(x) A^T B^T, with A [rank, in] and B [out, rank].
// Every projection of the Qwen-VL modules is one of these, so adapters can be put on any of them by
// name (models/qwen_vl/lora.h) without changing the model code.
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace ec::nn {

struct LoraOptions {
  int64_t rank = 0;  ///< 0: no adapter
  double alpha = 16.0;
  double dropout = 0.0;
  double scale() const { return rank > 0 ? alpha / static_cast<double>(rank) : 0.0; }
};

struct LinearOptions {
  LinearOptions(int64_t in, int64_t out, bool bias = true) : in_features(in), out_features(out), bias(bias) {}
  int64_t in_features;
  int64_t out_features;
  bool bias;
  LoraOptions lora;
};

class LinearImpl : public torch::nn::Cloneable<LinearImpl> {
 public:
  explicit LinearImpl(LinearOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  /// Adds a LoRA adapter (A uniform like PEFT's kaiming init, B zero: the output is unchanged).
  void add_lora(const LoraOptions& lora);
  bool has_lora() const { return options.lora.rank > 0; }
  /// Disabled adapters leave the base layer (the DPO reference policy of a LoRA run).
  void set_lora_enabled(bool enabled);
  bool lora_enabled() const { return lora_enabled_; }
  /// Folds the adapter into the weight (W += scale B A) for export or faster inference; the
  /// adapter path is skipped while merged. unmerge_lora() subtracts it again.
  void merge_lora();
  void unmerge_lora();
  bool lora_merged() const { return merged_; }
  /// The adapter's contribution to the weight: scale * B A, [out, in].
  at::Tensor lora_delta() const;

  LinearOptions options;
  at::Tensor weight;
  at::Tensor bias;
  at::Tensor lora_a;  ///< [rank, in]
  at::Tensor lora_b;  ///< [out, rank]

 private:
  bool lora_enabled_ = true;
  bool merged_ = false;
};
TORCH_MODULE(Linear);

}  // namespace ec::nn
