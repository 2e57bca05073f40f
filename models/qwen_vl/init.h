// Random initialisation of a model trained from scratch, as transformers initialises these
// classes: linear, embedding and position-table weights ~ N(0, std), biases 0, norm weights 1.
// Parameters are visited in name order with a generator of their own, so the result depends only
// on (architecture, std, seed): a tensor-parallel model draws each sharded tensor in full and keeps
// its rank's part (tp_shard.h), so it starts from the slices of the tp = 1 model.
#pragma once

#include <cstdint>

#include "models/qwen_vl/model.h"

namespace ec::models {

/// The model must still be on the CPU (initialise before moving it).
void init_weights(nn::QwenVLImpl& model, double std, uint64_t seed);

}  // namespace ec::models
