// Keys and values of every decoder layer for the tokens seen so far, for incremental decoding.
// Buffers grow by doubling, so a step appends in place instead of concatenating; `key_valid`
// marks padding, and `next_position` continues each row's M-RoPE ids (the rope delta of
// transformers: after a prompt with images the ids run ahead of or behind the token count).
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "models/qwen_vl/text.h"

namespace ec::models {

class KvCache {
 public:
  /// `capacity_hint`: tokens to allocate room for at first use (prompt + new tokens).
  explicit KvCache(int64_t capacity_hint = 0) : capacity_hint_(capacity_hint) {}

  int64_t length() const { return length_; }
  bool empty() const { return length_ == 0; }
  int64_t batch_size() const { return valid_.defined() ? valid_.size(0) : 0; }
  /// [B, length] bool.
  at::Tensor key_valid() const;
  /// [B, Hkv, length, head_dim] views of one layer (undefined when empty).
  nn::LayerKv view(int64_t layer) const;
  /// Writes the pass's new keys/values [B, Hkv, n, hd] of one layer after the cached ones.
  void write(int64_t layer, const nn::LayerKv& kv);
  /// Ends a pass that wrote n tokens per row; `valid` [B, n] bool marks the real ones.
  void commit(const at::Tensor& valid);

  /// [B] int64: the M-RoPE id of the next token of each row.
  at::Tensor next_position;

 private:
  void grow(std::vector<at::Tensor>& buffers, int64_t layer, const at::Tensor& like, int64_t needed);
  int64_t capacity_hint_;
  int64_t length_ = 0;
  std::vector<at::Tensor> k_, v_;
  at::Tensor valid_;  // [B, capacity]
};

}  // namespace ec::models
