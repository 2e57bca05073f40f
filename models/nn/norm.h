// Normalisation layers of the Qwen-VL family: RMSNorm (text model, Qwen2.5-VL vision tower;
// computed in float32 and cast back before the weight multiplies, as transformers does) and
// LayerNorm with bias (Qwen2-VL and Qwen3-VL vision towers).
#pragma once

#include <torch/nn/cloneable.h>
#include <torch/nn/pimpl.h>

#include <cstdint>

namespace ec::nn {

enum class NormKind { RMSNorm, LayerNorm };

struct NormOptions {
  NormOptions(int64_t dim, NormKind kind = NormKind::RMSNorm, double eps = 1e-6) : dim(dim), kind(kind), eps(eps) {}
  int64_t dim;
  NormKind kind;
  double eps;
};

class NormImpl : public torch::nn::Cloneable<NormImpl> {
 public:
  explicit NormImpl(NormOptions options);
  void reset() override;
  at::Tensor forward(const at::Tensor& x);

  NormOptions options;
  at::Tensor weight;
  at::Tensor bias;  ///< LayerNorm only
};
TORCH_MODULE(Norm);

/// RMSNorm over the last dimension (weight may be undefined).
at::Tensor rms_norm(const at::Tensor& x, const at::Tensor& weight, double eps);

}  // namespace ec::nn
