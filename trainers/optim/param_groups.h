// Splitting named parameters into optimizer groups: no weight decay on norms, biases and
// embeddings (by default), and per-group learning-rate multipliers chosen by name.
#pragma once

#include <ATen/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ec::optim {

struct ParamGroup {
  std::string name;
  double weight_decay = 0.0;
  double lr_scale = 1.0;
  std::vector<std::string> names;
  std::vector<at::Tensor> params;
};

struct ParamGroupRules {
  double weight_decay = 0.0;
  /// Case-insensitive substrings of a parameter name that exempt it from weight decay.
  std::vector<std::string> no_decay = {"bias", "norm", "embed"};
  /// Also exempt every parameter with fewer than 2 dimensions (norm scales, biases).
  bool no_decay_1d = true;
  /// Substring -> learning-rate multiplier; the longest matching substring wins.
  std::map<std::string, double> lr_scale = {};
};

/// Parameters that do not require grad are left out. Groups keep the order of first appearance;
/// within a group parameters keep their order. Group names: "decay", "no_decay", and
/// "<...>@<substring>" for scaled groups.
std::vector<ParamGroup> make_param_groups(const std::vector<std::pair<std::string, at::Tensor>>& named,
                                          const ParamGroupRules& rules);

}  // namespace ec::optim
