// Row-major GEMMs on cuBLASLt for the fused losses: C[m, n] = alpha op(A) op(B) + beta C with
// op(A) [m, k] and op(B) [k, n], bf16/fp16/fp32 inputs, fp32 accumulation and an fp32 or input-type
// output. No LibTorch here: raw pointers, a handle, a workspace and a stream.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace ec::kernels::cuda {

enum class DType { F32, BF16, F16 };

struct GemmParams {
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;  ///< stored [m, k] (trans_a: [k, m]), row stride lda
  int64_t lda = 0;
  bool trans_a = false;
  const void* b = nullptr;  ///< stored [k, n] (trans_b: [n, k]), row stride ldb
  int64_t ldb = 0;
  bool trans_b = false;
  void* c = nullptr;  ///< [m, n], row stride ldc; read when beta != 0
  int64_t ldc = 0;
  DType ab_type = DType::BF16;
  DType c_type = DType::F32;
  float alpha = 1.0f;
  float beta = 0.0f;
};

/// One caller's GEMMs. Keeps the heuristic's algorithm per problem signature for its lifetime (a
/// fused loss call runs a few distinct shapes many times). Not thread-safe; cheap to create.
class Gemm {
 public:
  /// `deterministic` keeps cuBLASLt to algorithms without split-K reduction.
  Gemm(cublasLtHandle_t handle, void* workspace, size_t workspace_bytes, bool deterministic);
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  void run(const GemmParams& p, cudaStream_t stream);

 private:
  struct Key {
    int64_t m, n, k, lda, ldb, ldc;
    bool trans_a, trans_b, accumulate;
    DType ab_type, c_type;
    uint32_t align_a, align_b, align_c;
    bool operator==(const Key& o) const {
      return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldc == o.ldc &&
             trans_a == o.trans_a && trans_b == o.trans_b && accumulate == o.accumulate && ab_type == o.ab_type &&
             c_type == o.c_type && align_a == o.align_a && align_b == o.align_b && align_c == o.align_c;
    }
  };
  struct Entry {
    Key key;
    cublasLtMatmulAlgo_t algo;
  };
  const cublasLtMatmulAlgo_t& algo_for(const Key& key, cublasLtMatmulDesc_t op, cublasLtMatrixLayout_t la,
                                       cublasLtMatrixLayout_t lb, cublasLtMatrixLayout_t lc);

  cublasLtHandle_t handle_;
  void* workspace_;
  size_t workspace_bytes_;
  bool deterministic_;
  std::vector<Entry> cache_;
};

}  // namespace ec::kernels::cuda
