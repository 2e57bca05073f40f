// sentencepiece models (libsentencepiece): loading a .model for the Tokenizer interface, and
// training one on instruction text with the chat special tokens reserved as user-defined symbols
// (matched whole, ids 1..14 in Qwen's order), for models trained from scratch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "editcaption/data/tokenizer.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace ec::data {

class SentencePieceTokenizer final : public Tokenizer {
 public:
  /// Loads a .model file; a problem is a UserError(Input) naming it.
  static std::unique_ptr<SentencePieceTokenizer> from_file(const std::filesystem::path& path);
  SentencePieceTokenizer(std::string serialized_model, std::string origin);
  ~SentencePieceTokenizer() override;

  std::vector<int32_t> encode(std::string_view text) const override;
  /// sentencepiece's own decode; `skip_special` drops the chat special tokens and control symbols.
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  int64_t vocab_size() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  bool is_special(int32_t id) const override;
  std::string kind() const override { return "sentencepiece"; }
  std::string fingerprint() const override { return fingerprint_; }
  std::string origin() const override { return origin_; }

  /// The model's score of a piece (log-probability for unigram models).
  float piece_score(int32_t id) const;

 private:
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::vector<bool> special_;
  std::string fingerprint_;
  std::string origin_;
};

/// `editcaption tokenizer train`: what to train on and how.
struct SentencePieceTrainOptions {
  /// Plain-text files, one sentence per line (empty lines are skipped).
  std::vector<std::filesystem::path> inputs;
  /// JSONL manifests: the `instruction`, `chosen` and `rejected` strings of every record.
  std::vector<std::filesystem::path> manifests;
  int vocab_size = 4000;
  /// "bpe" or "unigram". BPE segments identically in every sentencepiece version; a unigram model
  /// can break exact score ties differently across versions (docs/tokenizers.md).
  std::string model_type = "bpe";
  double character_coverage = 0.9995;
  uint64_t seed = 1234;
  /// Training threads. The model is deterministic for given inputs, seed and thread count.
  int threads = 1;
};

struct SentencePieceTrainResult {
  std::filesystem::path model_path;
  int64_t vocab_size = 0;
  int64_t sentences = 0;
};

/// Trains a model and writes out_dir/tokenizer.model and out_dir/tokenizer_train.json (options
/// and input hashes). The vocabulary may come out smaller than requested on a small corpus.
SentencePieceTrainResult train_sentencepiece(const SentencePieceTrainOptions& options,
                                             const std::filesystem::path& out_dir);

}  // namespace ec::data
