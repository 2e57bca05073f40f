// Hugging Face `tokenizer.json` byte-level BPE (the Qwen2/Qwen3 format, also GPT-2 style):
//   added tokens matched whole first (leftmost-longest; single_word/lstrip/rstrip/normalized honoured),
//   NFC normalizer, Split pre-tokenizer regex (PCRE2, UTF + Unicode properties), ByteLevel
//   pre-tokenizer, ranked merges (the "a b" and [a, b] forms), ByteLevel decoder.
// Token ids equal the `tokenizers` package's encode(text, add_special_tokens=False): post-processors
// (BOS/EOS templates) are not applied; the chat layout adds the tokens it needs.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/data/tokenizer.h"

namespace ec::data {

class HfBpeTokenizer final : public Tokenizer {
 public:
  /// Reads tokenizer.json; every problem is a UserError(Input) naming the file and the key.
  static std::unique_ptr<HfBpeTokenizer> from_file(const std::filesystem::path& path);
  /// Parses tokenizer.json text; `origin` names it in errors.
  HfBpeTokenizer(std::string_view json_text, std::string origin);
  ~HfBpeTokenizer() override;

  std::vector<int32_t> encode(std::string_view text) const override;
  std::string decode(std::span<const int32_t> ids, bool skip_special = false) const override;
  int64_t vocab_size() const override;
  std::optional<int32_t> token_to_id(std::string_view token) const override;
  std::string id_to_token(int32_t id) const override;
  bool is_special(int32_t id) const override;
  std::string kind() const override { return "hf-bpe"; }
  std::string fingerprint() const override;
  std::string origin() const override;

  /// The pre-tokenized words of `text` (after added-token extraction and normalization), as raw
  /// bytes; added tokens appear as their content. For tests and `editcaption tokenizer encode`.
  std::vector<std::string> pre_tokenize(std::string_view text) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace ec::data
