#include "kernels/vocab_parallel.h"

#include <torch/csrc/distributed/c10d/Backend.hpp>

#include <limits>

#include "editcaption/core/check.h"
#include "kernels/logprob_impl.h"

namespace ec::kernels {

std::pair<int64_t, int64_t> vocab_shard_range(int64_t vocab_size, int rank, int size) {
  EC_CHECK(size > 0 && rank >= 0 && rank < size, "rank {} of {}", rank, size);
  const int64_t base = vocab_size / size;
  const int64_t extra = vocab_size % size;
  const int64_t begin = rank * base + std::min<int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

std::shared_ptr<const VocabShard> make_vocab_shard(const c10::intrusive_ptr<c10d::Backend>& tp_group,
                                                   int64_t vocab_size) {
  EC_USER_CHECK(tp_group, Usage, "make_vocab_shard: no tensor-parallel backend given");
  EC_USER_CHECK(vocab_size >= tp_group->getSize(), Usage,
                "make_vocab_shard: vocabulary of {} rows cannot be split over {} ranks", vocab_size,
                tp_group->getSize());
  auto shard = std::make_shared<VocabShard>();
  shard->rank = tp_group->getRank();
  shard->size = tp_group->getSize();
  shard->vocab_start = vocab_shard_range(vocab_size, shard->rank, shard->size).first;
  shard->vocab_size = vocab_size;
  shard->all_reduce = [backend = tp_group](at::Tensor& t, ShardReduce op) {
    c10d::AllreduceOptions options;
    options.reduceOp = op == ShardReduce::Sum   ? c10d::ReduceOp::SUM
                       : op == ShardReduce::Max ? c10d::ReduceOp::MAX
                                                : c10d::ReduceOp::MIN;
    std::vector<at::Tensor> tensors{t};
    backend->allreduce(tensors, options)->wait();
  };
  return shard;
}

namespace detail {

void combine_across_shards(RowStats& s, const VocabShard& shard) {
  EC_CHECK(shard.all_reduce, "vocab shard without an all_reduce");
  at::Tensor global_max = s.max.clone();
  shard.all_reduce(global_max, ShardReduce::Max);
  at::Tensor d = s.max - global_max;  // <= 0
  at::Tensor e = d.exp();
  // One SUM for the four sums, each re-based from this rank's max to the global one.
  at::Tensor packed = at::stack({s.sumexp * e, e * (s.ent + d * s.sumexp),
                                 s.rel_sum + d * static_cast<double>(s.count), s.target});
  shard.all_reduce(packed, ShardReduce::Sum);
  // Lowest global id among the ranks that reach the global max, as with one rank.
  at::Tensor candidate = at::where(s.max == global_max, s.argmax,
                                   at::full_like(s.argmax, std::numeric_limits<int64_t>::max()));
  shard.all_reduce(candidate, ShardReduce::Min);
  s.max = global_max;
  s.sumexp = packed[0];
  s.ent = packed[1];
  s.rel_sum = packed[2];
  s.target = packed[3];
  s.argmax = candidate;
  s.count = shard.vocab_size;
}

void reduce_across_shards(at::Tensor& dx, const VocabShard& shard) {
  EC_CHECK(shard.all_reduce, "vocab shard without an all_reduce");
  EC_CHECK(dx.is_contiguous(), "hidden-state gradient must be contiguous");
  shard.all_reduce(dx, ShardReduce::Sum);
}

}  // namespace detail
}  // namespace ec::kernels
