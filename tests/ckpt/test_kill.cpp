// Real crashes: a child process (this test binary, re-run on CkptChild.DISABLED_SaveLoop) saves
// checkpoints and is killed with SIGKILL, either by a fault point (EC_FAULT_AT=...:kill) or by the
// parent at a random moment. Afterwards `resume: auto` must find a complete, verified checkpoint
// whose content matches its step, and `latest` must never name an incomplete one.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <cstdlib>
#include <random>
#include <thread>

#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/ckpt/discovery.h"
#include "editcaption/ckpt/manager.h"
#include "editcaption/ckpt/verify.h"
#include "editcaption/core/strings.h"
#include "tests/ckpt/ckpt_test_util.h"
#include "tests/common/test_util.h"

extern char** environ;

namespace ec {
namespace {
namespace fs = std::filesystem;

// The child: resumes from the newest checkpoint under EC_CKPT_CHILD_ROOT and saves every step up to
// EC_CKPT_CHILD_LAST. Only ever run by the tests below.
TEST(CkptChild, DISABLED_SaveLoop) {
  const char* root = std::getenv("EC_CKPT_CHILD_ROOT");
  if (!root) GTEST_SKIP() << "run by the kill tests only";
  int64_t last = std::atoll(std::getenv("EC_CKPT_CHILD_LAST"));
  int64_t numel = std::atoll(std::getenv("EC_CKPT_CHILD_NUMEL"));
  ckpt::CheckpointConfig cfg;
  cfg.keep_last = 2;
  cfg.async = std::getenv("EC_CKPT_CHILD_ASYNC") != nullptr;
  auto comm = std::make_shared<ckpt::SingleProcessCoordinator>();
  auto resumed = ckpt::resolve_resume("auto", root, ckpt::VerifyLevel::Full, *comm);
  ckpt::CheckpointManager mgr(cfg, root, comm);  // the fault plan comes from the environment
  for (int64_t step = resumed ? resumed->step + 1 : 1; step <= last; ++step) {
    mgr.save(test::header_for(step), test::state_for(step, 0, numel));
  }
  mgr.finish();
}

std::string self_exe() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

pid_t spawn_child(const fs::path& root, int64_t last, int64_t numel, const std::vector<std::string>& extra_env) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    if (!starts_with(*e, "EC_FAULT_") && !starts_with(*e, "EC_CKPT_CHILD_")) env.emplace_back(*e);
  }
  env.push_back("EC_CKPT_CHILD_ROOT=" + root.string());
  env.push_back("EC_CKPT_CHILD_LAST=" + std::to_string(last));
  env.push_back("EC_CKPT_CHILD_NUMEL=" + std::to_string(numel));
  for (const auto& e : extra_env) env.push_back(e);
  std::vector<std::string> args{self_exe(), "--gtest_filter=CkptChild.DISABLED_SaveLoop",
                                "--gtest_also_run_disabled_tests"};
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  EXPECT_EQ(rc, 0);
  return pid;
}

/// Exit status as a shell reports it (128 + signal).
int wait_child(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// The invariants after any crash. Returns the step `resume: auto` picks (0: none yet).
int64_t expect_consistent(const fs::path& root) {
  auto scan = ckpt::scan_checkpoints(root);
  if (scan.latest) {
    fs::path named = root / *scan.latest;
    auto report = ckpt::verify_checkpoint(named, ckpt::VerifyLevel::Full);
    EXPECT_TRUE(report.ok()) << "`latest` names " << *scan.latest << ": " << report.summary();
  }
  auto choice = ckpt::find_resume_checkpoint(root, ckpt::VerifyLevel::Full);
  if (!choice) {
    EXPECT_FALSE(scan.latest.has_value());
    return 0;
  }
  EXPECT_TRUE(choice->rejected.empty()) << join(choice->rejected, "; ");  // a crash never corrupts a committed one
  ckpt::Checkpoint c(choice->dir);
  test::expect_state(c, choice->step, 1);
  if (scan.latest) {
    EXPECT_GE(choice->step, *ckpt::parse_step_dir_name(*scan.latest));
  }
  return choice->step;
}

TEST(CkptKill, KillAtEveryFaultPointKeepsTheLastCompleteCheckpoint) {
  struct Expect {
    const char* point;
    int64_t resumed;
  };
  for (bool async : {false, true}) {
    for (const Expect& e : {Expect{"ckpt.after_shard", 1}, Expect{"ckpt.before_manifest", 1},
                            Expect{"ckpt.before_rename", 1}, Expect{"ckpt.before_latest", 2},
                            Expect{"ckpt.after_latest", 2}}) {
      SCOPED_TRACE(std::string(e.point) + (async ? " async" : " sync"));
      test::TempDir dir;
      fs::path root = dir / "ckpt";
      std::vector<std::string> env{fmt::format("EC_FAULT_AT={}:kill", e.point), "EC_FAULT_STEP=2"};
      if (async) env.push_back("EC_CKPT_CHILD_ASYNC=1");
      EXPECT_EQ(wait_child(spawn_child(root, 3, 1000, env)), 128 + SIGKILL);
      EXPECT_EQ(expect_consistent(root), e.resumed);
      // The next start resumes and finishes; the dead save's leftovers are cleaned up.
      EXPECT_EQ(wait_child(spawn_child(root, 3, 1000, {})), 0);
      EXPECT_EQ(expect_consistent(root), 3);
      EXPECT_TRUE(ckpt::scan_checkpoints(root).leftovers.empty());
    }
  }
}

TEST(CkptKill, SigkillAtRandomMomentsDuringSaves) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  std::mt19937 rng(20240611);
  int64_t resumed = 0;
  int mid_save = 0;
  const int kKills = 6;
  for (int kill = 0; kill < kKills; ++kill) {
    // ~4 MB per checkpoint: each save takes milliseconds, so kills land inside saves often.
    pid_t pid = spawn_child(root, 1'000'000, 500'000, kill % 2 ? std::vector<std::string>{"EC_CKPT_CHILD_ASYNC=1"}
                                                               : std::vector<std::string>{});
    // Wait until the child has committed something new (its start-up time varies), then kill it a
    // random moment later, which is mostly in the middle of the next save.
    std::string before = fs::exists(root / "latest") ? test::read_text(root / "latest") : "";
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline &&
           (fs::exists(root / "latest") ? test::read_text(root / "latest") : "") == before) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 150'000));
    ::kill(pid, SIGKILL);
    EXPECT_EQ(wait_child(pid), 128 + SIGKILL);
    if (!ckpt::scan_checkpoints(root).leftovers.empty()) ++mid_save;
    int64_t step = expect_consistent(root);
    EXPECT_GT(step, resumed) << "kill " << kill;  // progress, never backwards
    resumed = step;
  }
  EXPECT_GT(resumed, 0);
  std::cout << "kills that interrupted a save (left a temporary directory): " << mid_save << " of " << kKills << "\n";
}

}  // namespace
}  // namespace ec
