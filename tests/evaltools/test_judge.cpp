// Judge mode pieces: the paper's prompts, reply parsing, and S aggregated as the paper does
// (checked against rows of the paper's tables 2 and 4).
#include <gtest/gtest.h>

#include "editcaption/eval/judge_prompts.h"
#include "editcaption/eval/judge_reply.h"
#include "editcaption/eval/judge_scores.h"
#include "editcaption/eval/records.h"

namespace ec::eval {
namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(JudgePrompts, ListingsFilledIn) {
  nlohmann::ordered_json gt = {
      {"primary", {"The dress color changes from grey to pink.",
                   "The shoulder strap style changes from wide straps to thin spaghetti straps."}},
      {"secondary", {{{"object", "necklace"}, {"from", "gold"}, {"to", "thin silver"}}}},
      {"overall", "The woman now wears a pink spaghetti-strap mini dress."}};
  std::string text = ground_truth_text(gt, "");
  EXPECT_TRUE(has(text, "[Primary Changes]\n(1) The dress color changes from grey to pink.\n(2) The shoulder"));
  EXPECT_TRUE(has(text, "[Secondary Changes]\n(1) object: necklace, from: gold, to: thin silver"));
  EXPECT_TRUE(has(text, "[Overall Description]\nThe woman now wears"));
  std::string changes = ground_truth_changes(gt, "");
  EXPECT_FALSE(has(changes, "Overall"));

  auto acc = judge_prompt(JudgeDimension::Accuracy, text, changes, "ours-sft", "Change the dress to {gt_text} pink.");
  EXPECT_TRUE(has(acc.system, "You are evaluating ONLY the [Accuracy] dimension."));
  EXPECT_TRUE(has(acc.system, "Core Principle: Lie Detector Mode + Minimum Coverage."));
  EXPECT_TRUE(has(acc.user, "[Ground Truth]\n[Primary Changes]"));
  EXPECT_TRUE(has(acc.user, "[Instruction to Evaluate (ours-sft)]\nChange the dress to {gt_text} pink."));
  EXPECT_TRUE(has(acc.user, "Step 3: Hallucination check -- any hallucination -> max 2."));
  EXPECT_TRUE(has(acc.user, R"({"dimension":"accuracy","score":<int>,"reasoning":"..."})"));

  auto comp = judge_prompt(JudgeDimension::Completeness, text, changes, "m", "x");
  EXPECT_TRUE(has(comp.system, "75% <= R < 100% -> 4.5"));
  EXPECT_TRUE(has(comp.system, "+0.5. Downward adjustments are strictly PROHIBITED."));
  EXPECT_TRUE(has(comp.user, R"({"dimension":"completeness","score":<float>)"));

  auto cla = judge_prompt(JudgeDimension::Clarity, text, changes, "m", "x");
  EXPECT_TRUE(has(cla.system, "1 term -> max 3.0 | 2 terms -> max 2.5 | 3+ -> max 2.0"));
  EXPECT_TRUE(has(cla.system, "Vague degrees: appropriate / slightly / a bit / somewhat"));
  EXPECT_TRUE(has(cla.user, "[Ground Truth (attribute check only)]\n[Primary Changes]"));
  EXPECT_FALSE(has(cla.user, "Overall Description"));
  for (const auto* p : {&acc, &comp, &cla}) {
    EXPECT_FALSE(has(p->user, "{model_name}"));
    EXPECT_FALSE(has(p->user, "{instruction}"));
    EXPECT_FALSE(has(p->system, "[SYSTEM]"));
  }
  // Without structured ground truth, the reference instruction stands in for it.
  EXPECT_EQ(ground_truth_text(nullptr, "Move the cup left."), "[Reference Instruction]\nMove the cup left.");
}

TEST(JudgeReply, ToleratesFormatting) {
  auto plain = parse_judge_reply(R"({"dimension":"accuracy","score":4,"reasoning":"ok"})", JudgeDimension::Accuracy);
  ASSERT_TRUE(plain.ok) << plain.error;
  EXPECT_EQ(plain.score, 4);
  EXPECT_EQ(plain.reasoning, "ok");

  auto fenced = parse_judge_reply(
      "Step 1: N = 3 {major changes}\nStep 2: ...\n```json\n{\"dimension\": \"completeness\", \"score\": 4.5, "
      "\"reasoning\": \"3 changes, 2 hits\"}\n```\nDone.",
      JudgeDimension::Completeness);
  ASSERT_TRUE(fenced.ok) << fenced.error;
  EXPECT_EQ(fenced.score, 4.5);

  // The last object with a score wins (steps may quote an example first).
  auto last = parse_judge_reply(R"(e.g. {"dimension":"clarity","score":5} ... final: {"dimension":"clarity","score":2.5,"reasoning":"two vague terms"})",
                                JudgeDimension::Clarity);
  ASSERT_TRUE(last.ok);
  EXPECT_EQ(last.score, 2.5);

  auto newline = parse_judge_reply("{\"dimension\":\"clarity\",\"score\":3.0,\"reasoning\":\"line one\nline two\"}",
                                   JudgeDimension::Clarity);
  ASSERT_TRUE(newline.ok) << newline.error;
  EXPECT_EQ(newline.reasoning, "line one\nline two");

  auto string_score = parse_judge_reply(R"({"dimension":"Accuracy","score":"3"})", JudgeDimension::Accuracy);
  ASSERT_TRUE(string_score.ok) << string_score.error;
  EXPECT_EQ(string_score.score, 3);
}

TEST(JudgeReply, MalformedIsNeverScored) {
  struct Case {
    const char* text;
    JudgeDimension d;
    const char* why;
  };
  for (const auto& c : std::vector<Case>{
           {"I think it deserves a 4.", JudgeDimension::Accuracy, "no JSON object"},
           {R"({"dimension":"accuracy","score":4)", JudgeDimension::Accuracy, "no parsable"},
           {R"({"dimension":"accuracy","reasoning":"no score"})", JudgeDimension::Accuracy, "no parsable"},
           {R"({"dimension":"clarity","score":4})", JudgeDimension::Accuracy, "expected 'accuracy'"},
           {R"({"dimension":"accuracy","score":4.5})", JudgeDimension::Accuracy, "not an integer"},
           {R"({"dimension":"completeness","score":3.7})", JudgeDimension::Completeness, "0.5 grid"},
           {R"({"dimension":"clarity","score":6})", JudgeDimension::Clarity, "outside [1, 5]"},
           {R"({"dimension":"clarity","score":0})", JudgeDimension::Clarity, "outside [1, 5]"},
           {R"({"dimension":"clarity","score":"high"})", JudgeDimension::Clarity, "not a number"},
           {R"({"dimension":"clarity","score":null})", JudgeDimension::Clarity, "not a number"},
       }) {
    auto r = parse_judge_reply(c.text, c.d);
    EXPECT_FALSE(r.ok) << c.text;
    EXPECT_TRUE(has(r.error, c.why)) << c.text << " -> " << r.error;
  }
}

TEST(JudgeReply, ChatCompletionContent) {
  auto s = chat_completion_content(R"({"choices":[{"message":{"role":"assistant","content":"hello"}}]})");
  EXPECT_EQ(s.text, "hello");
  auto parts = chat_completion_content(
      R"({"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]})");
  EXPECT_EQ(parts.text, "ab");
  EXPECT_FALSE(chat_completion_content("<html>bad gateway</html>").error.empty());
  EXPECT_FALSE(chat_completion_content(R"({"choices":[]})").error.empty());
  EXPECT_TRUE(has(chat_completion_content(R"({"error":{"message":"overloaded"}})").error, "overloaded"));
  EXPECT_FALSE(chat_completion_content(R"({"choices":[{"message":{"content":""}}]})").error.empty());
}

TEST(JudgeScores, OverallScoreReproducesThePaper) {
  // Table 2 (Eval-400): Gemini-3-Pro 4.70/4.85/4.43 -> 4.706; GPT-4.1 4.03/4.60/3.84 -> 4.220.
  EXPECT_NEAR(overall_score(4.70, 4.85, 4.43), 4.706, 5e-4);
  EXPECT_NEAR(overall_score(4.03, 4.60, 3.84), 4.220, 5e-4);
  // Table 4 (Eval-400, 32B): SFT only 4.30/4.58/3.98 -> 4.349 (within the table's rounding).
  EXPECT_NEAR(overall_score(4.30, 4.58, 3.98), 4.349, 5e-3);
}

TEST(JudgeScores, AggregatesOnlyCompleteSamples) {
  std::vector<SampleJudgeScores> samples = {
      {"a", "structural", {5.0, 5.0, 4.0}},
      {"b", "structural", {3.0, 2.0, 2.5}},
      {"c", "semantic", {4.0, 4.5, 3.0}},
      {"d", "semantic", {4.0, std::nullopt, 3.0}},  // a dimension never answered: not scored
  };
  auto s = summarize_judge_scores(samples);
  EXPECT_EQ(s.overall.samples, 3u);
  EXPECT_EQ(s.unscored, 1u);
  double sa = 0.4 * 5 + 0.4 * 5 + 0.2 * 4, sb = 0.4 * 3 + 0.4 * 2 + 0.2 * 2.5, sc = 0.4 * 4 + 0.4 * 4.5 + 0.2 * 3;
  EXPECT_NEAR(s.overall.S, (sa + sb + sc) / 3, 1e-12);
  EXPECT_NEAR(s.overall.accuracy, 4.0, 1e-12);
  EXPECT_NEAR(s.overall.completeness, 11.5 / 3, 1e-12);
  EXPECT_NEAR(s.by_category.at("structural").S, (sa + sb) / 2, 1e-12);
  EXPECT_EQ(s.by_category.at("semantic").samples, 1u);
  std::string table = format_judge_table(s, "t");
  EXPECT_TRUE(has(table, "1 sample(s) unscored"));
}

}  // namespace
}  // namespace ec::eval
