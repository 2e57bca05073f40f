// A communicating group of ranks (the world, a data-parallel or a tensor-parallel group) over a
// c10d backend: ProcessGroupNCCL for CUDA tensors, ProcessGroupGloo for CPU tensors. A group of
// one process has no backend and every collective is the identity.
//
// Every collective waits with the group's timeout. A failure (timeout, a peer that died, a
// communicator error) becomes ec::UserError with ExitCode::Comm whose message names the
// collective, the group and the rank(s) found dead or behind (see liveness.h).
#pragma once

#include <ATen/Tensor.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace c10d {
class Backend;
}

namespace ec::dist {

class Liveness;

enum class ReduceOp { Sum, Min, Max };

/// How wait() waits. Host: the calling thread blocks until the collective completed, bounded by
/// the group's timeout (use before reading results on the host, and at step boundaries).
/// Stream: on NCCL only the current CUDA stream is ordered after the communication and the host
/// runs ahead (tensor-parallel layers); ProcessGroupNCCL's watchdog bounds it. Gloo always blocks.
enum class WaitMode { Host, Stream };

/// An asynchronous collective. A Pending that is never waited is waited (errors logged, not
/// thrown) by its destructor. Its group must outlive it.
class Pending {
 public:
  Pending();
  Pending(Pending&&) noexcept;
  Pending& operator=(Pending&&) noexcept;
  ~Pending();
  void wait(WaitMode mode = WaitMode::Host);
  bool valid() const { return impl_ != nullptr; }

  struct Impl;
  explicit Pending(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

class Group {
 public:
  /// A group of this process only: no backend, every collective is the identity.
  static std::shared_ptr<Group> local(std::string name, at::Device device, int global_rank = 0);

  struct Setup {
    std::string name;
    std::vector<int> global_ranks;  ///< member ranks in the world, ascending; index = group rank
    int rank = 0;                   ///< this process's rank inside the group
    at::Device device = at::kCPU;
    std::chrono::milliseconds timeout{600000};
    std::shared_ptr<Liveness> liveness;  ///< optional: names dead/hung ranks in errors
  };
  Group(Setup setup, c10::intrusive_ptr<c10d::Backend> backend);
  ~Group();
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;

  const std::string& name() const;
  int rank() const;
  int size() const;
  /// Global rank of group rank r.
  int global_rank(int r) const;
  const std::vector<int>& global_ranks() const;
  /// Tensors given to collectives must live here (cuda:LOCAL_RANK for NCCL, cpu for Gloo).
  at::Device device() const;
  std::string backend_name() const;

  std::chrono::milliseconds timeout() const;
  void set_timeout(std::chrono::milliseconds timeout);

  /// In place; all ranks pass tensors of the same shape and dtype.
  void all_reduce(at::Tensor& t, ReduceOp op = ReduceOp::Sum, WaitMode mode = WaitMode::Host);
  Pending all_reduce_async(at::Tensor& t, ReduceOp op = ReduceOp::Sum);
  void broadcast(at::Tensor& t, int root);
  /// out (numel = size * in.numel(), contiguous) = concatenation of every rank's `in`.
  void all_gather(at::Tensor& out, const at::Tensor& in, WaitMode mode = WaitMode::Host);
  Pending all_gather_async(at::Tensor& out, const at::Tensor& in);
  /// out (numel = in.numel() / size) = this rank's chunk of the reduction of every rank's `in`.
  void reduce_scatter(at::Tensor& out, const at::Tensor& in, ReduceOp op = ReduceOp::Sum);
  Pending reduce_scatter_async(at::Tensor& out, const at::Tensor& in, ReduceOp op = ReduceOp::Sum);
  void barrier();

  /// Normal exit: flushes and destroys the communicators (ProcessGroupNCCL::shutdown).
  void shutdown();
  /// Error exit: aborts the communicators without waiting for outstanding work.
  void abort();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace ec::dist
