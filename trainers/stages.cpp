#include "trainers/stages.h"

#include <algorithm>

#include "editcaption/core/check.h"
#include "editcaption/core/error.h"

namespace ec::train {

const std::vector<std::string>& stage_names() {
  static const std::vector<std::string> names = {"sft", "dpo", "hae_dpo"};
  return names;
}

config::Node without_stages(const config::Node& root) {
  config::Node n = root;
  if (n.is_map()) n.erase("stages");
  return n;
}

namespace {

const config::Node* stages_of(const config::Node& root) {
  const config::Node* s = root.is_map() ? root.find("stages") : nullptr;
  if (!s || s->is_null()) return nullptr;
  EC_USER_CHECK(s->is_map(), Usage, "{}: `stages` must be a map of stage name -> partial config", s->location.str());
  for (const auto& [name, node] : s->entries) {
    EC_USER_CHECK(std::find(stage_names().begin(), stage_names().end(), name) != stage_names().end(), Usage,
                  "{}: unknown stage '{}' (expected sft, dpo or hae_dpo)", node.key_location.str(), name);
    EC_USER_CHECK(node.is_map() || node.is_null(), Usage, "{}: stages.{} must be a map (a partial config)",
                  node.location.str(), name);
  }
  return s;
}

void merge_stage(config::Node& into, const config::Node* stages, std::string_view name) {
  if (!stages) return;
  if (const config::Node* s = stages->find(name); s && s->is_map()) config::merge(into, *s);
}

}  // namespace

ExperimentConfig stage_config(const config::Node& root, std::string_view stage) {
  EC_CHECK(std::find(stage_names().begin(), stage_names().end(), stage) != stage_names().end(), "stage {}", stage);
  const config::Node* stages = stages_of(root);
  config::Node n = without_stages(root);
  if (stage == "hae_dpo") merge_stage(n, stages, "dpo");
  merge_stage(n, stages, stage);
  ExperimentConfig cfg = config::read<ExperimentConfig>(n);
  // Each stage of a staged config gets its own run directory (and so its own checkpoints).
  if (stages) cfg.run.name += "-" + std::string(stage);
  return cfg;
}

void check_stages(const config::Node& root) {
  config::read<ExperimentConfig>(without_stages(root));
  if (const config::Node* stages = stages_of(root)) {
    for (const auto& [name, node] : stages->entries) stage_config(root, name);
  }
}

}  // namespace ec::train
