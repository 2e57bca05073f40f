// The paper's scoring rules (section 5.2, appendix A table 5, appendix B listings 1-3), applied
// to an Alignment. Each rule is a function of its own so that it can be tested alone; the
// thresholds and deductions are documented in docs/evaluation.md.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "editcaption/data/types.h"
#include "editcaption/eval/alignment.h"
#include "editcaption/eval/parser.h"

namespace ec::eval {

/// S = 0.4 Accuracy + 0.4 Completeness + 0.2 Clarity (paper eq. 4); shared with judge mode.
double weighted_score(double accuracy, double completeness, double clarity);

// ---------------------------------------------------------------------------------------------
// Accuracy (listing 1 and table 7): "lie detector mode + minimum coverage", integer 1..5.

struct AccuracyResult {
  int score = 1;
  int major_errors = 0;    ///< wrong facts about primary changes
  int minor_errors = 0;    ///< wrong facts about secondary or unchanged elements, unreadable clauses
  int hallucinations = 0;  ///< fabricated operations
  double coverage = 0;     ///< primary changes hit / total
  bool related = false;    ///< anything in the instruction concerns the edit at all
  std::string reasoning;
};
/// 1: nothing concerns the edit; 2: a hallucination or >= 2 major errors; 3: one major error or
/// coverage < 30%; 4: minor errors only, or coverage < 50%; 5: all correct with coverage >= 50%.
int accuracy_rubric(bool related, int major, int minor, int hallucinations, double coverage);
AccuracyResult accuracy(const Alignment& alignment);

// ---------------------------------------------------------------------------------------------
// Completeness (listing 2 and table 8): coverage of primary changes through a lookup table.

enum class CompletenessRule {
  /// Listing 2's table, with what its own worked example (table 8) shows where the table is silent
  /// or disagrees: 0 < R < 50% scores 3 when some primary change is fully stated (table 8 row 3:
  /// 33% -> 3) and 2 when only partly (row 2: 16.7% -> 2).
  PaperExamples,
  /// Listing 2's table read literally (20% <= R < 50% -> 2; 0 < R < 20%, which it leaves out, -> 2).
  Listing2,
};

struct CompletenessResult {
  double score = 1;
  double coverage = 0;  ///< R = K / N
  double hits = 0;      ///< K (0.5 for a change mentioned without its result)
  int total = 0;        ///< N
  bool bonus = false;   ///< +0.5 for covered secondary changes
  std::string reasoning;
};
double completeness_lookup(double coverage, bool any_full_hit, CompletenessRule rule);
/// The lookup plus the minor-change bonus: +0.5 when 0 < R < 100% and a secondary change is
/// covered (never at R = 0: table 8's last row, a secondary change alone, scores 1).
double completeness_rubric(double coverage, bool any_full_hit, bool secondary_covered, CompletenessRule rule);
CompletenessResult completeness(const Alignment& alignment, CompletenessRule rule);

// ---------------------------------------------------------------------------------------------
// Clarity (listing 3 and table 9): blind executability, float 1..5.

struct ClarityResult {
  double score = 1;
  int forbidden_terms = 0;  ///< vague verbs without a target, vague degrees, vague references, subjective words
  double ceiling = 5;       ///< 1 term -> 3.0, 2 -> 2.5, 3+ -> 2.0
  int missing_slots = 0;
  int coarse_slots = 0;
  int unclear_references = 0;
  int unparsed = 0;
  int unknown_words = 0;
  bool executable = false;
  bool verbose = false;     ///< > 150 words with < 5 information points
  std::string reasoning;
};
/// Deductions from 5 (docs/evaluation.md): 1.0 per forbidden term, 1.0 per unclear reference,
/// 0.5 per missing attribute slot, 0.25 per coarse one, 0.5 per unreadable clause, 0.25 per
/// unknown word (at most 1.0), 0.5 for verbosity; then the forbidden-term ceiling; 1.0 when
/// nothing in the instruction can be executed.
double forbidden_term_ceiling(int terms);
ClarityResult clarity(const Alignment& alignment, const ParsedInstruction& parsed);

// ---------------------------------------------------------------------------------------------
// Defects (table 5): the human-evaluation checklist.

struct Defect {
  ErrorType type = ErrorType::Other;
  Severity severity = Severity::P2;
  int checklist_row = 8;  ///< table 5 row, 1..8
  std::string rule;       ///< e.g. "direction_reversed", "vague_degree"
  std::string message;
  bool hidden = false;    ///< below a P0: the protocol does not count it
};

/// Table 3's classes: no defect, or the most severe defect's level.
enum class Verdict { Correct, P0, P1, P2 };
const char* verdict_name(Verdict v);

std::vector<Defect> classify_defects(const Alignment& alignment, const ParsedInstruction& parsed);
/// The verdict; marks P1/P2 defects hidden when a P0 is present ("if a P0 error is identified,
/// lower-level categories are not considered").
Verdict apply_hierarchy(std::vector<Defect>& defects);
/// The type of the first visible defect in (severity, type priority) order.
std::optional<ErrorType> primary_error_type(const std::vector<Defect>& defects);

}  // namespace ec::eval
