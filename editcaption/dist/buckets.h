// How parameters are packed into flat gradient buckets (pure arithmetic, no tensors): GradSync
// uses it to reduce gradients, ZeRO-1 to shard the optimizer state, and checkpoint resharding to
// map one data-parallel size onto another.
//
// Parameters go in reverse order (the order the backward pass produces their gradients), a new
// bucket starts when the current one reaches `bucket_bytes` or the dtype/device changes, each
// parameter starts at a multiple of kAlign elements, and each bucket is padded to a multiple of
// `parts` (the data-parallel size) so that it splits into equal shards.
#pragma once

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace ec::dist {

struct ParamInfo {
  int64_t numel = 0;
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
};

struct BucketSlot {
  int param = 0;       ///< index into the parameter list
  int64_t offset = 0;  ///< first element in the bucket
  int64_t numel = 0;
};

struct Bucket {
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
  std::vector<BucketSlot> slots;
  int64_t numel = 0;   ///< elements up to the end of the last slot
  int64_t padded = 0;  ///< numel rounded up to a multiple of the layout's parts
};

/// A piece of a parameter inside one shard: elements [param_begin, param_end) of the flattened
/// parameter sit at [shard_offset, shard_offset + size) of the shard of bucket `bucket`.
struct ShardPiece {
  int param = 0;
  int bucket = 0;
  int64_t param_begin = 0;
  int64_t param_end = 0;
  int64_t shard_offset = 0;
  int64_t size() const { return param_end - param_begin; }
};

struct BucketLayout {
  static constexpr int64_t kAlign = 16;
  int parts = 1;
  std::vector<Bucket> buckets;
  /// param -> (bucket, slot)
  std::vector<std::pair<int, int>> slot_of;

  int64_t shard_numel(int bucket) const { return buckets[bucket].padded / parts; }
  /// Every piece of every parameter that falls in shard `part` (of each bucket), bucket order.
  std::vector<ShardPiece> pieces(int part) const;
  /// Total padded elements (what a reduction moves per rank).
  int64_t total_padded() const;
};

BucketLayout plan_buckets(const std::vector<ParamInfo>& params, int64_t bucket_bytes, int parts);

}  // namespace ec::dist
