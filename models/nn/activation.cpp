#include "models/nn/activation.h"

#include <ATen/ATen.h>

namespace ec::nn {

at::Tensor activate(const at::Tensor& x, Activation act) {
  switch (act) {
    case Activation::Silu:
      return at::silu(x);
    case Activation::QuickGelu:
      return x * at::sigmoid(1.702 * x);
    case Activation::GeluTanh:
      return at::gelu(x, "tanh");
    case Activation::Gelu:
      return at::gelu(x);
  }
  return x;
}

}  // namespace ec::nn
