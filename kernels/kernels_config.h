// The `kernels` config section: which implementation the fused losses use and their tile sizes.
#pragma once

#include <cstdint>

#include "editcaption/config/visitor.h"
#include "kernels/linear_logprobs.h"

namespace ec::kernels {

EC_CONFIG_ENUM(LogprobImpl, {{"auto", LogprobImpl::Auto},
                             {"reference", LogprobImpl::Reference},
                             {"cuda", LogprobImpl::Cuda}})

struct KernelsConfig {
  using is_config_section = void;
  LogprobImpl loss_impl = LogprobImpl::Auto;
  int64_t token_chunk = 0;
  int64_t vocab_block = 0;
  int64_t tile_budget_mib = 192;

  template <class V>
  void visit(V& v) {
    v("loss_impl", loss_impl,
      "Fused loss implementation: auto (CUDA kernels for GPU tensors, else the ATen reference), reference, cuda.");
    v("token_chunk", token_chunk, "Tokens per tile of the fused loss (0: automatic).", config::at_least<int64_t>(0));
    v("vocab_block", vocab_block, "Vocabulary rows per tile of the fused loss (0: automatic).",
      config::at_least<int64_t>(0));
    v("tile_budget_mib", tile_budget_mib,
      "Memory for one tile's temporaries (fp32 logits + logit gradients) under automatic tiling, MiB.",
      config::at_least<int64_t>(1));
  }

  /// The options of fused_linear_logprobs (and the losses on top) this section describes.
  LogprobOptions logprob_options(bool deterministic) const {
    LogprobOptions o;
    o.impl = loss_impl;
    o.tiling = {token_chunk, vocab_block, tile_budget_mib};
    o.deterministic = deterministic;
    return o;
  }
};

}  // namespace ec::kernels
