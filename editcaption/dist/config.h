// The `dist:` config section: how the job is split over processes (data x tensor parallel), which
// c10d backend carries the collectives, their timeouts, and how gradients are reduced.
#pragma once

#include <optional>

#include "editcaption/config/visitor.h"

namespace ec::dist {

enum class BackendKind { Auto, Nccl, Gloo };
EC_CONFIG_ENUM(BackendKind, {{"auto", BackendKind::Auto}, {"nccl", BackendKind::Nccl}, {"gloo", BackendKind::Gloo}})

/// Element type of the gradient all-reduce (parameters and the optimizer keep their own types).
enum class ReduceDtype { Fp32, Bf16 };
EC_CONFIG_ENUM(ReduceDtype, {{"fp32", ReduceDtype::Fp32}, {"bf16", ReduceDtype::Bf16}})

struct DistConfig {
  using is_config_section = void;
  /// Data-parallel size; 0 means world_size / tp.
  int dp = 0;
  int tp = 1;
  BackendKind backend = BackendKind::Auto;
  double timeout_s = 600;
  /// Collectives of the first step also wait for lazy communicator setup and warm-up.
  std::optional<double> first_step_timeout_s;
  double init_timeout_s = 600;
  double heartbeat_s = 2;
  double bucket_mb = 25;
  ReduceDtype reduce_dtype = ReduceDtype::Fp32;
  bool zero1 = false;

  template <class V>
  void visit(V& v) {
    v("dp", dp, "Data-parallel size (0: world size / tp). dp * tp must equal the world size.", config::at_least(0));
    v("tp", tp,
      "Tensor-parallel size (Megatron style); must divide attention heads, KV heads, MLP width and vocabulary size.",
      config::at_least(1));
    v("backend", backend, "Collective backend: nccl on CUDA devices, gloo on CPU; auto picks nccl when a GPU is visible.");
    v("timeout_s", timeout_s, "Seconds a collective may wait for the other ranks before the job stops with exit code 7.",
      config::greater_than(0.0));
    v("first_step_timeout_s", first_step_timeout_s,
      "Collective timeout until the first optimizer step completes (null: timeout_s).", config::greater_than(0.0));
    v("init_timeout_s", init_timeout_s, "Seconds to wait for all ranks at the rendezvous (TCPStore).",
      config::greater_than(0.0));
    v("heartbeat_s", heartbeat_s, "Liveness heartbeat period; a rank silent for 2.5 periods is reported as dead.",
      config::greater_than(0.0));
    v("bucket_mb", bucket_mb, "Gradient bucket size in MiB: each bucket is all-reduced as soon as it is full.",
      config::greater_than(0.0));
    v("reduce_dtype", reduce_dtype, "Element type of the gradient reduction: fp32 or bf16 (half the bytes).");
    v("zero1", zero1, "ZeRO-1: shard the optimizer state over the data-parallel ranks (reduce-scatter + all-gather).");
  }
  void validate(config::Validation& v) const;
};

}  // namespace ec::dist
