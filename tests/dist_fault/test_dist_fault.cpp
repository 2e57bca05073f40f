// Faults: a rank that dies or hangs ends the job within the timeout with exit code 7 and a
// message naming it; `editcaption launch` propagates the failing rank's code and forwards signals.
#include <gtest/gtest.h>

#include "tests/dist/dist_test_util.h"

namespace ec::test {
namespace {

namespace fs = std::filesystem;

TEST(Faults, DeadRankIsNamedBySurvivors) {
  TempDir dir("ec-fault");
  auto procs = start_ranks(3, {worker(), "loop", "--victim", "1", "--mode", "kill", "--timeout", "20"}, dir.path());
  for (size_t r = 0; r < procs.size(); ++r) {
    ASSERT_TRUE(wait_for(procs[r], 30)) << "rank " << r << " hung";
  }
  EXPECT_EQ(procs[1].code, 128 + SIGKILL);
  for (int r : {0, 2}) {
    std::string err = procs[r].stderr_text();
    EXPECT_EQ(procs[r].code, 7) << err;
    EXPECT_NE(err.find("lost rank 1"), std::string::npos) << err;
    EXPECT_NE(err.find("rank 1 stopped responding"), std::string::npos) << err;
    EXPECT_LT(procs[r].seconds, 20.0) << "the failure must be reported before the collective timeout";
  }
}

TEST(Faults, HungRankTimesOutAndIsNamed) {
  TempDir dir("ec-fault");
  auto procs = start_ranks(2, {worker(), "loop", "--victim", "1", "--mode", "hang", "--timeout", "3"}, dir.path());
  ASSERT_TRUE(wait_for(procs[0], 20)) << "rank 0 did not time out";
  std::string err = procs[0].stderr_text();
  EXPECT_EQ(procs[0].code, 7) << err;
  EXPECT_NE(err.find("rank 1 is alive but has not reached this collective"), std::string::npos) << err;
  EXPECT_GE(procs[0].seconds, 3.0);
  EXPECT_LT(procs[0].seconds, 12.0);
  wait_for(procs[1], 0);  // kills the hung rank
}

TEST(Faults, LostStoreHostIsReported) {
  TempDir dir("ec-fault");
  auto procs = start_ranks(2, {worker(), "loop", "--victim", "0", "--mode", "kill", "--timeout", "20"}, dir.path());
  ASSERT_TRUE(wait_for(procs[1], 30));
  wait_for(procs[0], 5);
  std::string err = procs[1].stderr_text();
  EXPECT_EQ(procs[1].code, 7) << err;
  EXPECT_TRUE(err.find("rank 0") != std::string::npos) << err;
}

TEST(Launch, PropagatesTheFailingRanksCode) {
  TempDir dir("ec-launch");
  Proc p = start({cli_path().string(), "launch", "--nproc-per-node", "3", "--master-port", "0", "--", worker(), "loop",
                  "--victim", "2", "--mode", "exit", "--code", "3"},
                 {}, dir.path(), "launch");
  ASSERT_TRUE(wait_for(p, 60));
  std::string err = p.stderr_text();
  EXPECT_EQ(p.code, 3) << err;
  EXPECT_NE(err.find("rank 2 (local rank 2"), std::string::npos) << err;
  EXPECT_NE(err.find("exited with code 3 (input)"), std::string::npos) << err;
}

TEST(Launch, KilledRankStopsTheJob) {
  TempDir dir("ec-launch");
  Proc p = start({cli_path().string(), "launch", "--nproc-per-node", "2", "--master-port", "0", "--grace-s", "5", "--",
                  worker(), "loop", "--victim", "1", "--mode", "kill"},
                 {}, dir.path(), "launch");
  ASSERT_TRUE(wait_for(p, 60));
  std::string err = p.stderr_text();
  EXPECT_EQ(p.code, 128 + SIGKILL) << err;
  EXPECT_NE(err.find("rank 1 (local rank 1"), std::string::npos) << err;
  EXPECT_NE(err.find("killed by signal 9"), std::string::npos) << err;
}

TEST(Launch, ForwardsSignalsAndRanksAgreeToStop) {
  TempDir dir("ec-launch");
  Proc p = start({cli_path().string(), "launch", "--nproc-per-node", "2", "--master-port", "0", "--", worker(),
                  "signal", "--out", dir.path().string()},
                 {}, dir.path(), "launch");
  auto t0 = std::chrono::steady_clock::now();
  while (!(fs::exists(dir / "ready.0") && fs::exists(dir / "ready.1"))) {
    ASSERT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(30)) << read_text(p.err);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(p.pid, SIGUSR1);
  ASSERT_TRUE(wait_for(p, 30));
  EXPECT_EQ(p.code, 75) << p.stderr_text();
  for (int r : {0, 1}) {
    ASSERT_TRUE(fs::exists(dir / ("stopped." + std::to_string(r)))) << r;
    // Every rank received the forwarded signal.
    EXPECT_EQ(std::stoi(read_text(dir / ("stopped." + std::to_string(r)))), SIGUSR1);
  }
}

TEST(Launch, RejectsBadOptions) {
  auto r = run_cli({"launch", "--nproc-per-node", "0", "--", "true"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  auto m = run_cli({"launch", "--nproc-per-node", "1", "--nnodes", "2", "--master-port", "0", "--", "true"});
  EXPECT_EQ(m.exit_code, 2) << m.err;
  auto ok = run_cli({"launch", "--nproc-per-node", "2", "--master-port", "0", "--", "true"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace ec::test
