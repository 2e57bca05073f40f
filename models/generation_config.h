// Options of text generation (the `generation:` config section); see models/generation.h.
#pragma once

#include <cstdint>
#include <vector>

#include "editcaption/config/visitor.h"

namespace ec::models {

struct GenerationConfig {
  using is_config_section = void;
  int64_t max_new_tokens = 128;
  /// false: greedy (argmax).
  bool do_sample = false;
  double temperature = 1.0;
  /// 0: off.
  int64_t top_k = 0;
  /// 1: off.
  double top_p = 1.0;
  /// 1: off. transformers' rule: a seen token's logit is divided by the penalty when positive and
  /// multiplied when negative; "seen" is the row's real prompt tokens and its generated tokens.
  double repetition_penalty = 1.0;
  /// A row ends when it produces one of these (not included in its output).
  std::vector<int64_t> stop_token_ids;
  /// Fed to rows that have ended while others continue.
  int64_t pad_token_id = 0;
  uint64_t seed = 0;

  template <class V>
  void visit(V& v) {
    v("max_new_tokens", max_new_tokens, "Most tokens generated per prompt.", config::at_least<int64_t>(1));
    v("do_sample", do_sample, "Sample (true) or take the most likely token (false).");
    v("temperature", temperature, "Sampling temperature.", config::greater_than(0.0));
    v("top_k", top_k, "Keep the k most likely tokens (0: all).", config::at_least<int64_t>(0));
    v("top_p", top_p, "Nucleus sampling mass (1: off).", config::range(0.0, 1.0));
    v("repetition_penalty", repetition_penalty, "Penalty on tokens already seen (1: off).", config::greater_than(0.0));
    v("stop_token_ids", stop_token_ids, "Token ids that end a row (e.g. <|im_end|>, <|endoftext|>).");
    v("pad_token_id", pad_token_id, "Token fed to finished rows.", config::at_least<int64_t>(0));
    v("seed", seed, "Seed of the sampling generator.");
  }
};

}  // namespace ec::models
