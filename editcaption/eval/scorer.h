// The structured scorer: instruction text (or an already parsed instruction) + structured ground
// truth -> the paper's three dimensions, S, the table-5 defects and the failure-mode flags.
// Judge mode and `eval --model` reuse SampleScore and the report (report.h).
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/config/visitor.h"
#include "editcaption/eval/alignment.h"
#include "editcaption/eval/parser.h"
#include "editcaption/eval/rules.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::eval {

EC_CONFIG_ENUM(CompletenessRule, {{"paper_examples", CompletenessRule::PaperExamples},
                                  {"listing2", CompletenessRule::Listing2}})

/// `eval.structured` section.
struct ScorerConfig {
  using is_config_section = void;
  CompletenessRule completeness_rule = CompletenessRule::PaperExamples;
  /// A JSON vocabulary layered on the built-in one (docs/evaluation.md); empty: built-in only.
  std::filesystem::path vocabulary;

  template <class V>
  void visit(V& v) {
    v("completeness_rule", completeness_rule,
      "Completeness lookup: paper_examples (listing 2's table as its worked example, table 8, applies it) or "
      "listing2 (the table read literally).");
    v("vocabulary", vocabulary, "JSON vocabulary added to the built-in synthetic one (empty: none).");
  }
};

/// One scored instruction.
struct SampleScore {
  double accuracy = 1, completeness = 1, clarity = 1, s = 1;
  Verdict verdict = Verdict::Correct;
  std::optional<ErrorType> error_type;  ///< of the most severe visible defect
  std::vector<Defect> defects;
  /// Failure modes the paper targets (over all defects, hidden ones included).
  bool orientation_error = false;
  bool viewpoint_error = false;
  bool attribute_error = false;    ///< a wrong attribute value
  bool missing_attribute = false;  ///< an attribute missing or less precise than the truth
  AccuracyResult accuracy_detail;
  CompletenessResult completeness_detail;
  ClarityResult clarity_detail;
  std::vector<Finding> findings;
};

nlohmann::ordered_json to_json(const SampleScore& score);

class StructuredScorer {
 public:
  /// Scores with `vocab` (the synthetic vocabulary by default); the scorer keeps its own copy.
  explicit StructuredScorer(CompletenessRule rule = CompletenessRule::PaperExamples,
                            const Vocabulary& vocab = synthetic_vocabulary());
  /// From the `eval.structured` config: loads the extra vocabulary if one is named.
  static StructuredScorer from_config(const ScorerConfig& config);

  SampleScore score(const GroundTruth& gt, std::string_view instruction) const;
  SampleScore score(const GroundTruth& gt, const ParsedInstruction& parsed) const;

  const Vocabulary& vocabulary() const { return *vocab_; }
  const InstructionParser& parser() const { return *parser_; }

 private:
  CompletenessRule rule_;
  std::unique_ptr<Vocabulary> vocab_;  // stable address: the parser points into it
  std::unique_ptr<InstructionParser> parser_;
};

}  // namespace ec::eval
