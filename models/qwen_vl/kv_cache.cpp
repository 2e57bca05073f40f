#include "models/qwen_vl/kv_cache.h"

#include <ATen/ATen.h>

#include "editcaption/core/check.h"

namespace ec::models {

at::Tensor KvCache::key_valid() const { return valid_.defined() ? valid_.narrow(1, 0, length_) : at::Tensor(); }

nn::LayerKv KvCache::view(int64_t layer) const {
  if (length_ == 0) return {};
  EC_CHECK(layer < static_cast<int64_t>(k_.size()) && k_[layer].defined(), "KV cache has no layer {}", layer);
  return {k_[layer].narrow(2, 0, length_), v_[layer].narrow(2, 0, length_)};
}

void KvCache::grow(std::vector<at::Tensor>& buffers, int64_t layer, const at::Tensor& like, int64_t needed) {
  if (static_cast<int64_t>(buffers.size()) <= layer) buffers.resize(static_cast<size_t>(layer) + 1);
  at::Tensor& buf = buffers[static_cast<size_t>(layer)];
  const int64_t have = buf.defined() ? buf.size(2) : 0;
  if (have >= needed) return;
  const int64_t cap = std::max({needed, 2 * have, capacity_hint_});
  at::Tensor fresh = at::empty({like.size(0), like.size(1), cap, like.size(3)}, like.options());
  if (length_ > 0) fresh.narrow(2, 0, length_).copy_(buf.narrow(2, 0, length_));
  buf = fresh;
}

void KvCache::write(int64_t layer, const nn::LayerKv& kv) {
  at::NoGradGuard no_grad;
  const int64_t n = kv.k.size(2);
  grow(k_, layer, kv.k, length_ + n);
  grow(v_, layer, kv.v, length_ + n);
  k_[static_cast<size_t>(layer)].narrow(2, length_, n).copy_(kv.k);
  v_[static_cast<size_t>(layer)].narrow(2, length_, n).copy_(kv.v);
}

void KvCache::commit(const at::Tensor& valid) {
  const int64_t B = valid.size(0), n = valid.size(1);
  const int64_t have = valid_.defined() ? valid_.size(1) : 0;
  if (have < length_ + n) {
    at::Tensor fresh = at::zeros({B, std::max({length_ + n, 2 * have, capacity_hint_})}, valid.options().dtype(at::kBool));
    if (length_ > 0) fresh.narrow(1, 0, length_).copy_(valid_.narrow(1, 0, length_));
    valid_ = fresh;
  }
  valid_.narrow(1, length_, n).copy_(valid);
  length_ += n;
}

}  // namespace ec::models
