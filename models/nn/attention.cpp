#include "models/nn/attention.h"

#include <ATen/ATen.h>

#include "editcaption/core/check.h"

namespace ec::nn {
namespace {

// [B, H, Lq, D] attention output -> [B, Lq, H, D].
at::Tensor to_blhd(const at::Tensor& x) { return x.transpose(1, 2); }

at::Tensor sdpa(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const std::optional<at::Tensor>& mask,
                bool is_causal, double scale) {
  const int64_t groups = q.size(1) / k.size(1);
  return at::scaled_dot_product_attention(q, repeat_kv(k, groups), repeat_kv(v, groups), mask, 0.0, is_causal, scale);
}

// One dense attention per packed sequence: no padding and no O(T^2) mask.
at::Tensor varlen_loop(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttentionMask& m,
                       double scale) {
  std::vector<at::Tensor> outs;
  outs.reserve(m.offsets.size());
  for (size_t s = 0; s + 1 < m.offsets.size(); ++s) {
    const int64_t begin = m.offsets[s], len = m.offsets[s + 1] - m.offsets[s];
    if (len == 0) continue;
    outs.push_back(sdpa(q.narrow(2, begin, len), k.narrow(2, begin, len), v.narrow(2, begin, len), std::nullopt,
                        m.causal, scale));
  }
  return to_blhd(at::cat(outs, 2));
}

bool flash_supports(const at::Tensor& q) {
  const auto t = q.scalar_type();
  const int64_t d = q.size(-1);
  return (t == at::kHalf || t == at::kBFloat16) && d % 8 == 0 && d <= 256;
}

bool needs_lse(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  return at::GradMode::is_enabled() && (q.requires_grad() || k.requires_grad() || v.requires_grad());
}

// Variable-length kernels on CUDA. Internal ATen ops (torch 2.11 signatures, see
// ATen/ops/_flash_attention_forward.h and friends); all three have autograd formulas.
at::Tensor varlen_cuda(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttentionMask& m,
                       double scale, AttentionBackend backend) {
  EC_CHECK(q.size(0) == 1, "packed attention needs a batch of one row");
  const at::Tensor& cu = m.cu_seqlens;
  if (backend == AttentionBackend::Auto) backend = flash_supports(q) ? AttentionBackend::Flash : AttentionBackend::Efficient;
  if (backend == AttentionBackend::Flash || backend == AttentionBackend::Cudnn) {
    // [1, H, T, D] -> [T, H, D]; flash handles grouped-query attention itself.
    at::Tensor q3 = q[0].transpose(0, 1).contiguous();
    at::Tensor k3 = k[0].transpose(0, 1).contiguous();
    at::Tensor v3 = v[0].transpose(0, 1).contiguous();
    at::Tensor out;
    if (backend == AttentionBackend::Flash) {
      out = std::get<0>(at::_flash_attention_forward(q3, k3, v3, cu, cu, m.max_seqlen, m.max_seqlen, 0.0, m.causal,
                                                     false, scale));
    } else {
      const int64_t groups = q.size(1) / k.size(1);
      k3 = k3.repeat_interleave(groups, 1);
      v3 = v3.repeat_interleave(groups, 1);
      out = std::get<0>(at::_cudnn_attention_forward(q3, k3, v3, std::nullopt, cu, cu, m.max_seqlen, m.max_seqlen,
                                                     needs_lse(q, k, v), 0.0, m.causal, false, scale));
    }
    return out.unsqueeze(0);
  }
  // Memory-efficient kernel: fp32 capable; [1, T, H, D] with sequence offsets; mask type 1 is causal.
  const int64_t groups = q.size(1) / k.size(1);
  at::Tensor q4 = q.transpose(1, 2);
  at::Tensor k4 = repeat_kv(k, groups).transpose(1, 2);
  at::Tensor v4 = repeat_kv(v, groups).transpose(1, 2);
  auto r = at::_efficient_attention_forward(q4, k4, v4, std::nullopt, cu, cu, m.max_seqlen, m.max_seqlen, 0.0,
                                            m.causal ? 1 : 0, needs_lse(q, k, v), scale);
  return std::get<0>(r);
}

}  // namespace

at::Tensor repeat_kv(const at::Tensor& x, int64_t groups) {
  if (groups == 1) return x;
  const int64_t B = x.size(0), H = x.size(1), L = x.size(2), D = x.size(3);
  return x.unsqueeze(2).expand({B, H, groups, L, D}).reshape({B, H * groups, L, D});
}

AttentionMask full_mask() { return {}; }

AttentionMask causal_mask() {
  AttentionMask m;
  m.causal = true;
  return m;
}

AttentionMask padded_causal_mask(const at::Tensor& key_valid, int64_t num_queries) {
  EC_CHECK(key_valid.dim() == 2, "key_valid must be [B, Lk]");
  const int64_t Lk = key_valid.size(1);
  EC_CHECK(num_queries <= Lk, "{} queries but only {} keys", num_queries, Lk);
  auto opts = at::TensorOptions().dtype(at::kLong).device(key_valid.device());
  at::Tensor j = at::arange(Lk, opts).view({1, Lk});
  at::Tensor i = (at::arange(num_queries, opts) + (Lk - num_queries)).view({num_queries, 1});
  at::Tensor allowed = (j <= i).unsqueeze(0) & key_valid.to(at::kBool).unsqueeze(1);
  AttentionMask m;
  m.causal = true;
  m.dense = (allowed | (j == i).unsqueeze(0)).unsqueeze(1);
  return m;
}

AttentionMask varlen_mask(const at::Tensor& cu_seqlens, bool causal, at::Device device) {
  EC_CHECK(cu_seqlens.dim() == 1 && cu_seqlens.numel() >= 2, "cu_seqlens must be [S + 1]");
  AttentionMask m;
  m.causal = causal;
  at::Tensor host = cu_seqlens.to(at::kCPU, at::kLong).contiguous();
  m.offsets.assign(host.data_ptr<int64_t>(), host.data_ptr<int64_t>() + host.numel());
  for (size_t s = 0; s + 1 < m.offsets.size(); ++s) {
    EC_CHECK(m.offsets[s + 1] >= m.offsets[s], "cu_seqlens must not decrease (at {})", s);
    m.max_seqlen = std::max(m.max_seqlen, m.offsets[s + 1] - m.offsets[s]);
  }
  m.cu_seqlens = cu_seqlens.to(device, at::kInt).contiguous();
  return m;
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const AttentionMask& mask,
                     double scale, AttentionBackend backend) {
  EC_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, "attention expects [B, H, L, D] tensors");
  EC_CHECK(q.size(1) % k.size(1) == 0, "{} query heads cannot share {} key/value heads", q.size(1), k.size(1));
  if (mask.dense.defined()) return to_blhd(sdpa(q, k, v, mask.dense, false, scale));
  if (mask.varlen()) {
    EC_CHECK(q.size(2) == k.size(2), "packed attention needs as many queries as keys");
    if (q.is_cuda() && backend != AttentionBackend::Sdpa) return varlen_cuda(q, k, v, mask, scale, backend);
    return varlen_loop(q, k, v, mask, scale);
  }
  if (mask.causal && q.size(2) != k.size(2)) {
    at::Tensor valid = at::ones({q.size(0), k.size(2)}, q.options().dtype(at::kBool));
    return attention(q, k, v, padded_causal_mask(valid, q.size(2)), scale, backend);
  }
  return to_blhd(sdpa(q, k, v, std::nullopt, mask.causal, scale));
}

}  // namespace ec::nn
