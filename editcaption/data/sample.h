// Tokenized training examples, before batching. The data pipeline produces them from manifest
// records (decode + process images, apply the chat layout, tokenize); the collators turn lists
// of them into ModelInputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "editcaption/data/batch.h"

namespace ec::data {

/// One SFT example: prompt (system/user turn with the two images) followed by the answer.
struct Sample {
  std::string id;
  /// Full token sequence: prompt + answer + end-of-turn (+ the newline the template writes after it).
  std::vector<int32_t> input_ids;
  /// Shifted labels (see ModelInputs::labels): kIgnoreIndex except where the next token is an
  /// answer token or the end-of-turn token.
  std::vector<int64_t> labels;
  /// Images in order of appearance (source, then target).
  std::vector<ProcessedImage> images;
  /// Optional metadata carried to metrics and evaluation.
  std::optional<EditCategory> category;
};

/// One DPO example. The prompt (with both images) is shared by the two answers, so it can be
/// encoded once and both answers continue it (pair-aware forward).
struct PairSample {
  std::string id;
  std::vector<int32_t> prompt_ids;    ///< up to and including "<|im_start|>assistant\n"
  std::vector<int32_t> chosen_ids;    ///< chosen answer + end-of-turn token
  std::vector<int32_t> rejected_ids;  ///< rejected answer + end-of-turn token
  std::vector<ProcessedImage> images;
  std::optional<ErrorType> error_type;
  std::optional<Severity> severity;
  std::optional<double> margin;  ///< per-pair margin from the manifest (HAE-DPO), if given
  double weight = 1.0;           ///< per-pair loss weight
};

}  // namespace ec::data
