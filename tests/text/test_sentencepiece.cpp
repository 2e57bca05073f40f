// sentencepiece: parity with the Python package on the same model and corpus, and
// `editcaption tokenizer train` (special tokens reserved, deterministic, readable by Python).
#include <gtest/gtest.h>

#include <cmath>
#include <iostream>

#include "editcaption/core/error.h"
#include "editcaption/data/sentencepiece_tokenizer.h"
#include "tests/text/text_fixture.h"

namespace ec::data {
namespace {

using test::read_corpus;
using test::read_jsonl;
using test::show_ids;
using test::text_fixture;

// The fixture's model is a unigram model. Where two segmentations have exactly the same score,
// libsentencepiece 0.1.97 (Debian) and the Python package (0.2) may pick different ones; such a
// difference is accepted only if it is a genuine tie (same total score, same pieces' text) and rare.
TEST(SentencePiece, CorpusIdsAndDecodesEqualPythonSentencepiece) {
  auto tok = SentencePieceTokenizer::from_file(text_fixture("spm/tokenizer.model"));
  EXPECT_EQ(tok->kind(), "sentencepiece");
  auto corpus = read_corpus();
  auto expected = read_jsonl(text_fixture("spm/expected.jsonl"));
  ASSERT_EQ(corpus.size(), expected.size());
  auto score = [&](const std::vector<int32_t>& ids) {
    double s = 0;
    for (int32_t id : ids) s += tok->piece_score(id);
    return s;
  };
  int bad = 0, ties = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    auto want = expected[i][0].get<std::vector<int32_t>>();
    auto got = tok->encode(corpus[i]);
    bool tie = got != want && got.size() == want.size() && std::abs(score(got) - score(want)) < 1e-3 &&
               tok->decode(got) == tok->decode(want);
    ties += tie;
    if (got != want && !tie && ++bad <= 5) {
      ADD_FAILURE() << "text " << i << " " << nlohmann::json(corpus[i]).dump() << "\n  python: " << show_ids(want)
                    << "\n  editcaption: " << show_ids(got);
    }
    if (tok->decode(want) != expected[i][1].get<std::string>() && ++bad <= 5) ADD_FAILURE() << "decode " << i;
    if (tok->decode(want, true) != expected[i][2].get<std::string>() && ++bad <= 5) ADD_FAILURE() << "decode(skip) " << i;
  }
  EXPECT_EQ(bad, 0);
  EXPECT_LE(ties, static_cast<int>(corpus.size() / 1000)) << "exact-score ties resolved differently";
  std::cout << "sentencepiece unigram parity: " << corpus.size() - ties << " of " << corpus.size()
            << " texts identical, " << ties << " equal-score ties\n";
}

/// Instruction-like training text written by the test.
std::filesystem::path write_training_text(const test::TempDir& dir) {
  const char* verbs[] = {"Move", "Replace", "Rotate", "Make", "Shift", "Zoom in on"};
  const char* colours[] = {"red", "dark blue", "light green", "golden yellow", "grey"};
  const char* objects[] = {"mug", "cat", "lamp", "sign", "balloon", "car"};
  const char* places[] = {"to the left", "to the right", "upward", "by 45 degrees", "toward the camera"};
  std::string text;
  for (auto v : verbs)
    for (auto c : colours)
      for (auto o : objects)
        for (auto p : places) text += fmt::format("{} the {} {} {}.\n", v, c, o, p);
  text += "把红色的杯子移到左边。\n将背景换成夜晚的天空 🌙。\n";
  auto path = dir / "train.txt";
  test::write_text(path, text);
  return path;
}

TEST(SentencePiece, TrainReservesChatTokensAndIsDeterministic) {
  test::TempDir dir;
  auto input = write_training_text(dir);
  // A manifest contributes its instruction / chosen / rejected texts.
  test::write_text(dir / "m.jsonl",
                   "{\"id\": \"a\", \"instruction\": \"Swap the cat and the lamp.\"}\n\n"
                   "{\"id\": \"b\", \"chosen\": \"Pan the camera left.\", \"rejected\": \"Move the mug left.\"}\n");
  for (const char* out : {"one", "two"}) {
    auto r = test::run_cli({"tokenizer", "train", "--input", input.string(), "--manifest", (dir / "m.jsonl").string(),
                            "--vocab-size", "600", "--model-type", "unigram", "--out", (dir / out).string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(test::read_text(dir / "one" / "tokenizer.model"), test::read_text(dir / "two" / "tokenizer.model"));
  auto info = nlohmann::json::parse(test::read_text(dir / "one" / "tokenizer_train.json"));
  EXPECT_EQ(info["sentences"].get<int>(), 5 * 6 * 5 * 6 + 2 + 3);

  auto tok = load_tokenizer(dir / "one");
  const auto& specials = chat_special_tokens();
  for (size_t i = 0; i < specials.size(); ++i) {
    EXPECT_EQ(tok->token_to_id(specials[i]), static_cast<int32_t>(i + 1)) << specials[i];
    EXPECT_TRUE(tok->is_special(static_cast<int32_t>(i + 1)));
  }
  SpecialTokenIds sp = tok->special_tokens();
  auto ids = tok->encode("<|im_start|>user\nMove the red mug.<|im_end|>\n");
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), sp.im_start);
  EXPECT_EQ(std::count(ids.begin(), ids.end(), sp.im_end), 1);
  EXPECT_EQ(tok->decode(ids), "<|im_start|>user\nMove the red mug.<|im_end|>\n");
  EXPECT_EQ(tok->decode(ids, true), "user\nMove the red mug.\n");
  // Characters never seen in training come back through the byte-fallback pieces.
  EXPECT_EQ(tok->decode(tok->encode("Ωmega ✨ x")), "Ωmega ✨ x");
  EXPECT_FALSE(tok->token_to_id("<|not a token|>").has_value());
}

TEST(SentencePiece, TrainedModelEncodesLikePythonSentencepiece) {
  test::TempDir dir;
  auto input = write_training_text(dir);
  auto r = test::run_cli({"tokenizer", "train", "--input", input.string(), "--vocab-size", "700", "--model-type", "bpe",
                          "--out", (dir / "tok").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // The first 2000 corpus texts, written for the Python reference.
  auto corpus = read_corpus();
  corpus.resize(2000);
  std::string lines;
  for (const auto& t : corpus) lines += nlohmann::json(t).dump() + "\n";
  test::write_text(dir / "texts.jsonl", lines);
  auto py = test::run_command({test::python(), (test::source_dir() / "tools/reference/spm_encode.py").string(), "--model",
                               (dir / "tok/tokenizer.model").string(), "--texts", (dir / "texts.jsonl").string(), "--out",
                               (dir / "py.jsonl").string()});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  auto tok = load_tokenizer(dir / "tok" / "tokenizer.model");
  auto expected = read_jsonl(dir / "py.jsonl");
  ASSERT_EQ(expected.size(), corpus.size());
  int bad = 0;
  for (size_t i = 0; i < corpus.size(); ++i) {
    auto want = expected[i][0].get<std::vector<int32_t>>();
    if (tok->encode(corpus[i]) != want && ++bad <= 5) ADD_FAILURE() << "text " << i;
    if (tok->decode(want) != expected[i][1].get<std::string>() && ++bad <= 5) ADD_FAILURE() << "decode " << i;
  }
  EXPECT_EQ(bad, 0);
}

TEST(SentencePiece, TrainErrors) {
  test::TempDir dir;
  auto r = test::run_cli({"tokenizer", "train", "--vocab-size", "600", "--out", (dir / "x").string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--input or --manifest"), std::string::npos) << r.err;
  auto input = write_training_text(dir);
  r = test::run_cli({"tokenizer", "train", "--input", input.string(), "--vocab-size", "100", "--out", (dir / "x").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("too small"), std::string::npos) << r.err;
  test::write_text(dir / "bad.jsonl", "{\"instruction\": \"ok\"}\n{broken\n");
  r = test::run_cli({"tokenizer", "train", "--manifest", (dir / "bad.jsonl").string(), "--vocab-size", "600", "--out",
                     (dir / "x").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("bad.jsonl:2"), std::string::npos) << r.err;
  test::write_text(dir / "bad.txt", "fine\nnot \xff utf8\n");
  r = test::run_cli({"tokenizer", "train", "--input", (dir / "bad.txt").string(), "--vocab-size", "600", "--out",
                     (dir / "x").string()});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("bad.txt:2"), std::string::npos) << r.err;
  test::write_text(dir / "garbage.model", "not a model");
  EXPECT_THROW(load_tokenizer(dir / "garbage.model"), UserError);
}

TEST(SentencePiece, CliEncodeDecodeInfo) {
  auto model = text_fixture("spm/tokenizer.model").string();
  auto r = test::run_cli({"tokenizer", "encode", "--tokenizer", model, "<|im_start|>Move the cat."});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto tok = load_tokenizer(model);
  auto ids = tok->encode("<|im_start|>Move the cat.");
  EXPECT_EQ(r.out, test::show_ids(ids).substr(0, test::show_ids(ids).size() - 1) + "\n");
  std::vector<std::string> args{"tokenizer", "decode", "--tokenizer", model, "--skip-special"};
  for (int32_t id : ids) args.push_back(std::to_string(id));
  r = test::run_cli(args);
  EXPECT_EQ(r.out, "Move the cat.\n");
  r = test::run_cli({"tokenizer", "info", "--tokenizer", text_fixture("bpe").string()});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("hf-bpe"), std::string::npos);
  r = test::run_cli({"tokenizer", "decode", "--tokenizer", model, "12x"});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace ec::data
