// RNG capture/restore (bit-exact continuation of the streams) and the stop-signal installer.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <csignal>

#include "editcaption/ckpt/rng.h"
#include "editcaption/core/error.h"
#include "editcaption/core/signals.h"

namespace ec {
namespace {

TEST(Rng, Base64RoundTripsAndRejectsGarbage) {
  for (size_t n : {0, 1, 2, 3, 4, 5, 255}) {
    std::vector<uint8_t> bytes(n);
    for (size_t i = 0; i < n; ++i) bytes[i] = static_cast<uint8_t>(i * 37 + 11);
    std::string text = ckpt::base64_encode(bytes.data(), bytes.size());
    EXPECT_EQ(text.size() % 4, 0u);
    EXPECT_EQ(ckpt::base64_decode(text, "t"), bytes) << n;
  }
  EXPECT_EQ(ckpt::base64_encode(reinterpret_cast<const uint8_t*>("Man"), 3), "TWFu");  // RFC 4648 example
  EXPECT_EQ(ckpt::base64_encode(reinterpret_cast<const uint8_t*>("Ma"), 2), "TWE=");
  for (const char* bad : {"abc", "ab=c", "a===", "!!!!", "TW=u"}) {
    EXPECT_THROW(ckpt::base64_decode(bad, "t"), UserError) << bad;
  }
}

TEST(Rng, DefaultCpuGeneratorContinuesExactly) {
  at::manual_seed(1234);
  at::randn({5});  // leaves a cached normal sample in the generator: it must be captured too
  at::rand({3});
  nlohmann::json state = ckpt::capture_default_rng();
  at::Tensor a = at::randn({17});
  at::Tensor b = at::randint(0, 1000, {9});
  at::Tensor c = at::bernoulli(at::full({33}, 0.5));
  at::manual_seed(999);  // what a resumed run does before it restores (ms-swift#9935)
  at::randn({3});
  ckpt::restore_default_rng(nlohmann::json::parse(state.dump()), "test");
  EXPECT_TRUE(at::equal(at::randn({17}), a));
  EXPECT_TRUE(at::equal(at::randint(0, 1000, {9}), b));
  EXPECT_TRUE(at::equal(at::bernoulli(at::full({33}, 0.5)), c));
  EXPECT_EQ(state["cpu"]["seed"], 1234);
  EXPECT_TRUE(state["cuda"].empty());
}

TEST(Rng, PrivateGeneratorRoundTrips) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(42);
  at::randperm(100, g);
  nlohmann::json s = ckpt::capture_generator(g);
  at::Tensor want = at::randperm(1000, g);
  at::Generator other = at::make_generator<at::CPUGeneratorImpl>(7);
  ckpt::restore_generator(other, s, "data order");
  EXPECT_TRUE(at::equal(at::randperm(1000, other), want));
}

TEST(Rng, MalformedStatesAreCheckpointErrors) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(1);
  nlohmann::json s = ckpt::capture_generator(g);
  auto code = [&](nlohmann::json bad) {
    try {
      ckpt::restore_generator(g, bad, "rank 3 rng");
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("rank 3 rng"), std::string::npos) << e.what();
      return e.code();
    }
    return ExitCode::Ok;
  };
  auto wrong_size = s;
  wrong_size["state"] = ckpt::base64_encode(reinterpret_cast<const uint8_t*>("0123456789ab"), 12);
  auto wrong_device = s;
  wrong_device["device"] = "cuda:0";
  auto bad_device = s;
  bad_device["device"] = "toaster:9";
  auto bad_b64 = s;
  bad_b64["state"] = "@@@@";
  EXPECT_EQ(code(wrong_size), ExitCode::Checkpoint);
  EXPECT_EQ(code(wrong_device), ExitCode::Checkpoint);
  EXPECT_EQ(code(bad_device), ExitCode::Checkpoint);
  EXPECT_EQ(code(bad_b64), ExitCode::Checkpoint);
  EXPECT_EQ(code(nlohmann::json::object()), ExitCode::Checkpoint);
  nlohmann::json with_cuda = {{"cpu", s}, {"cuda", {{{"device", "cuda:7"}, {"seed", 1}, {"offset", 0}, {"state", ""}}}}};
  if (!at::hasCUDA()) {
    EXPECT_THROW(ckpt::restore_default_rng(with_cuda, "t"), UserError);
  }
}

TEST(Rng, CudaGeneratorSeedAndOffsetRoundTrip) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  at::Device dev(at::kCUDA, 0);
  at::manual_seed(5);
  at::randn({1000}, at::TensorOptions().device(dev));
  nlohmann::json state = ckpt::capture_default_rng({dev});
  at::Tensor want = at::randn({1000}, at::TensorOptions().device(dev)).cpu();
  at::Tensor drop = at::dropout(at::ones({4096}, at::TensorOptions().device(dev)), 0.5, true).cpu();
  at::manual_seed(6);
  ckpt::restore_default_rng(state, "t");
  EXPECT_TRUE(at::equal(at::randn({1000}, at::TensorOptions().device(dev)).cpu(), want));
  EXPECT_TRUE(at::equal(at::dropout(at::ones({4096}, at::TensorOptions().device(dev)), 0.5, true).cpu(), drop));
  EXPECT_TRUE(state["cuda"][0].contains("offset"));
}

// ---- signals -----------------------------------------------------------------------------------

int g_previous_handler_calls = 0;
extern "C" void previous_handler(int) { ++g_previous_handler_calls; }

TEST(Signals, HandlersOnlySetTheFlagAndAreRestored) {
  std::signal(SIGUSR1, previous_handler);
  {
    StopSignals stop;
    EXPECT_FALSE(stop.requested());
    std::raise(SIGUSR1);
    EXPECT_TRUE(stop.requested());
    EXPECT_EQ(stop.signal(), SIGUSR1);
    std::raise(SIGTERM);  // the first signal is the one reported
    EXPECT_EQ(stop.signal(), SIGUSR1);
    EXPECT_EQ(g_previous_handler_calls, 0);
    stop.clear();
    EXPECT_FALSE(stop.requested());
    stop.request(SIGTERM);
    EXPECT_EQ(std::string(signal_name(stop.signal())), "SIGTERM");
  }
  std::raise(SIGUSR1);  // the previous handler is back
  EXPECT_EQ(g_previous_handler_calls, 1);
  std::signal(SIGUSR1, SIG_DFL);
}

TEST(Signals, ChosenSignalsOnly) {
  struct sigaction before {};
  sigaction(SIGTERM, nullptr, &before);
  {
    StopSignals stop({SIGUSR2});
    std::raise(SIGUSR2);
    EXPECT_EQ(stop.signal(), SIGUSR2);
    struct sigaction now {};
    sigaction(SIGTERM, nullptr, &now);
    EXPECT_EQ(now.sa_handler, before.sa_handler);
  }
  struct sigaction after {};
  sigaction(SIGUSR2, nullptr, &after);
  EXPECT_EQ(after.sa_handler, SIG_DFL);
}

}  // namespace
}  // namespace ec
