#include "editcaption/eval/judge_prompts.h"

#include "editcaption/core/check.h"

namespace ec::eval {

namespace {

// Listings 1 to 3 of the paper, with the lines the two-column layout wrapped joined again.
constexpr std::string_view kAccuracySystem = R"(You are evaluating ONLY the [Accuracy] dimension.

Key Reminders:
- Even if an instruction is complete or clear, any factual error MUST result in score deduction.
- Even if an instruction is incomplete or vague, if all stated content is factually correct, a high score may be given.
- Do NOT let Completeness or Clarity influence Accuracy.

Core Principle: Lie Detector Mode + Minimum Coverage.
Accuracy = factual correctness + minimum coverage threshold.
- Omitting attribute degree (GT: "deep red" -> "red") is a Clarity issue; it does NOT affect Accuracy.
- At least 30-50% of major changes must be covered to receive a high score.)";

constexpr std::string_view kAccuracyUser = R"([Ground Truth]
{gt_text}

[Instruction to Evaluate ({model_name})]
{instruction}

Evaluation Steps (output each step):
Step 1: Count total GT major changes (N).
Step 2: List all assertions in the instruction.
Step 3: Hallucination check -- any hallucination -> max 2.
Step 4: Fact-check each assertion (object / op / attribute).
Step 5: Coverage rate = M / N (M: major changes hit).
Step 6: Determine score via rubric (errors + coverage).
Step 7: Output as single-line JSON (no markdown fences):

{"dimension":"accuracy","score":<int>,"reasoning":"..."})";

constexpr std::string_view kCompletenessSystem = R"(You are evaluating ONLY the [Completeness] dimension.

Goal: Compute recall rate of the instruction vs. ground truth.

Core Principles:
1. Count only: check whether each GT change is "triggered" in the instruction -- correctness does not matter here.
2. No double-penalization: score is set by coverage rate alone; do not further deduct after computing coverage.

Hit / Miss Definition:
HIT: Instruction mentions the GT object + action type. (Wrong attributes -> Hit; vague expression -> Hit)
MISS: GT change not mentioned at all, OR action direction is reversed (GT: add / instruction: remove).

Coverage Rate: R = K / N x 100%
(K = hits, N = total GT major changes)

Score Lookup Table (strict; no arbitrary adjustment):
R = 100% -> 5.0
75% <= R < 100% -> 4.5
60% <= R < 75% -> 4.0
50% <= R < 60% -> 3.0
20% <= R < 50% -> 2.0
R = 0% -> 1.0

Bonus (only allowed upward adjustment):
If R < 100% but GT minor changes are additionally covered: +0.5. Downward adjustments are strictly PROHIBITED.)";

constexpr std::string_view kCompletenessUser = R"([Ground Truth]
{gt_text}

[Instruction to Evaluate ({model_name})]
{instruction}

Evaluation Steps (output each step):
Step 1: List all GT major changes; label each Hit/Miss.
Step 2: Compute R = K / N.
Step 3: Look up base score in table.
Step 4: Check minor change bonus (+0.5 if applicable).
Step 5: Output as single-line JSON (no markdown fences):

{"dimension":"completeness","score":<float>,"reasoning":"N changes, K hits (R=X%)..."})";

constexpr std::string_view kClaritySystem = R"(You are evaluating ONLY the [Clarity] dimension.

Key Reminders:
- Even if complete and accurate, vague expression MUST result in deduction.
- Even if incorrect or incomplete, clear expression can still earn a high score.
- Do NOT let Completeness or Accuracy influence Clarity.

Core Principle: Executability Test + Clarity-First.
Test: could a "blind" robot execute this instruction precisely from text alone?

Three Criteria (by importance):
1. Unambiguity (50%): no forbidden terms; operation and target state clearly defined.
2. Attr. Completeness (40%): color/material/shape/size explicitly described.
3. Info. Density (10%): concise > verbose; >150 words with <5 info points -> deduct.

Forbidden Terms (deduct if any present):
Vague verbs: adjust / process / optimize / modify (without explicit target state)
Vague degrees: appropriate / slightly / a bit / somewhat
Vague refs: that / this / it / refer to original image

Forbidden Term Score Ceiling:
1 term -> max 3.0 | 2 terms -> max 2.5 | 3+ -> max 2.0)";

constexpr std::string_view kClarityUser = R"([Ground Truth (attribute check only)]
{gt_changes}

[Instruction to Evaluate ({model_name})]
{instruction}

Evaluation Steps (output each step):
Step 1: Detect forbidden terms (list each found).
Step 2: Check attribute completeness per object.
Step 3: Assess detail level (location/angle/secondary attr).
Step 4: Set score ceiling by forbidden term count.
Step 5: Adjust by attribute completeness and detail.
Step 6: Output as single-line JSON (no markdown fences):

{"dimension":"clarity","score":<float>,"reasoning":"..."})";

}  // namespace

const char* dimension_name(JudgeDimension d) {
  switch (d) {
    case JudgeDimension::Accuracy: return "accuracy";
    case JudgeDimension::Completeness: return "completeness";
    case JudgeDimension::Clarity: return "clarity";
  }
  return "?";
}

std::optional<JudgeDimension> parse_dimension(std::string_view name) {
  for (auto d : kJudgeDimensions) {
    if (name == dimension_name(d)) return d;
  }
  return std::nullopt;
}

double dimension_weight(JudgeDimension d) { return d == JudgeDimension::Clarity ? 0.2 : 0.4; }

std::string fill_template(std::string_view tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t i = 0;
  while (i < tmpl.size()) {
    if (tmpl[i] == '{') {
      size_t close = tmpl.find('}', i + 1);
      if (close != std::string_view::npos) {
        auto it = values.find(std::string(tmpl.substr(i + 1, close - i - 1)));
        if (it != values.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += tmpl[i++];
  }
  return out;
}

JudgePrompt judge_prompt(JudgeDimension d, const std::string& gt_text, const std::string& gt_changes,
                         const std::string& model_name, const std::string& instruction) {
  std::map<std::string, std::string> values{
      {"gt_text", gt_text}, {"gt_changes", gt_changes}, {"model_name", model_name}, {"instruction", instruction}};
  switch (d) {
    case JudgeDimension::Accuracy:
      return {std::string(kAccuracySystem), fill_template(kAccuracyUser, values)};
    case JudgeDimension::Completeness:
      return {std::string(kCompletenessSystem), fill_template(kCompletenessUser, values)};
    case JudgeDimension::Clarity:
      return {std::string(kClaritySystem), fill_template(kClarityUser, values)};
  }
  EC_CHECK(false, "unknown judge dimension");
  return {};
}

}  // namespace ec::eval
