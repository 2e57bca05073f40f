// Loader: sampler-order delivery whatever the thread timing, deterministic substitution of bad
// samples, the bad-sample thresholds, exact state round-trips (including a bad sample inside the
// window and resuming twice), producer bugs surfacing without hangs, and shutdown with work in flight.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "editcaption/core/check.h"
#include "editcaption/core/error.h"
#include "editcaption/data/loader.h"
#include "editcaption/data/rng.h"

namespace ec::data {
namespace {

using Batch = std::vector<int64_t>;
using TestLoader = Loader<int64_t, Batch>;

struct LoaderSetup {
  int64_t n = 60;
  int64_t micro = 2, global = 8;
  int workers = 2;
  std::set<int64_t> bad;
  BadSampleConfig policy;
  bool jitter = true;
  uint64_t seed = 17;
};

std::unique_ptr<TestLoader> make_loader(const LoaderSetup& s) {
  SamplerConfig sc;
  Sampler sampler(s.n, sc, s.seed, SamplerLayout{s.micro, s.global, 1, 0});
  BadSamplePolicy policy(s.policy, s.seed, s.n);
  LoaderConfig lc;
  lc.num_workers = s.workers;
  lc.prefetch = 3;
  auto bad = s.bad;
  bool jitter = s.jitter;
  auto producer = [bad, jitter](int64_t index) -> int64_t {
    if (jitter) {
      // Timing varies by sample so that workers finish out of order.
      Rng r(stream_key({99, static_cast<uint64_t>(index)}));
      std::this_thread::sleep_for(std::chrono::microseconds(r.below(1500)));
    }
    if (bad.count(index)) {
      throw EC_USER_ERROR(Input, "line {} [id s{}]: /data/s{}.jpg: truncated JPEG: the file ends early", index + 1, index,
                          index);
    }
    return index * 10;
  };
  auto collate = [](std::vector<int64_t>& items) { return Batch(items.begin(), items.end()); };
  return std::make_unique<TestLoader>(std::move(sampler), std::move(policy), producer, collate, lc);
}

std::vector<Batch> take(TestLoader& l, int n) {
  std::vector<Batch> out;
  for (int i = 0; i < n; ++i) out.push_back(l.next().batch);
  return out;
}

TEST(Loader, DeliversInSamplerOrderWhateverTheTiming) {
  LoaderSetup s;
  s.workers = 0;
  s.jitter = false;
  auto reference_loader = make_loader(s);
  auto reference = take(*reference_loader, 40);
  // Check against the sampler directly.
  Sampler sampler(s.n, SamplerConfig{}, s.seed, SamplerLayout{s.micro, s.global, 1, 0});
  for (const auto& b : reference) {
    auto p = sampler.next();
    ASSERT_EQ(b, (Batch{p.indices[0] * 10, p.indices[1] * 10}));
  }
  for (int workers : {1, 2, 4}) {
    s.workers = workers;
    s.jitter = true;
    auto l = make_loader(s);
    EXPECT_EQ(take(*l, 40), reference) << workers << " workers";
  }
}

TEST(Loader, BadSamplesAreReplacedDeterministically) {
  LoaderSetup s;
  s.bad = {3, 17, 41};
  s.policy.max_fraction = 0.2;
  s.workers = 0;
  s.jitter = false;
  auto a = make_loader(s);
  auto ref = take(*a, 30);  // 60 of the epoch's 64 slots: each bad sample comes up once
  const int64_t failures = a->policy().total_failures();
  EXPECT_GE(failures, 3);  // more if a replacement was bad too
  EXPECT_EQ(a->policy().failures_by_reason().at("truncated JPEG"), failures);
  std::multiset<int64_t> seen;
  for (const auto& b : ref) {
    EXPECT_EQ(b.size(), 2u);  // never dropped: every micro-batch stays full
    for (int64_t v : b) {
      EXPECT_EQ(s.bad.count(v / 10), 0u);
      seen.insert(v);
    }
  }
  // Replacement = f(seed, epoch, index, attempt): the same with any number of workers.
  for (int workers : {1, 3}) {
    s.workers = workers;
    s.jitter = true;
    auto l = make_loader(s);
    EXPECT_EQ(take(*l, 30), ref) << workers;
    EXPECT_EQ(l->policy().total_failures(), failures);
  }
  BadSamplePolicy p(s.policy, s.seed, s.n);
  EXPECT_EQ(p.replacement(0, 3, 1), p.replacement(0, 3, 1));
  EXPECT_NE(p.replacement(0, 3, 1), 3);
}

TEST(Loader, StopsPastTheThresholds) {
  LoaderSetup s;
  s.workers = 2;
  for (int64_t i = 0; i < 60; i += 5) s.bad.insert(i);  // 20% bad
  s.policy.max_fraction = 0.05;                          // ceil(3.2) = 4 of 64 allowed
  auto l = make_loader(s);
  try {
    take(*l, 40);
    FAIL() << "no DataPolicy stop";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::DataPolicy);
    EXPECT_NE(std::string(e.what()).find("too many bad samples"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("truncated JPEG"), std::string::npos) << e.what();
  }
  EXPECT_EQ(l->policy().epoch_failures(), 5);

  s.policy = {};
  s.policy.strict = true;
  s.bad = {7};
  auto strict = make_loader(s);
  try {
    take(*strict, 40);
    FAIL() << "strict did not stop";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::DataPolicy);
    EXPECT_NE(std::string(e.what()).find("id s7"), std::string::npos) << e.what();
  }

  // Everything bad: K consecutive failures stop the run (no endless replacement loop).
  LoaderSetup all;
  all.n = 10;
  for (int64_t i = 0; i < 10; ++i) all.bad.insert(i);
  all.policy.max_fraction = 1.0;
  all.policy.max_consecutive = 5;
  auto hopeless = make_loader(all);
  try {
    hopeless->next();
    FAIL();
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::DataPolicy);
    EXPECT_NE(std::string(e.what()).find("in a row"), std::string::npos) << e.what();
  }
}

TEST(Loader, StateRoundTripIsExactWithABadSampleInTheWindow) {
  LoaderSetup s;
  s.bad = {5, 22, 23, 48};
  s.policy.max_fraction = 0.2;
  for (int workers : {0, 2}) {
    s.workers = workers;
    auto uninterrupted = make_loader(s);
    auto full = take(*uninterrupted, 70);  // crosses two epoch boundaries
    for (int K : {1, 5, 13, 31, 32, 33}) {
      auto first = make_loader(s);
      auto head = take(*first, K);
      auto state = nlohmann::json::parse(first->state().dump());
      // A fresh loader (as after a restart) continues with exactly the next micro-batch.
      auto second = make_loader(s);
      second->load_state(state);
      auto mid = take(*second, 20);
      // Resume twice.
      auto third = make_loader(s);
      third->load_state(second->state());
      auto tail = take(*third, 70 - K - 20);
      std::vector<Batch> joined = head;
      joined.insert(joined.end(), mid.begin(), mid.end());
      joined.insert(joined.end(), tail.begin(), tail.end());
      EXPECT_EQ(joined, full) << "K=" << K << " workers=" << workers;
      EXPECT_EQ(third->policy().state(), uninterrupted->policy().state()) << "K=" << K;
    }
  }
}

TEST(Loader, ProducerBugsSurfaceAtTheirBatch) {
  SamplerConfig sc;
  sc.shuffle = false;
  LoaderConfig lc;
  lc.num_workers = 2;
  Loader<int64_t, Batch> l(
      Sampler(20, sc, 1, SamplerLayout{2, 2, 1, 0}), BadSamplePolicy({}, 1, 20),
      [](int64_t i) -> int64_t {
        if (i == 6) throw std::runtime_error("bug in the producer");
        return i;
      },
      [](std::vector<int64_t>& v) { return Batch(v.begin(), v.end()); }, lc);
  EXPECT_EQ(l.next().batch, (Batch{0, 1}));
  EXPECT_EQ(l.next().batch, (Batch{2, 3}));
  EXPECT_EQ(l.next().batch, (Batch{4, 5}));
  EXPECT_THROW(l.next(), std::runtime_error);
  EXPECT_EQ(l.policy().total_failures(), 0);  // a bug is not a bad sample
}

TEST(Loader, ShutsDownWithWorkInFlight) {
  std::atomic<int> produced{0};
  {
    LoaderConfig lc;
    lc.num_workers = 3;
    lc.prefetch = 6;
    Loader<int64_t, Batch> l(
        Sampler(1000, {}, 1, SamplerLayout{4, 4, 1, 0}), BadSamplePolicy({}, 1, 1000),
        [&](int64_t i) -> int64_t {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
          ++produced;
          return i;
        },
        [](std::vector<int64_t>& v) { return Batch(v.begin(), v.end()); }, lc);
    l.next();
  }  // the destructor must return promptly, workers joined
  EXPECT_LE(produced.load(), 4 * 9);  // bounded by the prefetch window
  EXPECT_FALSE(should_pin_memory(LoaderConfig{}));  // no CUDA device on CPU-only machines
}

TEST(BadSamplePolicy, ReasonKeysDropLocations) {
  EXPECT_EQ(BadSamplePolicy::reason_key("/data/a.jpg: truncated JPEG: the file ends after 10 bytes"), "truncated JPEG");
  EXPECT_EQ(BadSamplePolicy::reason_key("line 12 [id x]: /d/b.png: file not found"), "file not found");
  EXPECT_EQ(BadSamplePolicy::reason_key("duplicate id (first used on line 3)"), "duplicate id");
  EXPECT_EQ(BadSamplePolicy::reason_key("over the token budget: 5000 tokens"), "over the token budget");
}

}  // namespace
}  // namespace ec::data
