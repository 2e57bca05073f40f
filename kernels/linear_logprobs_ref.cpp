// The reference implementation of fused_linear_logprobs: the same tiles and the same arithmetic as
// the CUDA kernels (fp32 logits from fp32-accumulated products, logit gradients rounded to the
// weight dtype before the two gradient products), written with ATen ops. It runs on any device
// and is what CI exercises on CPU.
#include <algorithm>

#include "kernels/logprob_impl.h"

namespace ec::kernels::detail {

Tile resolve_tile(const LogprobTiling& tiling, int64_t rows, int64_t vocab_rows, int64_t bytes_per_elem) {
  rows = std::max<int64_t>(rows, 1);
  vocab_rows = std::max<int64_t>(vocab_rows, 1);
  const int64_t budget = std::max<int64_t>(tiling.tile_budget_mib, 1) * (int64_t{1} << 20) / bytes_per_elem;
  // Prefer all tokens in one chunk: the weight gradient of a vocabulary block is then written once,
  // with no fp32 accumulator, as long as the blocks stay wide enough for efficient GEMMs.
  constexpr int64_t kMinBlock = 2048;
  Tile t;
  t.tokens = tiling.token_chunk > 0 ? tiling.token_chunk
                                    : std::max<int64_t>(1, budget / std::min(vocab_rows, kMinBlock));
  t.tokens = std::min(t.tokens, rows);
  if (tiling.vocab_block > 0) {
    t.vocab = tiling.vocab_block;
  } else {
    t.vocab = std::max<int64_t>(128, budget / t.tokens / 128 * 128);
  }
  t.vocab = std::min(t.vocab, vocab_rows);
  return t;
}

void merge_stats(RowStats& acc, const RowStats& block) {
  if (acc.count == 0) {
    acc = block;
    return;
  }
  at::Tensor m = at::maximum(acc.max, block.max);
  at::Tensor da = acc.max - m;  // <= 0
  at::Tensor db = block.max - m;
  at::Tensor ea = da.exp();
  at::Tensor eb = db.exp();
  // Re-base each side's sums from its own max to the common one before adding.
  acc.ent = ea * (acc.ent + da * acc.sumexp) + eb * (block.ent + db * block.sumexp);
  acc.sumexp = acc.sumexp * ea + block.sumexp * eb;
  acc.rel_sum = acc.rel_sum + da * static_cast<double>(acc.count) + block.rel_sum + db * static_cast<double>(block.count);
  acc.target = acc.target + block.target;
  acc.argmax = at::where(block.max > acc.max, block.argmax, acc.argmax);
  acc.max = m;
  acc.count += block.count;
}

namespace {

/// Columns of `z` (global ids col_offset..) holding each row's label: a [rows] mask and the
/// clamped local index.
std::pair<at::Tensor, at::Tensor> label_columns(const at::Tensor& y, int64_t col_offset, int64_t cols) {
  at::Tensor local = y - col_offset;
  at::Tensor in_block = (local >= 0).logical_and(local < cols);
  return {in_block, local.clamp(0, cols - 1)};
}

RowStats block_stats(const at::Tensor& z, const at::Tensor& y, int64_t col_offset) {
  const int64_t cols = z.size(1);
  RowStats s;
  auto [bmax, bidx] = z.max(1);
  at::Tensor rel = z - bmax.unsqueeze(1);
  at::Tensor e = rel.exp();
  s.max = bmax;
  s.sumexp = e.sum(1);
  s.ent = (e * rel).sum(1);
  s.rel_sum = rel.sum(1);
  auto [in_block, local] = label_columns(y, col_offset, cols);
  s.target = at::where(in_block, z.gather(1, local.unsqueeze(1)).squeeze(1), at::zeros_like(bmax));
  s.argmax = bidx + col_offset;
  s.count = cols;
  return s;
}

}  // namespace

RowStats forward_reference(const ForwardArgs& a) {
  const int64_t rows = a.x.size(0);
  const int64_t vocab_rows = a.w.size(0);
  auto f32 = a.x.options().dtype(at::kFloat);
  RowStats out;
  out.max = at::empty({rows}, f32);
  out.sumexp = at::empty({rows}, f32);
  out.ent = at::empty({rows}, f32);
  out.rel_sum = at::empty({rows}, f32);
  out.target = at::empty({rows}, f32);
  out.argmax = at::empty({rows}, f32.dtype(at::kLong));
  out.count = vocab_rows;
  for (int64_t r0 = 0; r0 < rows; r0 += a.tile.tokens) {
    const int64_t nr = std::min(a.tile.tokens, rows - r0);
    at::Tensor xr = a.x.narrow(0, r0, nr).to(at::kFloat);
    at::Tensor yr = a.y.narrow(0, r0, nr);
    RowStats acc;
    for (int64_t c0 = 0; c0 < vocab_rows; c0 += a.tile.vocab) {
      const int64_t nc = std::min(a.tile.vocab, vocab_rows - c0);
      at::Tensor z = at::mm(xr, a.w.narrow(0, c0, nc).to(at::kFloat).t());
      merge_stats(acc, block_stats(z, yr, a.vocab_start + c0));
    }
    out.max.narrow(0, r0, nr).copy_(acc.max);
    out.sumexp.narrow(0, r0, nr).copy_(acc.sumexp);
    out.ent.narrow(0, r0, nr).copy_(acc.ent);
    out.rel_sum.narrow(0, r0, nr).copy_(acc.rel_sum);
    out.target.narrow(0, r0, nr).copy_(acc.target);
    out.argmax.narrow(0, r0, nr).copy_(acc.argmax);
  }
  return out;
}

Grads backward_reference(const BackwardArgs& a) {
  const int64_t rows = a.x.size(0);
  const int64_t dim = a.x.size(1);
  const int64_t vocab_rows = a.w.size(0);
  const bool several_chunks = a.tile.tokens < rows;
  // dZ = g_logp (onehot - p) + g_mean (1/V - p) = -(g_logp + g_mean) p + g_mean / V + g_logp onehot
  at::Tensor coef = a.g_mean.defined() ? -(a.g_logp + a.g_mean) : -a.g_logp;
  at::Tensor uniform = a.g_mean.defined() ? a.g_mean / static_cast<double>(a.vocab_size) : at::Tensor();
  Grads g;
  if (a.need_dx) g.dx = at::zeros({rows, dim}, a.x.options().dtype(at::kFloat));
  if (a.need_dw) g.dw = at::empty_like(a.w);
  for (int64_t c0 = 0; c0 < vocab_rows; c0 += a.tile.vocab) {
    const int64_t nc = std::min(a.tile.vocab, vocab_rows - c0);
    at::Tensor wb = a.w.narrow(0, c0, nc).to(at::kFloat);
    at::Tensor dwb = a.need_dw && several_chunks ? at::zeros({nc, dim}, wb.options()) : at::Tensor();
    for (int64_t r0 = 0; r0 < rows; r0 += a.tile.tokens) {
      const int64_t nr = std::min(a.tile.tokens, rows - r0);
      at::Tensor xr = a.x.narrow(0, r0, nr).to(at::kFloat);
      at::Tensor z = at::mm(xr, wb.t());
      at::Tensor dz = (z - a.lse.narrow(0, r0, nr).unsqueeze(1)).exp_().mul_(coef.narrow(0, r0, nr).unsqueeze(1));
      if (uniform.defined()) dz.add_(uniform.narrow(0, r0, nr).unsqueeze(1));
      auto [in_block, local] = label_columns(a.y.narrow(0, r0, nr), a.vocab_start + c0, nc);
      at::Tensor hit = at::where(in_block, a.g_logp.narrow(0, r0, nr), at::zeros_like(a.g_logp.narrow(0, r0, nr)));
      dz.scatter_add_(1, local.unsqueeze(1), hit.unsqueeze(1));
      // The CUDA path feeds dZ to tensor-core GEMMs in the weight dtype: round the same way.
      dz = dz.to(a.w.scalar_type()).to(at::kFloat);
      if (a.need_dx) g.dx.narrow(0, r0, nr).add_(at::mm(dz, wb));
      if (a.need_dw) {
        at::Tensor part = at::mm(dz.t(), xr);
        if (several_chunks) {
          dwb.add_(part);
        } else {
          g.dw.narrow(0, c0, nc).copy_(part);
        }
      }
    }
    if (dwb.defined()) g.dw.narrow(0, c0, nc).copy_(dwb);
  }
  return g;
}

}  // namespace ec::kernels::detail
