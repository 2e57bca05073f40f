#include "editcaption/dist/buckets.h"

#include <algorithm>

#include "editcaption/core/check.h"

namespace ec::dist {

BucketLayout plan_buckets(const std::vector<ParamInfo>& params, int64_t bucket_bytes, int parts) {
  EC_CHECK(parts >= 1, "plan_buckets: parts {}", parts);
  EC_CHECK(bucket_bytes > 0, "plan_buckets: bucket_bytes {}", bucket_bytes);
  BucketLayout layout;
  layout.parts = parts;
  layout.slot_of.assign(params.size(), {-1, -1});
  auto close = [&] {
    Bucket& b = layout.buckets.back();
    b.padded = (b.numel + parts - 1) / parts * parts;
  };
  for (int i = static_cast<int>(params.size()) - 1; i >= 0; --i) {
    const ParamInfo& p = params[i];
    bool fresh = layout.buckets.empty();
    if (!fresh) {
      const Bucket& b = layout.buckets.back();
      int64_t bytes = b.numel * static_cast<int64_t>(c10::elementSize(b.dtype));
      fresh = b.dtype != p.dtype || b.device != p.device || bytes >= bucket_bytes;
    }
    if (fresh) {
      if (!layout.buckets.empty()) close();
      layout.buckets.push_back({p.dtype, p.device, {}, 0, 0});
    }
    Bucket& b = layout.buckets.back();
    int64_t offset = (b.numel + BucketLayout::kAlign - 1) / BucketLayout::kAlign * BucketLayout::kAlign;
    layout.slot_of[i] = {static_cast<int>(layout.buckets.size()) - 1, static_cast<int>(b.slots.size())};
    b.slots.push_back({i, offset, p.numel});
    b.numel = offset + p.numel;
  }
  if (!layout.buckets.empty()) close();
  return layout;
}

std::vector<ShardPiece> BucketLayout::pieces(int part) const {
  EC_CHECK(part >= 0 && part < parts, "pieces: part {} of {}", part, parts);
  std::vector<ShardPiece> out;
  for (int b = 0; b < static_cast<int>(buckets.size()); ++b) {
    int64_t shard = shard_numel(b);
    int64_t lo = part * shard, hi = lo + shard;
    for (const BucketSlot& s : buckets[b].slots) {
      int64_t begin = std::max(lo, s.offset), end = std::min(hi, s.offset + s.numel);
      if (begin >= end) continue;
      out.push_back({s.param, b, begin - s.offset, end - s.offset, begin - lo});
    }
  }
  return out;
}

int64_t BucketLayout::total_padded() const {
  int64_t n = 0;
  for (const Bucket& b : buckets) n += b.padded;
  return n;
}

}  // namespace ec::dist
