// Global-norm gradient clipping, with the norm summed over the groups that hold disjoint parts of
// the gradient: the dp group for ZeRO-1 shards (Optimizer::grad_norm_groups()), the tp group for
// tensor-parallel shards (pass replicated parameters' gradients on tp rank 0 only, so they count
// once).
#pragma once

#include <ATen/Tensor.h>

#include <vector>

#include "editcaption/dist/group.h"

namespace ec::optim {

/// sqrt(sum over groups of sum ||g||^2), computed in fp32 (fp64 for fp64 gradients).
double global_grad_norm(const std::vector<at::Tensor>& grads, const std::vector<dist::Group*>& sum_over = {});
/// Scales the gradients by min(1, max_norm / (total_norm + 1e-6)) as torch.nn.utils.clip_grad_norm_
/// does. Does nothing for a non-finite norm (the update guard skips that step).
void scale_grads_for_clip(const std::vector<at::Tensor>& grads, double max_norm, double total_norm);
/// Both; returns the norm before clipping. max_norm <= 0 only measures.
double clip_grad_norm(const std::vector<at::Tensor>& grads, double max_norm,
                      const std::vector<dist::Group*>& sum_over = {});

}  // namespace ec::optim
