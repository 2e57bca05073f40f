// Activation functions named as in Hugging Face configs (`hidden_act`).
#pragma once

#include <ATen/Tensor.h>

#include "editcaption/config/visitor.h"

namespace ec::nn {

enum class Activation { Silu, QuickGelu, GeluTanh, Gelu };
EC_CONFIG_ENUM(Activation, {{"silu", Activation::Silu},
                            {"quick_gelu", Activation::QuickGelu},
                            {"gelu_pytorch_tanh", Activation::GeluTanh},
                            {"gelu", Activation::Gelu}})

/// silu: x sigmoid(x); quick_gelu: x sigmoid(1.702 x); gelu_pytorch_tanh: tanh-approximate GELU;
/// gelu: exact (erf) GELU.
at::Tensor activate(const at::Tensor& x, Activation act);

}  // namespace ec::nn
