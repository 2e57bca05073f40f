// The `synth` config section: the built-in synthetic edit-pair dataset (docs/data.md,
// "Synthetic data and structured ground truth").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "editcaption/config/visitor.h"

namespace ec::data::synth {

/// Share of each edit category (the paper's 25/25/50 by default). Normalized by their sum.
struct SynthMix {
  using is_config_section = void;
  double semantic = 0.25;
  double stylistic = 0.25;
  double structural = 0.5;

  template <class V>
  void visit(V& v) {
    v("semantic", semantic, "Weight of semantic edits (add, remove, replace, background).", config::at_least(0.0));
    v("stylistic", stylistic, "Weight of stylistic edits (color, texture, tone).", config::at_least(0.0));
    v("structural", structural, "Weight of structural edits (move, resize, rotate, swap, zoom, pan, text).",
      config::at_least(0.0));
  }
};

/// Edit kinds by name and their default weights within their category.
std::map<std::string, double> default_edit_weights();
/// DPO failure kinds by name and their default weights.
std::map<std::string, double> default_failure_weights();

struct SynthConfig {
  using is_config_section = void;
  std::filesystem::path out = "data/synth";
  uint64_t seed = 1234;
  int image_size = 112;
  int64_t train = 2000;
  int64_t val = 200;
  int64_t test = 200;
  int min_objects = 2;
  int max_objects = 4;
  SynthMix mix;
  std::map<std::string, double> edits = default_edit_weights();
  double secondary_prob = 0.25;
  double multi_change_prob = 0.3;
  double sign_prob = 0.3;
  double holdout_fraction = 0.15;
  int negatives_per_sample = 1;
  std::map<std::string, double> failures = default_failure_weights();
  int threads = 0;

  template <class V>
  void visit(V& v) {
    v("out", out, "Output directory (images/, manifests, synth.json); `editcaption synth --out` overrides it.");
    v("seed", seed, "Seed: the same seed and settings give byte-identical output.");
    v("image_size", image_size, "Width and height of the images in pixels.", config::range(32, 1024));
    v("train", train, "Number of training pairs.", config::at_least<int64_t>(0));
    v("val", val, "Number of validation pairs (combinations seen in training).", config::at_least<int64_t>(0));
    v("test", test, "Number of test pairs (attribute-object-edit combinations never seen in training).",
      config::at_least<int64_t>(0));
    v("min_objects", min_objects, "Fewest shapes in a scene.", config::range(1, 8));
    v("max_objects", max_objects, "Most shapes in a scene.", config::range(1, 8));
    v("mix", mix, "Share of the edit categories.");
    v("edits", edits,
      "Weight of each edit kind within its category (add, remove, replace, background, color, texture, tone, move, "
      "resize, rotate, swap, zoom, pan, text); 0 disables one, kinds left out keep their default.");
    v("secondary_prob", secondary_prob, "Probability that a pair also has a secondary change (tone or a small recolor).",
      config::range(0.0, 1.0));
    v("multi_change_prob", multi_change_prob,
      "Probability that a color edit also changes the pattern (two primary changes).", config::range(0.0, 1.0));
    v("sign_prob", sign_prob, "Probability that a scene has a text sign (always for text edits).", config::range(0.0, 1.0));
    v("holdout_fraction", holdout_fraction,
      "Fraction of the attribute-object-edit combinations of each edit kind reserved for the test split "
      "(0: no hold-out, the test split is drawn like train and val).",
      config::range(0.0, 0.9));
    v("negatives_per_sample", negatives_per_sample, "Rejected instructions per pair in the DPO manifests.",
      config::range(0, 8));
    v("failures", failures,
      "Weight of each DPO failure kind (orientation_flip, viewpoint_confusion, attribute_wrong, attribute_omission, "
      "vague_wording, wrong_subject, change_omission, text_wrong); kinds left out keep their default.");
    v("threads", threads, "Worker threads (0: all cores); the output does not depend on it.", config::range(0, 256));
  }
  void validate(config::Validation& v) const;
};

}  // namespace ec::data::synth
