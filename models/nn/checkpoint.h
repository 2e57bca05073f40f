// Activation checkpointing (LibTorch C++ has no torch.utils.checkpoint): a custom autograd
// function runs `fn` without keeping its intermediate activations and runs it again, with
// gradients, during the backward pass. Dropout repeats exactly: the random generators of the
// inputs' devices are restored to their state before the first run.
//
// Gradients reach the parameters `fn` uses through a nested backward pass, as with PyTorch's
// reentrant checkpoint: they accumulate into .grad when the caller uses loss.backward(); code that
// asks torch::autograd::grad() for parameter gradients directly does not see them.
#pragma once

#include <torch/csrc/autograd/variable.h>

#include <functional>

namespace ec::nn {

using CheckpointFn = std::function<torch::autograd::variable_list(const torch::autograd::variable_list&)>;

/// fn(inputs), recomputed in backward. Every input must be defined; gradients flow to the inputs
/// that require them. Outside grad mode this is just fn(inputs).
torch::autograd::variable_list checkpoint(const CheckpointFn& fn, const torch::autograd::variable_list& inputs);

}  // namespace ec::nn
