#include "models/qwen_vl/tp_shard.h"

#include <ATen/ATen.h>

#include <string_view>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"
#include "editcaption/dist/tp.h"

namespace ec::models {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

TpSplit tp_split(const std::string& name) {
  // Vocab-parallel: the embedding and the untied LM head hold their rank's token ids' rows.
  if (name == "language_model.embed_tokens.weight" || name == "lm_head.weight") return TpSplit::Rows;
  // Otherwise only the text decoder's layers are tensor parallel; the vision tower has layers of
  // the same names (mlp.up_proj, ...) but runs replicated.
  if (!starts_with(name, "language_model.layers.")) return TpSplit::Replicated;
  EC_CHECK(name.find("lora_") == std::string::npos, "tp_split: LoRA tensor '{}' has no tensor-parallel layout", name);
  for (const char* col : {".self_attn.q_proj.", ".self_attn.k_proj.", ".self_attn.v_proj.", ".mlp.gate_proj.",
                          ".mlp.up_proj."}) {
    if (name.find(col) != std::string::npos) return TpSplit::Rows;
  }
  // o_proj and down_proj have no bias; a bias after a row-parallel layer would be replicated.
  for (const char* row : {".self_attn.o_proj.weight", ".mlp.down_proj.weight"}) {
    if (ends_with(name, row)) return TpSplit::Cols;
  }
  return TpSplit::Replicated;
}

dist::ShardRange tp_vocab_range(int64_t vocab_size, int rank, int size) {
  check_tp_vocab(vocab_size, size);
  return dist::shard_range(vocab_size, rank, size);
}

void check_tp_vocab(int64_t vocab_size, int tp) {
  EC_USER_CHECK(tp >= 1 && vocab_size % tp == 0, Usage,
                "dist.tp = {} cannot split the vocabulary: model.text.vocab_size = {} is not divisible by {} (the "
                "token embedding and the LM head are split by rows over the tensor-parallel ranks; pad the "
                "vocabulary to a multiple of {} or choose a dist.tp that divides it)",
                tp, vocab_size, tp, tp);
}

at::Tensor tp_shard(const std::string& name, const at::Tensor& full, int rank, int size) {
  if (size == 1) return full;
  switch (tp_split(name)) {
    case TpSplit::Rows:
      return dist::shard_rows(full, rank, size);
    case TpSplit::Cols:
      return dist::shard_cols(full, rank, size);
    case TpSplit::Replicated:
      break;
  }
  return full;
}

std::vector<int64_t> tp_full_shape(const std::string& name, at::IntArrayRef local, int size) {
  std::vector<int64_t> shape(local.begin(), local.end());
  switch (tp_split(name)) {
    case TpSplit::Rows:
      shape.at(0) *= size;
      break;
    case TpSplit::Cols:
      shape.at(1) *= size;
      break;
    case TpSplit::Replicated:
      break;
  }
  return shape;
}

at::Tensor tp_unshard(const std::string& name, const std::vector<at::Tensor>& parts) {
  EC_CHECK(!parts.empty(), "tp_unshard: no parts for '{}'", name);
  if (parts.size() == 1) return parts.front();
  switch (tp_split(name)) {
    case TpSplit::Rows:
      return at::cat(parts, 0);
    case TpSplit::Cols:
      return at::cat(parts, 1);
    case TpSplit::Replicated:
      break;
  }
  return parts.front();
}

std::map<std::string, at::Tensor> tp_unshard_all(const std::vector<std::map<std::string, at::Tensor>>& parts) {
  EC_CHECK(!parts.empty(), "tp_unshard_all: no parts");
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, first] : parts.front()) {
    std::vector<at::Tensor> pieces;
    for (const auto& p : parts) {
      auto it = p.find(name);
      EC_CHECK(it != p.end(), "tp_unshard_all: '{}' is missing from a rank's tensors", name);
      pieces.push_back(it->second);
    }
    out[name] = tp_unshard(name, pieces);
  }
  return out;
}

std::map<std::string, at::Tensor> tp_shard_all(const std::map<std::string, at::Tensor>& full, int rank, int size) {
  std::map<std::string, at::Tensor> out;
  for (const auto& [name, t] : full) out[name] = tp_shard(name, t, rank, size);
  return out;
}

}  // namespace ec::models
