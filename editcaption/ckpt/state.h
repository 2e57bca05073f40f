// What a trainer hands to a checkpoint and gets back: a small typed header (identical on every
// rank) and, per rank, opaque named tensor files and JSON documents. The checkpoint layer does not
// interpret them; the trainer decides what goes where, e.g.
//   tensors: "model" (this rank's parameter shard), "optimizer" (exp_avg, exp_avg_sq, step per param)
//   json:    "optimizer_groups" (lr, betas, eps, weight decay), "data_cursor", "rng" (ckpt/rng.h),
//            "update_guard", "config" (rank 0: the resolved config)
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "editcaption/io/safetensors.h"

namespace ec::ckpt {

struct CheckpointHeader {
  int64_t step = 0;              ///< optimizer steps completed
  int64_t epoch = 0;
  int64_t micro_step = 0;        ///< micro-batches into the current gradient-accumulation window
  int64_t consumed_samples = 0;  ///< global, all ranks
  int64_t consumed_tokens = 0;   ///< global, all ranks
  std::string config_hash;       ///< SHA-256 of the resolved config
  std::string reference_identity;  ///< DPO: identity (hash) of the frozen reference model; empty otherwise
  /// Small trainer-defined values worth seeing without opening any file (e.g. the parallel layout).
  nlohmann::json extra = nlohmann::json::object();
};

nlohmann::ordered_json to_json(const CheckpointHeader& header);
/// Throws UserError(Checkpoint) naming `what` on missing or mistyped fields.
CheckpointHeader header_from_json(const nlohmann::json& j, std::string_view what);

struct TensorFile {
  io::NamedTensors tensors;
  io::Metadata metadata;
};

/// One rank's part of a checkpoint. Names become file names (rank_NNNNN/<name>.safetensors or
/// .json): letters, digits, '_', '-', '.', not starting with '.', at most 100 characters.
struct RankState {
  std::map<std::string, TensorFile> tensors;
  std::map<std::string, nlohmann::json> json;
};

/// Throws UserError(Usage) if `name` cannot be a state file name.
void check_state_name(std::string_view name);

}  // namespace ec::ckpt
