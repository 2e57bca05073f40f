// The row kernels of the fused log-prob loss. They work on one tile of fp32 logits
// z[rows, cols] (row stride ld) produced by a GEMM, whose column c is global vocabulary id
// col_offset + c. POD parameters, raw pointers and a stream; no LibTorch.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "kernels/cuda/gemm.h"

namespace ec::kernels::cuda {

/// Folds the tile into each row's running online-softmax statistics (see detail::RowStats):
/// max, sumexp, ent, rel_sum, target, argmax, all [rows]. cols_before == 0 overwrites them.
struct RowStatsParams {
  const float* logits = nullptr;
  int64_t ld = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t col_offset = 0;
  int64_t cols_before = 0;  ///< vocabulary columns already folded into the statistics
  const int64_t* labels = nullptr;
  float* max = nullptr;
  float* sumexp = nullptr;
  float* ent = nullptr;
  float* rel_sum = nullptr;
  float* target = nullptr;
  int64_t* argmax = nullptr;
};
void row_stats_update(const RowStatsParams& p, cudaStream_t stream);

/// Gradient of the tile's logits, written in out_type (row stride ld_out):
///   dz = -(g_logp + g_mean) exp(z - lse) + g_mean * inv_vocab + g_logp [column == label]
/// g_mean may be null (then 0).
struct DlogitsParams {
  const float* logits = nullptr;
  int64_t ld = 0;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t col_offset = 0;
  const int64_t* labels = nullptr;
  const float* lse = nullptr;
  const float* g_logp = nullptr;
  const float* g_mean = nullptr;
  float inv_vocab = 0.0f;
  void* out = nullptr;
  int64_t ld_out = 0;
  DType out_type = DType::BF16;
};
void dlogits(const DlogitsParams& p, cudaStream_t stream);

}  // namespace ec::kernels::cuda
