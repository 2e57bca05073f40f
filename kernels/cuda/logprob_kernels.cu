// Row kernels of the fused log-prob loss (launchers declared in logprob_kernels.h).
//
// Determinism: one CTA per row, each thread walks its columns in increasing order and the CTA
// combines the threads' partials with a fixed shuffle/shared-memory tree. No atomics: results are
// bitwise identical run to run.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>

#include "kernels/cuda/logprob_kernels.h"
#include "kernels/cuda_check.h"

namespace ec::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kColsPerThread = 8;  // dlogits: columns per thread per CTA
constexpr unsigned kFullMask = 0xffffffffu;

struct MaxArg {
  float value;
  int64_t index;
};

/// The larger value; the lower index on ties (NaNs never win).
__device__ __forceinline__ MaxArg better(MaxArg a, MaxArg b) {
  return (b.value > a.value || (b.value == a.value && b.index < a.index)) ? b : a;
}

__device__ MaxArg block_max(MaxArg v, MaxArg* shared) {
  for (int offset = 16; offset > 0; offset /= 2) {
    MaxArg o{__shfl_down_sync(kFullMask, v.value, offset), __shfl_down_sync(kFullMask, v.index, offset)};
    v = better(v, o);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kWarps ? shared[lane] : MaxArg{-INFINITY, INT64_MAX};
    for (int offset = 16; offset > 0; offset /= 2) {
      MaxArg o{__shfl_down_sync(kFullMask, v.value, offset), __shfl_down_sync(kFullMask, v.index, offset)};
      v = better(v, o);
    }
    if (lane == 0) shared[0] = v;
  }
  __syncthreads();
  MaxArg result = shared[0];
  __syncthreads();  // shared is reused by the caller
  return result;
}

struct Sums {
  float sumexp, ent, rel;
};

/// Thread 0 receives the CTA total (others hold partials).
__device__ Sums block_sum(Sums v, Sums* shared) {
  for (int offset = 16; offset > 0; offset /= 2) {
    v.sumexp += __shfl_down_sync(kFullMask, v.sumexp, offset);
    v.ent += __shfl_down_sync(kFullMask, v.ent, offset);
    v.rel += __shfl_down_sync(kFullMask, v.rel, offset);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < kWarps ? shared[lane] : Sums{0.0f, 0.0f, 0.0f};
    for (int offset = 16; offset > 0; offset /= 2) {
      v.sumexp += __shfl_down_sync(kFullMask, v.sumexp, offset);
      v.ent += __shfl_down_sync(kFullMask, v.ent, offset);
      v.rel += __shfl_down_sync(kFullMask, v.rel, offset);
    }
  }
  return v;
}

__global__ void __launch_bounds__(kThreads) row_stats_kernel(RowStatsParams p) {
  __shared__ MaxArg shared_max[kWarps];
  __shared__ Sums shared_sums[kWarps];
  const int64_t row = blockIdx.x;
  const float* z = p.logits + row * p.ld;

  // Pass 1: the tile's max and its first column.
  MaxArg best{-INFINITY, INT64_MAX};
  for (int64_t c = threadIdx.x; c < p.cols; c += kThreads) {
    const float v = z[c];
    if (v > best.value) best = MaxArg{v, c};
  }
  best = block_max(best, shared_max);
  const float m = best.value;

  // Pass 2: sums relative to the tile's max (the row is still in L1/L2).
  Sums s{0.0f, 0.0f, 0.0f};
  for (int64_t c = threadIdx.x; c < p.cols; c += kThreads) {
    const float d = z[c] - m;
    const float e = expf(d);
    s.sumexp += e;
    s.ent += e * d;
    s.rel += d;
  }
  s = block_sum(s, shared_sums);
  if (threadIdx.x != 0) return;

  const int64_t label = p.labels[row] - p.col_offset;
  const float target = (label >= 0 && label < p.cols) ? z[label] : 0.0f;
  const int64_t argmax = best.index + p.col_offset;
  if (p.cols_before == 0) {
    p.max[row] = m;
    p.sumexp[row] = s.sumexp;
    p.ent[row] = s.ent;
    p.rel_sum[row] = s.rel;
    p.target[row] = target;
    p.argmax[row] = argmax;
    return;
  }
  // Merge with the running statistics, re-basing both to the common max (as merge_stats).
  const float am = p.max[row];
  const float nm = fmaxf(am, m);
  const float da = am - nm, db = m - nm;
  const float ea = expf(da), eb = expf(db);
  const float as = p.sumexp[row];
  p.ent[row] = ea * (p.ent[row] + da * as) + eb * (s.ent + db * s.sumexp);
  p.sumexp[row] = as * ea + s.sumexp * eb;
  p.rel_sum[row] = p.rel_sum[row] + da * static_cast<float>(p.cols_before) + s.rel + db * static_cast<float>(p.cols);
  p.target[row] += target;
  if (m > am) p.argmax[row] = argmax;
  p.max[row] = nm;
}

template <class T>
__device__ __forceinline__ T from_float(float v);
template <>
__device__ __forceinline__ float from_float<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) {
  return __float2bfloat16_rn(v);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float v) {
  return __float2half_rn(v);
}

template <class T>
__global__ void __launch_bounds__(kThreads) dlogits_kernel(DlogitsParams p) {
  const int64_t row = blockIdx.x;
  const float* z = p.logits + row * p.ld;
  T* out = static_cast<T*>(p.out) + row * p.ld_out;
  const float lse = p.lse[row];
  const float g_logp = p.g_logp[row];
  const float g_mean = p.g_mean ? p.g_mean[row] : 0.0f;
  const float coef = -(g_logp + g_mean);
  const float uniform = g_mean * p.inv_vocab;
  const int64_t label = p.labels[row] - p.col_offset;
  constexpr int64_t kSpan = int64_t{kThreads} * kColsPerThread;
  for (int64_t base = int64_t{blockIdx.y} * kSpan; base < p.cols; base += int64_t{gridDim.y} * kSpan) {
#pragma unroll
    for (int j = 0; j < kColsPerThread; ++j) {
      const int64_t c = base + j * kThreads + threadIdx.x;
      if (c < p.cols) {
        float d = expf(z[c] - lse) * coef + uniform;
        if (c == label) d += g_logp;
        out[c] = from_float<T>(d);
      }
    }
  }
}

}  // namespace

void row_stats_update(const RowStatsParams& p, cudaStream_t stream) {
  if (p.rows == 0 || p.cols == 0) return;
  row_stats_kernel<<<static_cast<unsigned>(p.rows), kThreads, 0, stream>>>(p);
  EC_CUDA_CHECK_LAUNCH();
}

void dlogits(const DlogitsParams& p, cudaStream_t stream) {
  if (p.rows == 0 || p.cols == 0) return;
  const int64_t span = int64_t{kThreads} * kColsPerThread;
  const dim3 grid(static_cast<unsigned>(p.rows), static_cast<unsigned>(std::min<int64_t>((p.cols + span - 1) / span, 65535)));
  switch (p.out_type) {
    case DType::F32: dlogits_kernel<float><<<grid, kThreads, 0, stream>>>(p); break;
    case DType::BF16: dlogits_kernel<__nv_bfloat16><<<grid, kThreads, 0, stream>>>(p); break;
    case DType::F16: dlogits_kernel<__half><<<grid, kThreads, 0, stream>>>(p); break;
  }
  EC_CUDA_CHECK_LAUNCH();
}

}  // namespace ec::kernels::cuda
