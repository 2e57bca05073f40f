// The `ablate:` section (the paper's SFT-only / DPO-only / SFT+DPO / SFT+HAE-DPO comparison, the
// preference mining between SFT and DPO) and the `demo:` section (the README's main job).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "editcaption/config/visitor.h"

namespace ec::train {

struct AblationConfig {
  using is_config_section = void;
  /// Held-out test manifest with structured ground truth (`gt`).
  std::filesystem::path test;
  /// Variants to train and evaluate, in table order: sft, dpo_only, sft_dpo, sft_hae_dpo.
  std::vector<std::string> variants{"sft", "dpo_only", "sft_dpo", "sft_hae_dpo"};
  /// Prompts per generate() call when evaluating.
  int64_t eval_batch_size = 16;
  /// Test records evaluated (0: all).
  int64_t eval_limit = 0;
  /// Preference mining (the paper's recipe): sampled answers of the SFT model per training record
  /// that the scorer finds defective become rejected answers next to the reference instruction
  /// (0: train DPO on the configured preference manifest alone).
  int64_t mine_samples = 0;
  /// SFT training records mined (0: all).
  int64_t mine_limit = 0;
  double mine_temperature = 1.0;
  /// SFT manifest the mined pairs come from (empty: the SFT stage's data.train).
  std::filesystem::path mine_manifest;

  template <class V>
  void visit(V& v) {
    v("test", test, "Held-out test manifest with structured ground truth.");
    v("variants", variants, "Variants in table order: sft, dpo_only, sft_dpo, sft_hae_dpo.");
    v("eval_batch_size", eval_batch_size, "Prompts per generation call when evaluating.", config::at_least<int64_t>(1));
    v("eval_limit", eval_limit, "Test records evaluated (0: all).", config::at_least<int64_t>(0));
    v("mine_samples", mine_samples,
      "Sampled SFT answers per training record scored for defects; defective ones become rejected answers (0: off).",
      config::at_least<int64_t>(0));
    v("mine_limit", mine_limit, "SFT training records mined (0: all).", config::at_least<int64_t>(0));
    v("mine_temperature", mine_temperature, "Sampling temperature of the mined answers.", config::greater_than(0.0));
    v("mine_manifest", mine_manifest, "SFT manifest to mine (empty: the SFT stage's data.train).");
  }
};

struct DemoConfig {
  using is_config_section = void;
  /// Sentencepiece vocabulary trained on the synthetic instructions.
  int tokenizer_vocab_size = 1024;

  template <class V>
  void visit(V& v) {
    v("tokenizer_vocab_size", tokenizer_vocab_size, "Vocabulary of the tokenizer the demo trains on the synthetic texts.",
      config::range(64, 1 << 20));
  }
};

}  // namespace ec::train
