// Factories of the two c10d backends, one translation unit each (the Gloo headers come from
// Debian's libgloo-dev and must not leak elsewhere; the NCCL one needs the CUDA headers).
#pragma once

#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

#include <chrono>
#include <string>

namespace ec::dist {

/// CPU collectives. `hostname` is the address peers reach this process at ("127.0.0.1" on one node).
c10::intrusive_ptr<c10d::Backend> make_gloo_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, const std::string& hostname);

/// CUDA collectives on device `device_index` (already current). The communicator is created
/// eagerly so that a bad setup fails here, not in the first step. Throws UserError without CUDA.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store, int rank, int size,
                                                    std::chrono::milliseconds timeout, int device_index,
                                                    const std::string& name);

/// True when this binary's LibTorch has ProcessGroupNCCL and a CUDA device is visible.
bool nccl_available();

}  // namespace ec::dist
