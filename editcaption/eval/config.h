// The `eval` config section. The structured scorer's options live under `eval.structured`; judge
// mode and model evaluation add their own subsections.
#pragma once

#include "editcaption/config/visitor.h"
#include "editcaption/eval/scorer.h"

namespace ec::eval {

struct EvalConfig {
  using is_config_section = void;
  ScorerConfig structured;

  template <class V>
  void visit(V& v) {
    v("structured", structured, "The structured scorer (test data with structured ground truth, e.g. synthetic).");
  }
};

}  // namespace ec::eval
