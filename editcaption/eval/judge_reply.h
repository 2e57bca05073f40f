// Reading a judge's answer. The prompts ask for "single-line JSON (no markdown fences)" after the
// evaluation steps; judges also wrap it in fences, add prose around it, or break lines inside
// strings. The parser finds the last JSON object carrying a "score" anywhere in the text and
// checks it against the dimension's scale; anything else is a malformed reply (retried by the
// runner, never scored).
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "editcaption/eval/judge_prompts.h"

namespace ec::eval {

struct JudgeReply {
  bool ok = false;
  double score = 0;
  std::string reasoning;
  std::string error;  ///< why the reply is malformed (when !ok)
};

/// Parses the judge's text for dimension `d`. Scales (paper appendix B): accuracy an integer in
/// [1, 5]; completeness in [1, 5] in steps of 0.5 (the lookup table plus the +0.5 bonus);
/// clarity a number in [1, 5]. A `dimension` field, when present, must name `d`.
JudgeReply parse_judge_reply(std::string_view text, JudgeDimension d);

/// The assistant text of an OpenAI-compatible chat-completions response body
/// (choices[0].message.content, a string or a list of text parts). Empty `error` on success.
struct ChatContent {
  std::string text;
  std::string error;
};
ChatContent chat_completion_content(std::string_view body);

}  // namespace ec::eval
