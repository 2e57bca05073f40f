// One interface for the two tokenizer kinds editcaption uses:
//   - Hugging Face `tokenizer.json` byte-level BPE (Qwen2/Qwen3 format) for Qwen-VL checkpoints;
//   - sentencepiece models trained by `editcaption tokenizer train` for models trained from scratch.
// Both recognise the chat special tokens (<|im_start|>, <|image_pad|>, ...) as whole strings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/data/types.h"

namespace ec::data {

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  /// Token ids of `text`. Special/added tokens written in the text are matched whole.
  virtual std::vector<int32_t> encode(std::string_view text) const = 0;
  /// Text of `ids`; `skip_special` drops special tokens (as HF `skip_special_tokens`).
  virtual std::string decode(std::span<const int32_t> ids, bool skip_special = false) const = 0;
  /// Number of ids the tokenizer can produce (including added tokens).
  virtual int64_t vocab_size() const = 0;
  virtual std::optional<int32_t> token_to_id(std::string_view token) const = 0;
  virtual std::string id_to_token(int32_t id) const = 0;
  virtual bool is_special(int32_t id) const = 0;
  /// "hf-bpe" or "sentencepiece".
  virtual std::string kind() const = 0;
  /// Content hash of the tokenizer files: part of every cache key that depends on token ids.
  virtual std::string fingerprint() const = 0;
  /// The file it was loaded from (for messages).
  virtual std::string origin() const = 0;

  /// The chat special tokens; throws UserError(Input) naming the missing token if absent.
  SpecialTokenIds special_tokens() const;
};

/// Loads a tokenizer: a directory holding tokenizer.json (HF) or tokenizer.model
/// (sentencepiece), or a path to one of those files. Errors name the file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path);

/// The special-token strings every editcaption tokenizer reserves, in id order for new ones
/// (Qwen's order: <|endoftext|>, <|im_start|>, <|im_end|>, ..., <|image_pad|>, <|video_pad|>).
const std::vector<std::string>& chat_special_tokens();

}  // namespace ec::data
