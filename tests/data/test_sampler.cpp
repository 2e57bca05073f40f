// Sampler: the fully specified RNG, determinism, sharding invariance (the global batch is the same
// for any number of ranks), length bucketing and cursor round-trips (mid-epoch, mid-accumulation,
// epoch boundary, resume twice, layout changes).
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "editcaption/core/error.h"
#include "editcaption/data/rng.h"
#include "editcaption/data/sampler.h"

namespace ec::data {
namespace {

TEST(Rng, SplitMix64MatchesThePublishedSequence) {
  // Reference outputs of SplitMix64 for seed 1234567 (Vigna's splitmix64.c; also quoted on
  // Wikipedia's Xorshift page).
  Rng r(1234567);
  EXPECT_EQ(r.next(), 6457827717110365317ULL);
  EXPECT_EQ(r.next(), 3203168211198807973ULL);
  EXPECT_EQ(r.next(), 9817491932198370423ULL);
  EXPECT_EQ(r.next(), 4593380528125082431ULL);
  EXPECT_EQ(r.next(), 16408922859458223821ULL);
}

TEST(Rng, BelowIsUniformEnough) {
  Rng r(7);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 100000; ++i) ++counts[r.below(10)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

SamplerLayout layout(int64_t b, int64_t G, int W = 1, int r = 0) { return {b, G, W, r}; }

std::vector<int64_t> take_indices(Sampler& s, int n) {
  std::vector<int64_t> out;
  for (int i = 0; i < n; ++i) {
    auto p = s.next();
    out.insert(out.end(), p.indices.begin(), p.indices.end());
  }
  return out;
}

TEST(Sampler, OrderDependsOnlyOnSeedAndEpoch) {
  SamplerConfig cfg;
  Sampler a(100, cfg, 42, layout(4, 20)), b(100, cfg, 42, layout(4, 20)), c(100, cfg, 43, layout(4, 20));
  EXPECT_EQ(a.epoch_order(0), b.epoch_order(0));
  EXPECT_NE(a.epoch_order(0), a.epoch_order(1));
  EXPECT_NE(a.epoch_order(0), c.epoch_order(0));
  std::vector<int64_t> sorted = a.epoch_order(3);
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(100);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);  // a permutation
  // The micro-batches of one rank walk the order.
  EXPECT_EQ(take_indices(a, 25), a.epoch_order(0));
  EXPECT_EQ(a.cursor(), (SamplerCursor{1, 0}));
  EXPECT_EQ(take_indices(a, 25), a.epoch_order(1));
}

TEST(Sampler, UnshuffledOrderIsTheIdentity) {
  SamplerConfig cfg;
  cfg.shuffle = false;
  Sampler s(6, cfg, 1, layout(2, 2));
  EXPECT_EQ(s.epoch_order(5), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(Sampler, PartialLastStepWrapsOrDrops) {
  SamplerConfig cfg;
  cfg.shuffle = false;
  Sampler wrap(10, cfg, 1, layout(2, 4));
  EXPECT_EQ(wrap.steps_per_epoch(), 3);
  EXPECT_EQ(wrap.epoch_order(0), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1}));
  cfg.drop_last = true;
  Sampler drop(10, cfg, 1, layout(2, 4));
  EXPECT_EQ(drop.steps_per_epoch(), 2);
  EXPECT_EQ(drop.epoch_order(0).size(), 8u);
  EXPECT_THROW(Sampler(3, cfg, 1, layout(2, 4)), UserError);
  EXPECT_THROW(Sampler(10, cfg, 1, layout(3, 4)), UserError);  // G not a multiple of W*b
}

TEST(Sampler, GlobalBatchIsTheSameForAnyNumberOfRanks) {
  SamplerConfig cfg;
  const int64_t N = 103, G = 24;
  std::vector<int64_t> reference = Sampler(N, cfg, 9, layout(1, G)).epoch_order(0);
  for (int W : {1, 2, 3, 4, 6}) {
    for (int64_t b : {1, 2, 4}) {
      if (G % (W * b) != 0) continue;
      std::vector<Sampler> ranks;
      for (int r = 0; r < W; ++r) ranks.emplace_back(N, cfg, 9, layout(b, G, W, r));
      const int64_t accumulation = G / (W * b);
      std::vector<int64_t> global;
      for (int64_t step = 0; step < ranks[0].steps_per_epoch(); ++step) {
        for (int64_t a = 0; a < accumulation; ++a) {
          for (int r = 0; r < W; ++r) {
            MicroBatchPlan p = ranks[r].next();
            EXPECT_EQ(p.step, step);
            EXPECT_EQ(p.micro, a);
            EXPECT_EQ(p.last_in_step, a == accumulation - 1);
            global.insert(global.end(), p.indices.begin(), p.indices.end());
          }
        }
      }
      EXPECT_EQ(global, reference) << "W=" << W << " b=" << b;
    }
  }
}

TEST(Sampler, LengthBucketingGroupsSimilarLengths) {
  const int64_t N = 512, G = 16, b = 4;
  std::vector<int64_t> lengths(N);
  Rng rng(5);
  for (auto& l : lengths) l = 100 + static_cast<int64_t>(rng.below(2000));
  SamplerConfig plain, bucketed;
  bucketed.bucket_by_length = true;
  bucketed.bucket_steps = 8;
  auto padding = [&](const SamplerConfig& cfg) {
    Sampler s(N, cfg, 3, layout(b, G), lengths);
    int64_t waste = 0;
    std::multiset<int64_t> seen;
    for (int64_t i = 0; i < N / b; ++i) {
      auto p = s.next();
      int64_t longest = 0;
      for (int64_t k : p.indices) longest = std::max(longest, lengths[k]);
      for (int64_t k : p.indices) waste += longest - lengths[k];
      seen.insert(p.indices.begin(), p.indices.end());
    }
    EXPECT_EQ(seen.size(), static_cast<size_t>(N));
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), static_cast<size_t>(N));  // each sample once
    return waste;
  };
  int64_t waste_plain = padding(plain), waste_bucketed = padding(bucketed);
  EXPECT_LT(waste_bucketed * 5, waste_plain);
  // Deterministic too.
  Sampler x(N, bucketed, 3, layout(b, G), lengths), y(N, bucketed, 3, layout(b, G), lengths);
  EXPECT_EQ(x.epoch_order(2), y.epoch_order(2));
}

TEST(Sampler, CursorRoundTripContinuesWithTheNextMicroBatch) {
  SamplerConfig cfg;
  const int64_t N = 50, G = 8;
  for (int K : {0, 1, 3, 6, 12, 13, 25}) {  // mid-step, step boundary, epoch boundary (N -> 7 steps x 4 micro)
    Sampler run(N, cfg, 11, layout(2, G, 1, 0));
    Sampler uninterrupted(N, cfg, 11, layout(2, G, 1, 0));
    take_indices(run, K);
    take_indices(uninterrupted, K);
    auto state = run.state();
    Sampler resumed(N, cfg, 11, layout(2, G, 1, 0));
    resumed.load_state(nlohmann::json::parse(state.dump()));
    EXPECT_EQ(take_indices(resumed, 10), take_indices(uninterrupted, 10)) << "K=" << K;
    // Resume twice: a state taken after a resume is as good as the first.
    Sampler again(N, cfg, 11, layout(2, G, 1, 0));
    again.load_state(resumed.state());
    EXPECT_EQ(take_indices(again, 9), take_indices(uninterrupted, 9)) << "K=" << K;
  }
}

TEST(Sampler, ResumeWithAnotherWorldSizeAtAStepBoundary) {
  SamplerConfig cfg;
  const int64_t N = 64, G = 8;
  Sampler one(N, cfg, 2, layout(2, G, 1, 0));
  take_indices(one, 4 * 3);  // three optimizer steps
  auto state = one.state();
  std::vector<int64_t> expected = take_indices(one, 4);  // step 3, all micro-batches
  std::vector<int64_t> got;
  std::vector<Sampler> ranks;
  for (int r = 0; r < 2; ++r) {
    ranks.emplace_back(N, cfg, 2, layout(2, G, 2, r));
    ranks.back().load_state(state);
  }
  for (int a = 0; a < 2; ++a) {
    for (auto& s : ranks) {
      auto p = s.next();
      got.insert(got.end(), p.indices.begin(), p.indices.end());
    }
  }
  EXPECT_EQ(got, expected);
}

TEST(Sampler, IncompatibleStatesAreRefused) {
  SamplerConfig cfg;
  Sampler s(40, cfg, 5, layout(2, 8));
  take_indices(s, 1);  // mid-step: position 2
  auto state = s.state();
  try {
    Sampler(40, cfg, 6, layout(2, 8)).load_state(state);
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Checkpoint);
    EXPECT_NE(std::string(e.what()).find("'seed'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Sampler(41, cfg, 5, layout(2, 8)).load_state(state), UserError);
  EXPECT_THROW(Sampler(40, cfg, 5, layout(2, 16)).load_state(state), UserError);
  // Position 2 is not a micro-batch boundary for 2 ranks x 2.
  EXPECT_THROW(Sampler(40, cfg, 5, layout(2, 8, 2, 0)).load_state(state), UserError);
  EXPECT_THROW(Sampler(40, cfg, 5, layout(2, 8)).load_state(nlohmann::json::object()), UserError);
}

}  // namespace
}  // namespace ec::data
