// Per-pair margins for the DPO loss (EditCaption v2's HAE-DPO, ../shared/paper/v2-notes.md):
//   loss_i = -log sigmoid(beta * ((logp_c - ref_c) - (logp_r - ref_r)) - m_i)
// with m_i built from the human-labelled severity of the rejected answer, its failure-mode type and
// the reference model's hardness on the pair, each term switchable. All weights zero (the default)
// is plain DPO; severity and type weights alone are "v1 + labels"; adding hardness is HAE-style.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "editcaption/config/visitor.h"
#include "editcaption/data/types.h"

namespace ec::train {

struct MarginConfig {
  using is_config_section = void;
  /// Add the manifest's per-pair `margin` field when a record has one.
  bool use_manifest = true;
  /// Weight per severity of the rejected answer (P0 critical ... P2 minor).
  std::map<std::string, double> severity{{"P0", 0.0}, {"P1", 0.0}, {"P2", 0.0}};
  /// Weight per failure-mode type of the rejected answer.
  std::map<std::string, double> error_type{{"orientation", 0.0}, {"viewpoint", 0.0}, {"attribute", 0.0},
                                           {"subject", 0.0},     {"omission", 0.0},  {"text", 0.0},
                                           {"other", 0.0}};
  /// Weight of the reference hardness sigmoid(beta * (ref_r - ref_c)): how strongly the reference
  /// already prefers the rejected answer (0.5 when it is indifferent).
  double hardness = 0.0;
  /// Multiplies the whole margin.
  double scale = 1.0;

  template <class V>
  void visit(V& v) {
    v("use_manifest", use_manifest, "Add the per-pair `margin` of the manifest when present.");
    v("severity", severity, "Margin weight per severity of the rejected answer (P0, P1, P2).");
    v("error_type", error_type, "Margin weight per failure-mode type of the rejected answer.");
    v("hardness", hardness, "Weight of the reference hardness sigmoid(beta * (ref_r - ref_c)).", config::at_least(0.0));
    v("scale", scale, "Multiplier of the whole margin.", config::at_least(0.0));
  }
  void validate(config::Validation& v) const;
  /// True when every term is off: plain DPO.
  bool is_zero() const;
};

/// The margin of one pair. `ref_chosen`/`ref_rejected` are the reference's sequence log-probs.
double pair_margin(const MarginConfig& config, double beta, std::optional<Severity> severity,
                   std::optional<ErrorType> error_type, std::optional<double> manifest_margin, double ref_chosen,
                   double ref_rejected);

}  // namespace ec::train
