// `editcaption tokenizer train|encode|decode|info|bench`: train a sentencepiece tokenizer with the
// chat special tokens reserved (models trained from scratch), and inspect and measure any tokenizer
// editcaption loads (tokenizer.json byte-level BPE or sentencepiece .model).
#include <charconv>
#include <chrono>
#include <fstream>
#include <iostream>
#include <thread>

#include "editcaption/cli/command.h"
#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"
#include "editcaption/data/hf_bpe_tokenizer.h"
#include "editcaption/data/sentencepiece_tokenizer.h"

namespace ec::cli {
namespace {

struct EncodeArgs {
  std::string tokenizer;
  std::vector<std::string> texts;
  bool tokens = false;
};

struct DecodeArgs {
  std::string tokenizer;
  std::vector<std::string> ids;
  bool skip_special = false;
};

int run_encode(const EncodeArgs& a) {
  auto tok = data::load_tokenizer(a.tokenizer);
  for (const auto& text : a.texts) {
    auto ids = tok->encode(text);
    std::vector<std::string> parts;
    for (int32_t id : ids) parts.push_back(a.tokens ? fmt::format("{}:{}", id, tok->id_to_token(id)) : std::to_string(id));
    std::cout << join(parts, " ") << "\n";
  }
  return 0;
}

int run_decode(const DecodeArgs& a) {
  auto tok = data::load_tokenizer(a.tokenizer);
  std::vector<int32_t> ids;
  for (const auto& s : a.ids) {
    for (const auto& part : split(s, ',')) {
      std::string_view p = trim(part);
      if (p.empty()) continue;
      int32_t id = 0;
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), id);
      EC_USER_CHECK(ec == std::errc() && end == p.data() + p.size(), Usage, "tokenizer decode: '{}' is not a token id", p);
      ids.push_back(id);
    }
  }
  std::cout << tok->decode(ids, a.skip_special) << "\n";
  return 0;
}

struct BenchArgs {
  std::string tokenizer;
  std::string input;
  bool jsonl = false;
  int threads = 1;
  int passes = 3;
};

/// Encode throughput: the first pass starts with an empty word cache, later passes hit it.
int run_bench(const BenchArgs& a) {
  auto tok = data::load_tokenizer(a.tokenizer);
  std::ifstream in(a.input, std::ios::binary);
  EC_USER_CHECK(in.good(), Input, "{}: cannot open", a.input);
  std::vector<std::string> texts;
  std::string line;
  size_t bytes = 0;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (a.jsonl) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      EC_USER_CHECK(j.is_string(), Input, "{}:{}: expected one JSON string per line", a.input, n);
      line = j.get<std::string>();
    }
    bytes += line.size();
    texts.push_back(std::move(line));
  }
  EC_USER_CHECK(a.threads >= 1 && a.passes >= 1, Usage, "tokenizer bench: threads and passes must be >= 1");
  std::cout << fmt::format("{} ({}), {} texts, {:.2f} MB, {} thread(s)\n", tok->origin(), tok->kind(), texts.size(),
                           bytes / 1e6, a.threads);
  for (int pass = 0; pass < a.passes; ++pass) {
    std::vector<size_t> tokens(static_cast<size_t>(a.threads), 0);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < a.threads; ++t) {
      workers.emplace_back([&, t] {
        for (size_t i = static_cast<size_t>(t); i < texts.size(); i += static_cast<size_t>(a.threads)) {
          tokens[t] += tok->encode(texts[i]).size();
        }
      });
    }
    for (auto& w : workers) w.join();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    size_t total = 0;
    for (size_t n : tokens) total += n;
    std::cout << fmt::format("pass {} ({}): {:.3f} s, {:.0f} texts/s, {:.2f} MB/s, {:.0f} tokens/s ({} tokens)\n", pass + 1,
                             pass == 0 ? "cold cache" : "warm cache", s, texts.size() / s, bytes / 1e6 / s, total / s,
                             total);
  }
  return 0;
}

int run_info(const std::string& path) {
  auto tok = data::load_tokenizer(path);
  std::cout << "tokenizer   " << tok->origin() << "\nkind        " << tok->kind() << "\nvocab size  " << tok->vocab_size()
            << "\nfingerprint " << tok->fingerprint() << "\n";
  for (const auto& t : data::chat_special_tokens()) {
    auto id = tok->token_to_id(t);
    std::cout << fmt::format("  {:<22} {}\n", t, id ? std::to_string(*id) : std::string("(missing)"));
  }
  return 0;
}

}  // namespace

void register_tokenizer(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("tokenizer", "Train a sentencepiece tokenizer; encode, decode and inspect tokenizers");
  cmd->require_subcommand(1);

  auto train = std::make_shared<data::SentencePieceTrainOptions>();
  auto out = std::make_shared<std::string>();
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto manifests = std::make_shared<std::vector<std::string>>();
  auto* t = cmd->add_subcommand("train",
                                "Train a sentencepiece model on instruction text with the chat special tokens reserved");
  t->add_option("--input", *inputs, "Text file, one sentence per line (repeatable)");
  t->add_option("--manifest", *manifests, "JSONL manifest: its instruction/chosen/rejected texts (repeatable)");
  t->add_option("--vocab-size", train->vocab_size, "Vocabulary size (an upper bound on small corpora)")->required();
  t->add_option("--out", *out, "Output directory (tokenizer.model, tokenizer_train.json)")->required();
  t->add_option("--model-type", train->model_type, "bpe or unigram")->capture_default_str();
  t->add_option("--character-coverage", train->character_coverage, "Share of characters covered by pieces")
      ->capture_default_str();
  t->add_option("--seed", train->seed, "Random seed")->capture_default_str();
  t->add_option("--threads", train->threads, "Training threads (the result depends on it)")->capture_default_str();
  t->callback([&ctx, train, out, inputs, manifests] {
    ctx.action = [train, out, inputs, manifests] {
      train->inputs.assign(inputs->begin(), inputs->end());
      train->manifests.assign(manifests->begin(), manifests->end());
      auto r = data::train_sentencepiece(*train, *out);
      std::cout << fmt::format("tokenizer train: {} sentences -> {} ({} pieces)\n", r.sentences, r.model_path.string(),
                               r.vocab_size);
      return 0;
    };
  });

  auto enc = std::make_shared<EncodeArgs>();
  auto* e = cmd->add_subcommand("encode", "Print the token ids of each TEXT (one line per text)");
  e->add_option("--tokenizer", enc->tokenizer, "tokenizer.json, tokenizer.model or a directory holding one")->required();
  e->add_option("text", enc->texts, "Text to encode (repeatable)")->required();
  e->add_flag("--tokens", enc->tokens, "Print id:token pairs");
  e->callback([&ctx, enc] { ctx.action = [enc] { return run_encode(*enc); }; });

  auto dec = std::make_shared<DecodeArgs>();
  auto* d = cmd->add_subcommand("decode", "Print the text of token ids (space- or comma-separated)");
  d->add_option("--tokenizer", dec->tokenizer, "tokenizer.json, tokenizer.model or a directory holding one")->required();
  d->add_option("ids", dec->ids, "Token ids")->required();
  d->add_flag("--skip-special", dec->skip_special, "Drop special tokens");
  d->callback([&ctx, dec] { ctx.action = [dec] { return run_decode(*dec); }; });

  auto bench = std::make_shared<BenchArgs>();
  auto* b = cmd->add_subcommand("bench", "Measure encode throughput on a text file (one text per line)");
  b->add_option("--tokenizer", bench->tokenizer, "tokenizer.json, tokenizer.model or a directory holding one")->required();
  b->add_option("--input", bench->input, "Text file, one text per line")->required();
  b->add_flag("--jsonl", bench->jsonl, "Each line is a JSON string (texts with newlines)");
  b->add_option("--threads", bench->threads, "Encoding threads sharing one tokenizer")->capture_default_str();
  b->add_option("--passes", bench->passes, "Passes over the input")->capture_default_str();
  b->callback([&ctx, bench] { ctx.action = [bench] { return run_bench(*bench); }; });

  auto info_path = std::make_shared<std::string>();
  auto* i = cmd->add_subcommand("info", "Print the kind, vocabulary size, fingerprint and chat special-token ids");
  i->add_option("--tokenizer", *info_path, "tokenizer.json, tokenizer.model or a directory holding one")->required();
  i->callback([&ctx, info_path] { ctx.action = [info_path] { return run_info(*info_path); }; });
}

}  // namespace ec::cli
