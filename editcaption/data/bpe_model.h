// The BPE model of a byte-level tokenizer: turns one pre-tokenized word (raw bytes) into token ids
// by applying the ranked merges, lowest rank first and leftmost first among equal ranks, exactly as
// the Hugging Face `tokenizers` BPE does. A merge-rank hash map keyed by the id pair, and a bounded
// per-word cache shared by all threads.
#pragma once

#include <array>
#include <functional>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace ec::data {

struct BpeModelOptions {
  /// Token id for bytes whose character is not in the vocabulary; without it such bytes are dropped.
  std::optional<int32_t> unk_id;
  /// Consecutive unknown bytes become one unk token.
  bool fuse_unk = false;
  /// A word that is itself in the vocabulary is one token, whatever the merges say.
  bool ignore_merges = false;
};

class BpeModel {
 public:
  /// `vocab` maps byte-level token strings to ids; `merges` are (left, right) token strings in rank
  /// order. Throws UserError(Input) naming `origin` for a merge whose parts or result are missing.
  BpeModel(const std::unordered_map<std::string, int32_t>& vocab,
           const std::vector<std::pair<std::string, std::string>>& merges, BpeModelOptions options,
           std::string_view origin);
  BpeModel(const BpeModel&) = delete;
  BpeModel& operator=(const BpeModel&) = delete;

  /// Appends the ids of `word` (raw bytes, not yet mapped to byte characters) to `out`. Thread-safe.
  void tokenize(std::string_view word, std::vector<int32_t>& out) const;

 private:
  std::vector<int32_t> merge_word(std::string_view word) const;

  struct Merge {
    int32_t rank;
    int32_t new_id;
  };
  static uint64_t pair_key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  std::array<int32_t, 256> byte_id_{};
  std::unordered_map<uint64_t, Merge> merges_;
  const std::unordered_map<std::string, int32_t>* vocab_ = nullptr;  // for ignore_merges
  BpeModelOptions options_;

  // Words shorter than kMaxCachedWord bytes are cached; a full shard is cleared (bounded memory).
  static constexpr size_t kShards = 16;
  static constexpr size_t kShardCapacity = 16384;
  static constexpr size_t kMaxCachedWord = 256;
  struct WordHash {
    using is_transparent = void;  // lookups by string_view without a copy
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, std::vector<int32_t>, WordHash, std::equal_to<>> words;
  };
  mutable std::array<Shard, kShards> cache_;
};

}  // namespace ec::data
