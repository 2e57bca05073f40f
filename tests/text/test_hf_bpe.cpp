// Byte-level BPE (tokenizer.json) against the Python `tokenizers` package on >= 10,000 texts.
#include <gtest/gtest.h>

#include <thread>

#include "editcaption/core/error.h"
#include "editcaption/data/hf_bpe_tokenizer.h"
#include "tests/text/text_fixture.h"

namespace ec::data {
namespace {

using test::read_corpus;
using test::read_jsonl;
using test::show_ids;
using test::text_fixture;

/// Encodes every corpus text and compares with the reference ids; returns the number of mismatches.
int compare_corpus(const Tokenizer& tok, const std::string& ids_file) {
  auto corpus = read_corpus();
  auto expected = read_jsonl(text_fixture(ids_file));
  EXPECT_GE(corpus.size(), 10000u);
  EXPECT_EQ(corpus.size(), expected.size());
  int bad = 0;
  for (size_t i = 0; i < corpus.size() && i < expected.size(); ++i) {
    auto want = expected[i].get<std::vector<int32_t>>();
    auto got = tok.encode(corpus[i]);
    if (got != want && ++bad <= 5) {
      ADD_FAILURE() << "text " << i << " " << nlohmann::json(corpus[i]).dump() << "\n  tokenizers: " << show_ids(want)
                    << "\n  editcaption: " << show_ids(got);
    }
  }
  return bad;
}

TEST(HfBpe, CorpusIdsEqualTokenizers) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  EXPECT_EQ(tok->kind(), "hf-bpe");
  EXPECT_EQ(compare_corpus(*tok, "bpe/ids.jsonl"), 0);
}

TEST(HfBpe, LegacyStringMergesGiveTheSameIds) {
  auto tok = load_tokenizer(text_fixture("bpe_legacy/tokenizer.json"));
  EXPECT_EQ(compare_corpus(*tok, "bpe/ids.jsonl"), 0);
}

TEST(HfBpe, IgnoreMergesVariant) {
  auto tok = load_tokenizer(text_fixture("bpe_ignore_merges"));
  EXPECT_EQ(compare_corpus(*tok, "bpe_ignore_merges/ids.jsonl"), 0);
}

TEST(HfBpe, RandomMergesInShuffledRankOrder) {
  auto tok = load_tokenizer(text_fixture("bpe_random_merges"));
  EXPECT_EQ(compare_corpus(*tok, "bpe_random_merges/ids.jsonl"), 0);
}

TEST(HfBpe, Gpt2StyleByteLevelRegexAndPrefixSpace) {
  auto tok = load_tokenizer(text_fixture("gpt2"));
  EXPECT_EQ(compare_corpus(*tok, "gpt2/ids.jsonl"), 0);
}

TEST(HfBpe, DecodeEqualsTokenizers) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  auto ids = read_jsonl(text_fixture("bpe/ids.jsonl"));
  auto decodes = read_jsonl(text_fixture("bpe/decode.jsonl"));
  ASSERT_EQ(ids.size(), decodes.size());
  int bad = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    auto v = ids[i].get<std::vector<int32_t>>();
    if (tok->decode(v, false) != decodes[i][0].get<std::string>() && ++bad <= 3) ADD_FAILURE() << "decode " << i;
    if (tok->decode(v, true) != decodes[i][1].get<std::string>() && ++bad <= 3) ADD_FAILURE() << "decode(skip) " << i;
  }
  EXPECT_EQ(bad, 0);
}

TEST(HfBpe, DecodeArbitraryIdsWithBrokenUtf8) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  int bad = 0;
  for (const auto& row : read_jsonl(text_fixture("bpe/random_decode.jsonl"))) {
    auto v = row[0].get<std::vector<int32_t>>();
    if (tok->decode(v, false) != row[1].get<std::string>() && ++bad <= 3) {
      ADD_FAILURE() << row.dump() << " got " << nlohmann::json(tok->decode(v, false)).dump();
    }
    if (tok->decode(v, true) != row[2].get<std::string>() && ++bad <= 3) ADD_FAILURE() << row.dump() << " (skip)";
  }
  EXPECT_EQ(bad, 0);
}

TEST(HfBpe, SpecialTokensAndVocabulary) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  SpecialTokenIds sp = tok->special_tokens();
  EXPECT_EQ(tok->token_to_id("<|im_start|>"), sp.im_start);
  EXPECT_EQ(sp.im_end, sp.im_start + 1);
  EXPECT_EQ(sp.image_pad, sp.im_start + 11);  // Qwen's order (spec 5.2)
  EXPECT_TRUE(tok->is_special(sp.im_end));
  EXPECT_FALSE(tok->is_special(*tok->token_to_id("<tool_call>")));  // added, not special
  EXPECT_EQ(tok->id_to_token(sp.image_pad), "<|image_pad|>");
  std::vector<int32_t> want{sp.im_start};
  for (const char* part : {"user", "\n"}) {
    auto ids = tok->encode(part);
    want.insert(want.end(), ids.begin(), ids.end());
  }
  EXPECT_EQ(tok->encode("<|im_start|>user\n"), want);
  EXPECT_EQ(tok->vocab_size(), *tok->token_to_id("[WORD]") + 1);
  EXPECT_FALSE(tok->token_to_id("no such token").has_value());
  EXPECT_EQ(tok->id_to_token(-1), "");
  EXPECT_EQ(tok->decode(std::vector<int32_t>{-5, 1 << 30}), "");
}

TEST(HfBpe, RejectsInvalidUtf8) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  try {
    tok->encode("ok \xC3\x28 bad");
    FAIL() << "expected a UserError";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Input);
    EXPECT_NE(std::string(e.what()).find("offset 3"), std::string::npos) << e.what();
  }
}

TEST(HfBpe, ThreadsShareTheWordCache) {
  auto tok = load_tokenizer(text_fixture("bpe"));
  auto corpus = read_corpus();
  corpus.resize(2000);
  std::vector<std::vector<int32_t>> a(corpus.size()), b(corpus.size());
  std::thread t1([&] {
    for (size_t i = 0; i < corpus.size(); ++i) a[i] = tok->encode(corpus[i]);
  });
  std::thread t2([&] {
    for (size_t i = corpus.size(); i-- > 0;) b[i] = tok->encode(corpus[i]);
  });
  t1.join();
  t2.join();
  EXPECT_EQ(a, b);
}

TEST(HfBpe, BadFilesNameTheFileAndKey) {
  test::TempDir dir;
  auto expect_error = [&](const std::string& content, const std::string& needle) {
    test::write_text(dir / "tokenizer.json", content);
    try {
      load_tokenizer(dir.path());
      ADD_FAILURE() << "expected a UserError for " << needle;
    } catch (const UserError& e) {
      std::string what = e.what();
      EXPECT_EQ(e.code(), ExitCode::Input);
      EXPECT_NE(what.find("tokenizer.json"), std::string::npos) << what;
      EXPECT_NE(what.find(needle), std::string::npos) << what;
    }
  };
  expect_error("{ not json", "not valid JSON");
  expect_error("{}", "'model'");
  const std::string byte_level = R"("pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false})";
  expect_error(R"({"model": {"type": "WordPiece", "vocab": {}}})", "WordPiece");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}, )" + byte_level + "}", "merge 0");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}, )" + byte_level + "}", "merge 0");
  expect_error(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "normalizer": {"type": "Lowercase"}, )" +
                   byte_level + "}",
               "Lowercase");
  expect_error(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}})", "byte-level");
  test::TempDir empty;
  try {
    load_tokenizer(empty.path());
    FAIL();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer.json"), std::string::npos);
  }
  EXPECT_THROW(load_tokenizer(empty / "missing.json"), UserError);
}

TEST(HfBpe, PreTokenizerSplitsLikeQwen) {
  auto tok = HfBpeTokenizer::from_file(text_fixture("bpe/tokenizer.json"));
  // Digits one by one, contractions case-insensitive, newlines after punctuation kept with it
  // (the same split as `tokenizers`' pre_tokenize_str on this text).
  auto words = tok->pre_tokenize("IT'S 2024!\n\n  ok<|im_end|>x");
  std::vector<std::string> want{"IT", "'S", " ", "2", "0", "2", "4", "!\n\n", " ", " ok", "<|im_end|>", "x"};
  EXPECT_EQ(words, want);
}

}  // namespace
}  // namespace ec::data
