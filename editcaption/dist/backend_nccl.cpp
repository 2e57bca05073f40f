// ProcessGroupNCCL (only in a CUDA build of LibTorch).
#include "editcaption/core/build_info.h"

#if EC_TORCH_CUDA
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <ATen/Context.h>

#include <cstdlib>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/dist/backend.h"

namespace ec::dist {

bool nccl_available() {
#if EC_TORCH_CUDA
  return at::hasCUDA() && at::getNumGPUs() > 0;
#else
  return false;
#endif
}

c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, int device_index,
                                                    const std::string& name) {
#if EC_TORCH_CUDA
  EC_USER_CHECK(nccl_available(), Usage, "dist.backend is nccl but no CUDA device is visible (use gloo on CPU)");
  EC_USER_CHECK(device_index < static_cast<int>(at::getNumGPUs()), Usage,
                "LOCAL_RANK {} has no GPU: only {} visible (CUDA_VISIBLE_DEVICES?)", device_index, at::getNumGPUs());
  // Mode 2 (CleanUpOnly): on a timeout or an asynchronous NCCL error the watchdog aborts the
  // communicator and fails the work, and our wait turns that into exit code 7 with a diagnosis.
  // The default (and torchrun's 1) would kill the process from the watchdog thread instead.
  // ProcessGroupNCCL reads the variable in its constructor; it is set before any group exists.
  ::setenv("TORCH_NCCL_ASYNC_ERROR_HANDLING", "2", 1);
  c10::cuda::set_device(static_cast<c10::DeviceIndex>(device_index));
  auto opts = c10d::ProcessGroupNCCL::Options::create();
  // The watchdog is the backstop for stream-ordered waits; host waits time out first.
  opts->timeout = timeout + std::chrono::seconds(60);
  opts->group_name = name;
  auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
  pg->eagerConnectSingleDevice(at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(device_index)));
  log::debug("dist: NCCL group '{}' ready on cuda:{}", name, device_index);
  return pg;
#else
  (void)store, (void)rank, (void)size, (void)timeout, (void)device_index, (void)name;
  throw EC_USER_ERROR(Usage, "dist.backend is nccl but this LibTorch was built without CUDA (use gloo)");
#endif
}

}  // namespace ec::dist
