// CUDA implementation of fused_linear_logprobs: the glue between ATen tensors and the raw-pointer
// GEMMs (cuBLASLt) and row kernels. Per tile of (token chunk x vocabulary block):
//   forward:  Z = X_r W_b^T (fp32 out)  ->  row_stats_update folds Z into the running statistics
//   backward: Z = X_r W_b^T  ->  dZ = dlogits(Z, lse, g) in the weight dtype
//             dX_r += dZ W_b (fp32 accumulator)      dW_b (+)= dZ^T X_r
// The vocabulary loop is outermost in the backward pass so that each block's weight gradient is
// finished (written once) before the next block starts; only when the tokens do not fit one chunk
// does it go through an fp32 [vocab_block, D] accumulator.
#include "editcaption/core/build_info.h"
#include "kernels/logprob_impl.h"

#if EC_CUDA_KERNELS && EC_TORCH_CUDA

#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

#include "editcaption/core/check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/logprob_kernels.h"

namespace ec::kernels::detail {
namespace {

constexpr size_t kWorkspaceBytes = size_t{32} << 20;

cuda::DType dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return cuda::DType::F32;
    case at::kBFloat16: return cuda::DType::BF16;
    case at::kHalf: return cuda::DType::F16;
    default: EC_CHECK(false, "unsupported dtype {}", c10::toString(t.scalar_type()));
  }
  return cuda::DType::F32;
}

/// cuBLASLt handle and workspace for one fused call, on the tensors' device and current stream.
struct CudaCall {
  explicit CudaCall(const at::Tensor& like, bool deterministic)
      : guard(like.device()),
        stream(at::cuda::getCurrentCUDAStream()),
        workspace(at::empty({static_cast<int64_t>(kWorkspaceBytes)}, like.options().dtype(at::kByte))),
        gemm(at::cuda::getCurrentCUDABlasLtHandle(), workspace.data_ptr(), kWorkspaceBytes, deterministic) {}
  c10::cuda::CUDAGuard guard;
  cudaStream_t stream;
  at::Tensor workspace;
  cuda::Gemm gemm;
};

void check_inputs(const at::Tensor& x, const at::Tensor& w, const at::Tensor& y) {
  EC_CHECK(x.is_cuda() && w.is_cuda() && y.is_cuda(), "CUDA implementation given tensors off the GPU");
  EC_CHECK(x.is_contiguous() && w.is_contiguous() && y.is_contiguous(), "CUDA implementation needs contiguous tensors");
  EC_CHECK(y.scalar_type() == at::kLong, "labels must be int64");
}

}  // namespace

RowStats forward_cuda(const ForwardArgs& a) {
  check_inputs(a.x, a.w, a.y);
  CudaCall call(a.x, a.deterministic);
  const int64_t rows = a.x.size(0), dim = a.x.size(1), vocab_rows = a.w.size(0);
  auto f32 = a.x.options().dtype(at::kFloat);
  RowStats s;
  s.max = at::empty({rows}, f32);
  s.sumexp = at::empty({rows}, f32);
  s.ent = at::empty({rows}, f32);
  s.rel_sum = at::empty({rows}, f32);
  s.target = at::empty({rows}, f32);
  s.argmax = at::empty({rows}, f32.dtype(at::kLong));
  s.count = vocab_rows;
  at::Tensor z = at::empty({a.tile.tokens, a.tile.vocab}, f32);
  const size_t xs = a.x.element_size();
  const auto* x = static_cast<const char*>(a.x.data_ptr());
  const auto* w = static_cast<const char*>(a.w.data_ptr());
  for (int64_t r0 = 0; r0 < rows; r0 += a.tile.tokens) {
    const int64_t nr = std::min(a.tile.tokens, rows - r0);
    for (int64_t c0 = 0; c0 < vocab_rows; c0 += a.tile.vocab) {
      const int64_t nc = std::min(a.tile.vocab, vocab_rows - c0);
      cuda::GemmParams g;
      g.m = nr, g.n = nc, g.k = dim;
      g.a = x + r0 * dim * xs, g.lda = dim, g.trans_a = false;
      g.b = w + c0 * dim * xs, g.ldb = dim, g.trans_b = true;
      g.c = z.data_ptr(), g.ldc = a.tile.vocab;
      g.ab_type = dtype_of(a.x), g.c_type = cuda::DType::F32;
      call.gemm.run(g, call.stream);

      cuda::RowStatsParams p;
      p.logits = z.data_ptr<float>(), p.ld = a.tile.vocab, p.rows = nr, p.cols = nc;
      p.col_offset = a.vocab_start + c0, p.cols_before = c0;
      p.labels = a.y.data_ptr<int64_t>() + r0;
      p.max = s.max.data_ptr<float>() + r0, p.sumexp = s.sumexp.data_ptr<float>() + r0;
      p.ent = s.ent.data_ptr<float>() + r0, p.rel_sum = s.rel_sum.data_ptr<float>() + r0;
      p.target = s.target.data_ptr<float>() + r0, p.argmax = s.argmax.data_ptr<int64_t>() + r0;
      cuda::row_stats_update(p, call.stream);
    }
  }
  return s;
}

Grads backward_cuda(const BackwardArgs& a) {
  check_inputs(a.x, a.w, a.y);
  CudaCall call(a.x, a.deterministic);
  const int64_t rows = a.x.size(0), dim = a.x.size(1), vocab_rows = a.w.size(0);
  const bool several_chunks = a.tile.tokens < rows;
  auto f32 = a.x.options().dtype(at::kFloat);
  at::Tensor z = at::empty({a.tile.tokens, a.tile.vocab}, f32);
  at::Tensor dz = at::empty({a.tile.tokens, a.tile.vocab}, a.w.options());
  at::Tensor lse = a.lse.contiguous(), g_logp = a.g_logp.contiguous();
  at::Tensor g_mean = a.g_mean.defined() ? a.g_mean.contiguous() : at::Tensor();
  Grads out;
  if (a.need_dx) out.dx = at::zeros({rows, dim}, f32);
  if (a.need_dw) out.dw = at::empty_like(a.w);
  at::Tensor dwb = a.need_dw && several_chunks ? at::empty({a.tile.vocab, dim}, f32) : at::Tensor();

  const cuda::DType ab = dtype_of(a.x);
  const size_t xs = a.x.element_size();
  const auto* x = static_cast<const char*>(a.x.data_ptr());
  const auto* w = static_cast<const char*>(a.w.data_ptr());
  for (int64_t c0 = 0; c0 < vocab_rows; c0 += a.tile.vocab) {
    const int64_t nc = std::min(a.tile.vocab, vocab_rows - c0);
    const char* wb = w + c0 * dim * xs;
    for (int64_t r0 = 0; r0 < rows; r0 += a.tile.tokens) {
      const int64_t nr = std::min(a.tile.tokens, rows - r0);
      const char* xr = x + r0 * dim * xs;
      cuda::GemmParams g;  // Z = X_r W_b^T
      g.m = nr, g.n = nc, g.k = dim;
      g.a = xr, g.lda = dim, g.trans_a = false;
      g.b = wb, g.ldb = dim, g.trans_b = true;
      g.c = z.data_ptr(), g.ldc = a.tile.vocab;
      g.ab_type = ab, g.c_type = cuda::DType::F32;
      call.gemm.run(g, call.stream);

      cuda::DlogitsParams d;
      d.logits = z.data_ptr<float>(), d.ld = a.tile.vocab, d.rows = nr, d.cols = nc;
      d.col_offset = a.vocab_start + c0;
      d.labels = a.y.data_ptr<int64_t>() + r0;
      d.lse = lse.data_ptr<float>() + r0;
      d.g_logp = g_logp.data_ptr<float>() + r0;
      d.g_mean = g_mean.defined() ? g_mean.data_ptr<float>() + r0 : nullptr;
      d.inv_vocab = 1.0f / static_cast<float>(a.vocab_size);
      d.out = dz.data_ptr(), d.ld_out = a.tile.vocab, d.out_type = ab;
      cuda::dlogits(d, call.stream);

      if (a.need_dx) {  // dX_r += dZ W_b
        cuda::GemmParams gx;
        gx.m = nr, gx.n = dim, gx.k = nc;
        gx.a = dz.data_ptr(), gx.lda = a.tile.vocab, gx.trans_a = false;
        gx.b = wb, gx.ldb = dim, gx.trans_b = false;
        gx.c = out.dx.data_ptr<float>() + r0 * dim, gx.ldc = dim;
        gx.ab_type = ab, gx.c_type = cuda::DType::F32, gx.beta = 1.0f;
        call.gemm.run(gx, call.stream);
      }
      if (a.need_dw) {  // dW_b (+)= dZ^T X_r
        cuda::GemmParams gw;
        gw.m = nc, gw.n = dim, gw.k = nr;
        gw.a = dz.data_ptr(), gw.lda = a.tile.vocab, gw.trans_a = true;
        gw.b = xr, gw.ldb = dim, gw.trans_b = false;
        if (several_chunks) {
          gw.c = dwb.data_ptr(), gw.c_type = cuda::DType::F32, gw.beta = r0 == 0 ? 0.0f : 1.0f;
        } else {
          gw.c = static_cast<char*>(out.dw.data_ptr()) + c0 * dim * xs, gw.c_type = ab, gw.beta = 0.0f;
        }
        gw.ldc = dim;
        gw.ab_type = ab;
        call.gemm.run(gw, call.stream);
      }
    }
    if (dwb.defined()) out.dw.narrow(0, c0, nc).copy_(dwb.narrow(0, 0, nc));
  }
  return out;
}

}  // namespace ec::kernels::detail

#else  // no CUDA kernels in this build

#include "editcaption/core/check.h"

namespace ec::kernels::detail {

RowStats forward_cuda(const ForwardArgs&) {
  EC_CHECK(false, "fused_linear_logprobs: this binary was built without the CUDA kernels");
  return {};
}

Grads backward_cuda(const BackwardArgs&) {
  EC_CHECK(false, "fused_linear_logprobs: this binary was built without the CUDA kernels");
  return {};
}

}  // namespace ec::kernels::detail

#endif
