// The paper's three judge prompts (appendix B, listings 1 to 3), one per scoring dimension, and
// how they are filled in. The listing text before "[Ground Truth" (marked [SYSTEM] in the paper)
// is the system message; the rest, with the ground truth and the instruction filled in, is the
// user message that follows the two images (Image A = source, Image B = edited target).
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace ec::eval {

enum class JudgeDimension { Accuracy, Completeness, Clarity };
inline constexpr std::array<JudgeDimension, 3> kJudgeDimensions = {
    JudgeDimension::Accuracy, JudgeDimension::Completeness, JudgeDimension::Clarity};

/// "accuracy", "completeness", "clarity" (the `dimension` value of the judge's JSON reply).
const char* dimension_name(JudgeDimension d);
std::optional<JudgeDimension> parse_dimension(std::string_view name);

/// The weights of the paper's overall score: S = 0.4 Acc + 0.4 Comp + 0.2 Clar.
double dimension_weight(JudgeDimension d);

struct JudgePrompt {
  std::string system;
  std::string user;
};

/// The listing for `d` with its placeholders filled in: {gt_text} (accuracy, completeness) or
/// {gt_changes} (clarity), {model_name} and {instruction}.
JudgePrompt judge_prompt(JudgeDimension d, const std::string& gt_text, const std::string& gt_changes,
                         const std::string& model_name, const std::string& instruction);

/// Replaces each {name} in `tmpl` by values[name] in one pass (values are not rescanned, so an
/// instruction containing "{gt_text}" stays as written). Unknown names are left as they are.
std::string fill_template(std::string_view tmpl, const std::map<std::string, std::string>& values);

}  // namespace ec::eval
