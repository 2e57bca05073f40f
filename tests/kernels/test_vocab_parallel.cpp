// Vocab-parallel fused losses at tp = 2 (two threads, each with its own ProcessGroupGloo over one
// in-memory store) equal tp = 1: values, the hidden-state gradient and each rank's weight rows.
#define USE_C10D_GLOO 1
#include <gtest/gtest.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <torch/nn.h>

#include <exception>
#include <thread>

#include "kernels/cross_entropy.h"
#include "kernels/dpo_loss.h"
#include "kernels/vocab_parallel.h"
#include "tests/kernels/naive.h"

namespace ec {
namespace {

struct Outputs {
  torch::Tensor logp, mean_logp, entropy, correct, loss, d_hidden, d_weight;
};

struct Inputs {
  torch::Tensor hidden, weight, labels, seq, ref_c, ref_r;
};

Inputs make_inputs() {
  torch::manual_seed(5);
  Inputs in;
  const int64_t n = 30, d = 12, v = 37;  // odd V: the ranks hold 19 and 18 rows
  in.hidden = torch::randn({n, d});
  in.weight = torch::randn({v, d}) / 3.0;
  in.labels = torch::randint(0, v, {n}, torch::kLong);
  in.labels.masked_fill_(torch::rand({n}) < 0.2, -100);
  in.seq = torch::arange(n, torch::kLong).div(5, "floor");  // 6 sequences of 5 tokens = 3 pairs
  in.ref_c = -torch::rand({3}, torch::kDouble) * 10;
  in.ref_r = -torch::rand({3}, torch::kDouble) * 10;
  return in;
}

/// Runs CE (label smoothing) + DPO on one rank's rows; shard == nullptr is tp = 1.
Outputs run(const Inputs& in, const torch::Tensor& weight_rows, std::shared_ptr<const kernels::VocabShard> shard) {
  torch::Tensor h = in.hidden.clone().requires_grad_(true), w = weight_rows.clone().requires_grad_(true);
  kernels::LogprobOptions lo;
  lo.shard = shard;
  lo.tiling.token_chunk = 4;
  lo.tiling.vocab_block = 5;
  kernels::CrossEntropyOptions ce;
  ce.label_smoothing = 0.1;
  ce.logprobs = lo;
  auto c = kernels::fused_cross_entropy(h, w, in.labels, ce);
  kernels::DpoOptions dpo;
  dpo.logprobs = lo;
  auto d = kernels::fused_dpo_loss(h, w, in.labels, in.seq, kernels::DpoPairs{in.ref_c, in.ref_r, {}, {}}, dpo);
  torch::Tensor loss = c.loss + d.loss;
  loss.backward();
  return {c.logprobs.logp.detach(), c.logprobs.mean_logp.detach(), c.logprobs.entropy, c.logprobs.correct,
          loss.detach(), h.grad(), w.grad()};
}

TEST(VocabParallel, ShardRangesCoverTheVocabulary) {
  using Range = std::pair<int64_t, int64_t>;
  EXPECT_EQ(kernels::vocab_shard_range(37, 0, 2), Range(0, 19));
  EXPECT_EQ(kernels::vocab_shard_range(37, 1, 2), Range(19, 37));
  EXPECT_EQ(kernels::vocab_shard_range(151936, 3, 4), Range(113952, 151936));
}

TEST(VocabParallel, GlooTp2EqualsTp1) {
  Inputs in = make_inputs();
  Outputs whole = run(in, in.weight, nullptr);
  auto store = c10::make_intrusive<c10d::HashStore>();
  std::vector<Outputs> ranks(2);
  std::vector<std::exception_ptr> errors(2);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < 2; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        auto options = c10d::ProcessGroupGloo::Options::create();
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
        auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, 2, options);
        auto shard = kernels::make_vocab_shard(backend, in.weight.size(0));
        auto [begin, end] = kernels::vocab_shard_range(in.weight.size(0), rank, 2);
        ranks[rank] = run(in, in.weight.narrow(0, begin, end - begin), shard);
      } catch (...) {
        errors[rank] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  for (int rank = 0; rank < 2; ++rank) {
    SCOPED_TRACE(rank);
    const Outputs& o = ranks[rank];
    EXPECT_LE(test::rel_error(o.logp, whole.logp), 1e-5);
    EXPECT_LE(test::rel_error(o.mean_logp, whole.mean_logp), 1e-5);
    EXPECT_LE(test::rel_error(o.entropy, whole.entropy), 1e-5);
    EXPECT_TRUE(o.correct.equal(whole.correct));
    EXPECT_LE(test::rel_error(o.loss, whole.loss), 1e-5);
    EXPECT_LE(test::rel_error(o.d_hidden, whole.d_hidden), 1e-5);
    auto [begin, end] = kernels::vocab_shard_range(in.weight.size(0), rank, 2);
    EXPECT_LE(test::rel_error(o.d_weight, whole.d_weight.narrow(0, begin, end - begin)), 1e-5);
  }
}

}  // namespace
}  // namespace ec
