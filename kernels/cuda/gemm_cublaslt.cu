// Row-major GEMM on cuBLASLt (column-major) by the usual identity C^T = op(B)^T op(A)^T: a row-major
// [r, c] matrix with row stride ld is a column-major [c, r] matrix with leading dimension ld.
#include <memory>

#include "kernels/cuda/gemm.h"
#include "kernels/cuda_check.h"

namespace ec::kernels::cuda {
namespace {

cudaDataType_t to_cuda(DType t) {
  switch (t) {
    case DType::F32: return CUDA_R_32F;
    case DType::BF16: return CUDA_R_16BF;
    case DType::F16: return CUDA_R_16F;
  }
  return CUDA_R_32F;
}

/// Largest power of two (at most 256) dividing the address: cuBLASLt assumes 256-byte alignment
/// unless told otherwise, and our operands are row slices of larger buffers.
uint32_t alignment_of(const void* p) {
  auto addr = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && addr % a != 0) a /= 2;
  return a;
}

struct MatmulDescDeleter {
  void operator()(cublasLtMatmulDescOpaque_t* d) const { cublasLtMatmulDescDestroy(d); }
};
struct LayoutDeleter {
  void operator()(cublasLtMatrixLayoutOpaque_t* l) const { cublasLtMatrixLayoutDestroy(l); }
};
struct PreferenceDeleter {
  void operator()(cublasLtMatmulPreferenceOpaque_t* p) const { cublasLtMatmulPreferenceDestroy(p); }
};
using MatmulDesc = std::unique_ptr<cublasLtMatmulDescOpaque_t, MatmulDescDeleter>;
using Layout = std::unique_ptr<cublasLtMatrixLayoutOpaque_t, LayoutDeleter>;
using Preference = std::unique_ptr<cublasLtMatmulPreferenceOpaque_t, PreferenceDeleter>;

Layout make_layout(DType type, int64_t rows, int64_t cols, int64_t ld) {
  cublasLtMatrixLayout_t l = nullptr;
  EC_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, to_cuda(type), static_cast<uint64_t>(rows),
                                             static_cast<uint64_t>(cols), ld));
  return Layout(l);
}

template <class T>
void set_desc(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t attr, T value) {
  EC_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(d, attr, &value, sizeof(value)));
}

template <class T>
void set_pref(cublasLtMatmulPreference_t p, cublasLtMatmulPreferenceAttributes_t attr, T value) {
  EC_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(p, attr, &value, sizeof(value)));
}

}  // namespace

Gemm::Gemm(cublasLtHandle_t handle, void* workspace, size_t workspace_bytes, bool deterministic)
    : handle_(handle), workspace_(workspace), workspace_bytes_(workspace_bytes), deterministic_(deterministic) {}

const cublasLtMatmulAlgo_t& Gemm::algo_for(const Key& key, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t la,
                                           cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t lc) {
  for (const auto& e : cache_) {
    if (e.key == key) return e.algo;
  }
  cublasLtMatmulPreference_t raw = nullptr;
  EC_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&raw));
  Preference pref(raw);
  set_pref<uint64_t>(raw, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, workspace_bytes_);
  // cuBLASLt's A is our B and vice versa (see the file comment).
  set_pref<uint32_t>(raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_b);
  set_pref<uint32_t>(raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_a);
  set_pref<uint32_t>(raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_c);
  set_pref<uint32_t>(raw, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_c);
  if (deterministic_) {
    set_pref<uint32_t>(raw, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, CUBLASLT_REDUCTION_SCHEME_NONE);
  }
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  EC_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, op, la, lb, lc, lc, raw, 1, &result, &found));
  if (found == 0) {
    detail::throw_cuda_error("cublasLtMatmulAlgoGetHeuristic (no algorithm for this GEMM)", "CUBLAS_STATUS_NOT_SUPPORTED",
                             static_cast<long>(CUBLAS_STATUS_NOT_SUPPORTED), __FILE__, __LINE__);
  }
  cache_.push_back({key, result.algo});
  return cache_.back().algo;
}

void Gemm::run(const GemmParams& p, cudaStream_t stream) {
  if (p.m == 0 || p.n == 0) return;
  // Column-major problem: C^T [n, m] = op(B)^T [n, k] * op(A)^T [k, m].
  // Our B: stored row-major [k, n] is column-major [n, k] = op(B)^T (no transpose); stored [n, k]
  // (trans_b) is column-major [k, n] and must be transposed. Likewise for A.
  const cublasOperation_t op_b = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  Layout lb = p.trans_b ? make_layout(p.ab_type, p.k, p.n, p.ldb) : make_layout(p.ab_type, p.n, p.k, p.ldb);
  Layout la = p.trans_a ? make_layout(p.ab_type, p.m, p.k, p.lda) : make_layout(p.ab_type, p.k, p.m, p.lda);
  Layout lc = make_layout(p.c_type, p.n, p.m, p.ldc);

  cublasLtMatmulDesc_t raw = nullptr;
  EC_CUBLAS_CHECK(cublasLtMatmulDescCreate(&raw, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  MatmulDesc op(raw);
  set_desc<int32_t>(raw, CUBLASLT_MATMUL_DESC_TRANSA, op_b);
  set_desc<int32_t>(raw, CUBLASLT_MATMUL_DESC_TRANSB, op_a);

  Key key{p.m,       p.n,       p.k,        p.lda,     p.ldb,     p.ldc, p.trans_a, p.trans_b, p.beta != 0.0f,
          p.ab_type, p.c_type, alignment_of(p.a), alignment_of(p.b), alignment_of(p.c)};
  const cublasLtMatmulAlgo_t& algo = algo_for(key, raw, lb.get(), la.get(), lc.get());
  EC_CUBLAS_CHECK(cublasLtMatmul(handle_, raw, &p.alpha, p.b, lb.get(), p.a, la.get(), &p.beta, p.c, lc.get(), p.c,
                                 lc.get(), &algo, workspace_, workspace_bytes_, stream));
}

}  // namespace ec::kernels::cuda
