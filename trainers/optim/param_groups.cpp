#include "trainers/optim/param_groups.h"

#include "editcaption/core/strings.h"

namespace ec::optim {

std::vector<ParamGroup> make_param_groups(const std::vector<std::pair<std::string, at::Tensor>>& named,
                                          const ParamGroupRules& rules) {
  std::vector<ParamGroup> groups;
  for (const auto& [name, p] : named) {
    if (!p.requires_grad()) continue;
    std::string lower = to_lower(name);
    bool decay = rules.weight_decay != 0.0 && !(rules.no_decay_1d && p.dim() < 2);
    for (const auto& pattern : rules.no_decay) {
      if (decay && lower.find(to_lower(pattern)) != std::string::npos) decay = false;
    }
    std::string best;
    double scale = 1.0;
    for (const auto& [pattern, s] : rules.lr_scale) {
      if (name.find(pattern) != std::string::npos && pattern.size() > best.size()) {
        best = pattern;
        scale = s;
      }
    }
    std::string gname = std::string(decay ? "decay" : "no_decay") + (best.empty() ? "" : "@" + best);
    auto it = std::find_if(groups.begin(), groups.end(), [&](const ParamGroup& g) { return g.name == gname; });
    if (it == groups.end()) {
      groups.push_back({gname, decay ? rules.weight_decay : 0.0, scale, {}, {}});
      it = groups.end() - 1;
    }
    it->names.push_back(name);
    it->params.push_back(p);
  }
  return groups;
}

}  // namespace ec::optim
