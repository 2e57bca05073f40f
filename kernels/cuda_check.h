// Check macros for CUDA runtime and cuBLAS/cuBLASLt calls. A failing call throws ec::InternalError
// whose message names the call, the status (name and number) and file:line, e.g.
//   cublasLtMatmul(...) failed: CUBLAS_STATUS_NOT_SUPPORTED (15) at kernels/cuda/gemm_cublaslt.cu:120
// Usable from .cu files: only CUDA toolkit headers here, no LibTorch.
#pragma once

#include <cublas_api.h>
#include <cuda_runtime_api.h>

#include "kernels/cuda_error.h"

/// EC_CUDA_CHECK(cudaMemsetAsync(...)): throws unless the call returns cudaSuccess.
#define EC_CUDA_CHECK(call)                                                                             \
  do {                                                                                                  \
    cudaError_t ec_cuda_status_ = (call);                                                               \
    if (ec_cuda_status_ != cudaSuccess) {                                                  \
      ::ec::kernels::detail::throw_cuda_error(#call, cudaGetErrorName(ec_cuda_status_),                 \
                                              static_cast<long>(ec_cuda_status_), __FILE__, __LINE__);  \
    }                                                                                                   \
  } while (0)

/// EC_CUDA_CHECK_LAUNCH() right after a kernel launch reports launch-configuration errors.
#define EC_CUDA_CHECK_LAUNCH() EC_CUDA_CHECK(cudaGetLastError())

/// EC_CUBLAS_CHECK(cublasLtMatmul(...)): throws unless the call returns CUBLAS_STATUS_SUCCESS.
#define EC_CUBLAS_CHECK(call)                                                                           \
  do {                                                                                                  \
    cublasStatus_t ec_cublas_status_ = (call);                                                          \
    if (ec_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                                      \
      ::ec::kernels::detail::throw_cuda_error(#call, cublasGetStatusName(ec_cublas_status_),            \
                                              static_cast<long>(ec_cublas_status_), __FILE__, __LINE__); \
    }                                                                                                   \
  } while (0)
