#include "editcaption/data/synth/config.h"

#include <algorithm>

#include "editcaption/core/strings.h"
#include "editcaption/data/synth/edits.h"
#include "editcaption/data/synth/negatives.h"

namespace ec::data::synth {

std::map<std::string, double> default_edit_weights() {
  // Within structural edits, moves get twice the weight: directions are the paper's first failure mode.
  return {{"add", 1},    {"remove", 1}, {"replace", 1}, {"background", 1}, {"color", 1},
          {"texture", 1}, {"tone", 1},  {"move", 2},    {"resize", 1},     {"rotate", 1},
          {"swap", 1},   {"zoom", 1},   {"pan", 1},     {"text", 1}};
}

std::map<std::string, double> default_failure_weights() {
  return {{"orientation_flip", 3},   {"viewpoint_confusion", 3}, {"attribute_wrong", 1.5},
          {"attribute_omission", 1.5}, {"vague_wording", 1},     {"wrong_subject", 1},
          {"change_omission", 1},    {"text_wrong", 1}};
}

void SynthConfig::validate(config::Validation& v) const {
  if (min_objects > max_objects) v.error("min_objects", "must be <= max_objects ({} > {})", min_objects, max_objects);
  if (mix.semantic + mix.stylistic + mix.structural <= 0) v.error("mix", "needs a positive weight");
  // Kinds left out of `edits` keep their default weight.
  std::map<std::string, double> weights = default_edit_weights();
  for (const auto& [name, weight] : edits) {
    if (!parse_edit(name)) {
      std::vector<std::string> names;
      for (EditKind k : kEditKinds) names.emplace_back(edit_name(k));
      auto best = closest_match(name, names);
      v.error("edits", "unknown edit '{}' (one of {}){}", name, join(names, ", "),
              best ? "; did you mean '" + *best + "'?" : std::string());
      continue;
    }
    if (weight < 0) v.error("edits", "weight of '{}' must be >= 0", name);
    weights[name] = weight;
  }
  std::map<EditCategory, double> per_category;
  for (const auto& [name, weight] : weights) per_category[category_of(*parse_edit(name))] += weight;
  auto need = [&](EditCategory c, double share, const char* name) {
    if (share > 0 && per_category[c] <= 0) v.error("edits", "mix.{} > 0 but no {} edit has a positive weight", name, name);
  };
  need(EditCategory::Semantic, mix.semantic, "semantic");
  need(EditCategory::Stylistic, mix.stylistic, "stylistic");
  need(EditCategory::Structural, mix.structural, "structural");
  std::map<std::string, double> fweights = default_failure_weights();
  for (const auto& [name, weight] : failures) {
    if (!parse_failure(name)) {
      std::vector<std::string> names;
      for (Failure f : kFailures) names.emplace_back(failure_name(f));
      v.error("failures", "unknown failure '{}' (one of {})", name, join(names, ", "));
      continue;
    }
    if (weight < 0) v.error("failures", "weight of '{}' must be >= 0", name);
    fweights[name] = weight;
  }
  double failure_total = 0;
  for (const auto& [name, weight] : fweights) failure_total += std::max(0.0, weight);
  if (negatives_per_sample > 0 && failure_total <= 0) v.error("failures", "needs a positive weight");
}

}  // namespace ec::data::synth
