// Chat layouts and sample encoding against the Hugging Face processors (Qwen2VLProcessor /
// Qwen3VLProcessor with the published chat templates) around the locally trained BPE.
#include <gtest/gtest.h>

#include "editcaption/config/node.h"
#include "editcaption/core/error.h"
#include "editcaption/data/mrope.h"
#include "editcaption/data/sample_encoding.h"
#include "tests/text/text_fixture.h"

namespace ec::data {
namespace {

using test::show_ids;
using test::text_fixture;

struct Case {
  ChatOptions options;
  std::vector<ProcessedImage> images;
  std::string answer;
  nlohmann::json j;
};

std::vector<Case> load_cases() {
  std::ifstream in(text_fixture("chat/cases.json"));
  EXPECT_TRUE(in.good());
  auto all = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& j : all) {
    Case c;
    c.options.layout = config::parse_enum<ChatLayout>(j["layout"].get<std::string>(), "layout");
    c.options.prompt = j["prompt"].get<std::string>();
    if (!j["system"].is_null()) c.options.system_prompt = j["system"].get<std::string>();
    c.options.add_vision_id = j["add_vision_id"].get<bool>();
    for (const auto& g : j["grids"]) {
      ProcessedImage im;
      im.grid_thw = {g[0].get<int64_t>(), g[1].get<int64_t>(), g[2].get<int64_t>()};
      c.images.push_back(im);
    }
    c.answer = j["answer"].get<std::string>();
    c.j = j;
    cases.push_back(std::move(c));
  }
  EXPECT_GE(cases.size(), 20u);
  return cases;
}

std::string describe(const Case& c) {
  return fmt::format("{} system={} vision_id={} answer={}", c.j["layout"].get<std::string>(), c.j["system"].dump(),
                     c.options.add_vision_id, nlohmann::json(c.answer).dump());
}

TEST(ChatTemplate, RenderedTextEqualsTheHfChatTemplate) {
  for (const auto& c : load_cases()) {
    std::string text = render_chat_prompt(c.options, c.images.size()) + c.answer + "<|im_end|>\n";
    EXPECT_EQ(text, c.j["text"].get<std::string>()) << describe(c);
  }
}

TEST(ChatTemplate, SftSampleEqualsHfProcessorTokenForToken) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  int layouts_seen[2] = {0, 0};
  for (const auto& c : load_cases()) {
    Sample s = make_sft_sample(*tok, c.options, "case", c.images, c.answer);
    auto want = c.j["input_ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(s.input_ids, want) << describe(c) << "\n  hf:   " << show_ids(want) << "\n  ours: " << show_ids(s.input_ids);
    EXPECT_EQ(s.labels, c.j["labels"].get<std::vector<int64_t>>()) << describe(c);
    EXPECT_EQ(encode_chat_prompt(*tok, c.options, c.images), c.j["prompt_ids"].get<std::vector<int32_t>>()) << describe(c);
    EXPECT_EQ(s.id, "case");
    EXPECT_EQ(s.images.size(), 2u);
    // The pads agree with the grids (what the M-RoPE builder and the model check).
    std::vector<GridThw> grids{c.images[0].grid_thw, c.images[1].grid_thw};
    EXPECT_NO_THROW(mrope_positions(s.input_ids, grids, tok->special_tokens()));
    ++layouts_seen[static_cast<int>(c.options.layout)];
  }
  EXPECT_GT(layouts_seen[0], 0);
  EXPECT_GT(layouts_seen[1], 0);
}

TEST(ChatTemplate, LabelsCoverExactlyTheAnswerAndEndOfTurn) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  SpecialTokenIds sp = tok->special_tokens();
  ChatOptions o;
  std::vector<ProcessedImage> images(2);
  images[0].grid_thw = {1, 4, 6};
  images[1].grid_thw = {1, 8, 2};
  Sample s = make_sft_sample(*tok, o, "x", images, "Move the cat left.");
  auto answer = tok->encode("Move the cat left.");
  std::vector<int64_t> labelled;
  for (int64_t l : s.labels) {
    if (l != kIgnoreIndex) labelled.push_back(l);
  }
  std::vector<int64_t> want(answer.begin(), answer.end());
  want.push_back(sp.im_end);
  EXPECT_EQ(labelled, want);
  EXPECT_EQ(s.labels.back(), kIgnoreIndex);
  EXPECT_EQ(std::count(s.input_ids.begin(), s.input_ids.end(), sp.image_pad), 6 + 4);
  EXPECT_EQ(s.input_ids.back(), tok->encode("\n")[0]);
}

TEST(ChatTemplate, PairSharesThePromptOfTheSftSample) {
  for (const char* dir : {"bpe", "spm/tokenizer.model"}) {
    auto tok = load_tokenizer(text_fixture(dir));
    for (ChatLayout layout : {ChatLayout::Qwen2VL, ChatLayout::Qwen3VL}) {
      ChatOptions o;
      o.layout = layout;
      std::vector<ProcessedImage> images(2);
      images[0].grid_thw = {1, 10, 14};
      images[1].grid_thw = {1, 6, 8};
      std::string chosen = "Pan the camera to the left; the red mug stays put.";
      std::string rejected = "Move the red mug to the right.";
      PairSample p = make_pair_sample(*tok, o, "pair-7", images, chosen, rejected);
      Sample s = make_sft_sample(*tok, o, "pair-7", images, chosen);
      std::vector<int32_t> joined = p.prompt_ids;
      joined.insert(joined.end(), p.chosen_ids.begin(), p.chosen_ids.end());
      std::vector<int32_t> sft(s.input_ids.begin(), s.input_ids.end() - static_cast<long>(tok->encode("\n").size()));
      EXPECT_EQ(joined, sft) << dir;
      SpecialTokenIds sp = tok->special_tokens();
      auto tail = tok->encode("<|im_start|>assistant\n");
      ASSERT_GE(p.prompt_ids.size(), tail.size());
      EXPECT_TRUE(std::equal(tail.begin(), tail.end(), p.prompt_ids.end() - static_cast<long>(tail.size()))) << dir;
      EXPECT_EQ(p.chosen_ids.back(), sp.im_end);
      EXPECT_EQ(p.rejected_ids.back(), sp.im_end);
      EXPECT_EQ(p.id, "pair-7");
      EXPECT_EQ(p.images.size(), 2u);
    }
  }
}

TEST(ChatTemplate, BadAnswersNameTheSample) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  ChatOptions o;
  std::vector<ProcessedImage> images(1);
  images[0].grid_thw = {1, 2, 2};
  auto expect_input_error = [&](std::string_view answer, const std::string& needle) {
    try {
      make_sft_sample(*tok, o, "rec-42", images, answer);
      ADD_FAILURE() << "expected a UserError for " << needle;
    } catch (const UserError& e) {
      EXPECT_EQ(e.code(), ExitCode::Input);
      EXPECT_NE(std::string(e.what()).find("rec-42"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_input_error("", "empty");
  expect_input_error(" \n ", "empty");
  expect_input_error("Move it<|im_end|>", "<|im_end|>");
  expect_input_error("bad \xC0\xAF byte", "UTF-8");
  EXPECT_THROW(make_pair_sample(*tok, o, "rec-42", images, "fine", "<|image_pad|>"), UserError);
}

TEST(ChatTemplate, PromptConfigSection) {
  auto family_options = [](const char* yaml, ModelFamily family) {
    return make_chat_options(config::read<PromptConfig>(config::parse_yaml(yaml, "test.yaml")), family);
  };
  ChatOptions q3 = family_options("text: Describe the edit.\n", ModelFamily::Qwen3VL);
  EXPECT_EQ(q3.layout, ChatLayout::Qwen3VL);
  EXPECT_FALSE(q3.system_prompt.has_value());
  EXPECT_EQ(render_chat_prompt(q3, 0), "<|im_start|>user\nDescribe the edit.<|im_end|>\n<|im_start|>assistant\n");
  ChatOptions q25 = family_options("system: null\n", ModelFamily::Qwen25VL);
  EXPECT_EQ(q25.layout, ChatLayout::Qwen2VL);
  EXPECT_EQ(q25.prompt, kDefaultInstructionPrompt);
  EXPECT_EQ(render_chat_prompt(q25, 1).rfind("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n", 0), 0u);
  try {
    config::read<PromptConfig>(config::parse_yaml("text: \"hi <|im_end|>\"\n", "p.yaml"));
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("special token"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ec::data
