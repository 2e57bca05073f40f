// The save/commit protocol in one process: single rank, several ranks as threads, asynchronous
// saves, failures on one rank, retention, re-saving a step, leftovers.
#include <gtest/gtest.h>

#include <thread>

#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/ckpt/discovery.h"
#include "editcaption/ckpt/manager.h"
#include "editcaption/ckpt/verify.h"
#include "editcaption/core/error.h"
#include "tests/ckpt/ckpt_test_util.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;
using test::header_for;
using test::state_for;

ckpt::CheckpointConfig config(int keep_last = 3, bool async = false) {
  ckpt::CheckpointConfig c;
  c.keep_last = keep_last;
  c.async = async;
  return c;
}

std::vector<std::string> dir_names(const fs::path& root) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(root)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

/// Runs `body(rank, comm)` on `world` threads and rethrows the first failure.
template <class F>
void on_ranks(int world, F body) {
  ckpt::ThreadGroup group(world, std::chrono::seconds(60));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(world));
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      try {
        body(r, group.member(r));
      } catch (...) {
        errors[static_cast<size_t>(r)] = std::current_exception();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

TEST(CkptProtocol, SingleRankSaveLoadAndLatest) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  ckpt::CheckpointManager mgr(config(), root, std::make_shared<ckpt::SingleProcessCoordinator>(), FaultPlan{});
  mgr.save(header_for(10), state_for(10, 0));
  EXPECT_EQ(mgr.last_committed_step(), 10);
  EXPECT_EQ(test::read_text(root / "latest"), "step_00000010\n");
  EXPECT_EQ(dir_names(root), (std::vector<std::string>{"latest", "step_00000010"}));
  auto report = ckpt::verify_checkpoint(root / "step_00000010", ckpt::VerifyLevel::Full);
  EXPECT_TRUE(report.ok()) << report.summary();
  EXPECT_TRUE(report.notes.empty());
  EXPECT_EQ(report.files.size(), 4u);
  ckpt::Checkpoint c(root / "step_00000010");
  test::expect_state(c, 10, 1);
  EXPECT_EQ(c.header().reference_identity, "ref-1");
  EXPECT_EQ(c.tensor_names(0), (std::vector<std::string>{"model", "optimizer"}));
  EXPECT_EQ(c.json_names(0), (std::vector<std::string>{"cursor", "groups"}));
  EXPECT_THROW(c.tensors(0, "nope"), UserError);
  EXPECT_THROW(c.json(1, "cursor"), UserError);
  auto choice = ckpt::resolve_resume("auto", root, ckpt::VerifyLevel::Full);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->step, 10);
  EXPECT_FALSE(ckpt::resolve_resume("none", root, ckpt::VerifyLevel::Full));
  EXPECT_EQ(ckpt::resolve_resume((root / "step_00000010").string(), root, ckpt::VerifyLevel::Full)->step, 10);
  EXPECT_FALSE(ckpt::resolve_resume("auto", dir / "empty", ckpt::VerifyLevel::Full));  // a fresh run
}

TEST(CkptProtocol, ThreeRanksAsThreads) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  on_ranks(3, [&](int rank, std::shared_ptr<ckpt::Coordinator> comm) {
    ckpt::CheckpointManager mgr(config(), root, comm, FaultPlan{});
    for (int64_t step : {5, 10}) mgr.save(header_for(step), state_for(step, rank));
    auto choice = ckpt::resolve_resume("auto", root, ckpt::VerifyLevel::Full, *comm);
    ASSERT_TRUE(choice);
    EXPECT_EQ(choice->step, 10);
  });
  ckpt::Checkpoint c(root / "step_00000010");
  test::expect_state(c, 10, 3);
  EXPECT_EQ(c.manifest().files.size(), 12u);
  // Any rank can read any other rank's files (resharding to another world size).
  EXPECT_EQ(c.json(2, "cursor")["rank"], 2);
}

TEST(CkptProtocol, FailureOnOneRankFailsEveryRankAndKeepsThePrevious) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  std::vector<std::string> messages(3);
  on_ranks(3, [&](int rank, std::shared_ptr<ckpt::Coordinator> comm) {
    FaultPlan fault = FaultPlan::parse("ckpt.after_shard");
    fault.rank = 1;
    fault.step = 20;
    ckpt::CheckpointManager mgr(config(), root, comm, fault);
    mgr.save(header_for(10), state_for(10, rank));
    try {
      mgr.save(header_for(20), state_for(20, rank));
      ADD_FAILURE() << "rank " << rank << " saved";
    } catch (const UserError& e) {
      EXPECT_EQ(e.code(), ExitCode::Checkpoint);
      messages[static_cast<size_t>(rank)] = e.what();
    }
    // The run can go on and save again.
    mgr.save(header_for(30), state_for(30, rank));
  });
  for (const auto& m : messages) {
    EXPECT_NE(m.find("checkpoint step 20 failed on 1 of 3 rank(s)"), std::string::npos) << m;
    EXPECT_NE(m.find("rank 1: injected fault at ckpt.after_shard"), std::string::npos) << m;
  }
  // The failed step's temporary directory was cleaned up by the next commit.
  EXPECT_EQ(dir_names(root), (std::vector<std::string>{"latest", "step_00000010", "step_00000030"}));
}

TEST(CkptProtocol, RanksMustAgreeOnTheStep) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  on_ranks(2, [&](int rank, std::shared_ptr<ckpt::Coordinator> comm) {
    ckpt::CheckpointManager mgr(config(), root, comm, FaultPlan{});
    try {
      mgr.save(header_for(rank == 0 ? 10 : 11), state_for(10, rank));
      ADD_FAILURE() << "saved";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("rank 1 saves step 11 but rank 0 saves step 10"), std::string::npos)
          << e.what();
    }
  });
  EXPECT_FALSE(fs::exists(root / "latest"));
}

TEST(CkptProtocol, InjectedFaultsAtEachRankZeroPointKeepAUsableCheckpoint) {
  struct Expect {
    const char* point;
    int64_t resumed;           // what resume: auto finds afterwards
    const char* latest;        // what `latest` names
    const char* message;
  };
  for (const Expect& e : {Expect{"ckpt.before_manifest", 10, "step_00000010", "was not committed"},
                          Expect{"ckpt.before_rename", 10, "step_00000010", "was not committed"},
                          Expect{"ckpt.before_latest", 20, "step_00000010", "`latest` was not updated"},
                          Expect{"ckpt.after_latest", 20, "step_00000020", "is committed"}}) {
    SCOPED_TRACE(e.point);
    test::TempDir dir;
    fs::path root = dir / "ckpt";
    FaultPlan fault = FaultPlan::parse(e.point);
    fault.step = 20;
    ckpt::CheckpointManager mgr(config(), root, std::make_shared<ckpt::SingleProcessCoordinator>(), fault);
    mgr.save(header_for(10), state_for(10, 0));
    try {
      mgr.save(header_for(20), state_for(20, 0));
      ADD_FAILURE() << "saved";
    } catch (const UserError& err) {
      EXPECT_NE(std::string(err.what()).find(e.message), std::string::npos) << err.what();
    }
    EXPECT_EQ(test::read_text(root / "latest"), std::string(e.latest) + "\n");
    auto choice = ckpt::find_resume_checkpoint(root, ckpt::VerifyLevel::Full);
    ASSERT_TRUE(choice);
    EXPECT_EQ(choice->step, e.resumed);
    test::expect_state(ckpt::Checkpoint(choice->dir), e.resumed, 1);
  }
}

TEST(CkptProtocol, AsyncSnapshotIsIsolatedFromLaterUpdates) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  on_ranks(2, [&](int rank, std::shared_ptr<ckpt::Coordinator> comm) {
    ckpt::CheckpointManager mgr(config(3, /*async=*/true), root, comm, FaultPlan{});
    ckpt::RankState live = state_for(10, rank, 200000);
    mgr.save(header_for(10), live);
    EXPECT_TRUE(mgr.pending());
    // Training goes on and updates the tensors in place while the background write runs.
    for (auto& [file, tf] : live.tensors) {
      for (auto& [name, t] : tf.tensors) t.fill_(-12345);
    }
    EXPECT_FALSE(fs::exists(root / "step_00000010"));  // not committed before wait/poll/next save
    while (!mgr.poll()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    EXPECT_EQ(mgr.last_committed_step(), 10);
    mgr.save(header_for(20), state_for(20, rank, 200000));
    mgr.save(header_for(30), state_for(30, rank, 200000));  // commits 20 first
    EXPECT_EQ(mgr.last_committed_step(), 20);
    mgr.finish();
    EXPECT_EQ(mgr.last_committed_step(), 30);
  });
  for (int64_t step : {10, 20, 30}) test::expect_state(ckpt::Checkpoint(root / ckpt::step_dir_name(step)), step, 2);
}

TEST(CkptProtocol, AsyncFailureSurfacesAtCommit) {
  test::TempDir dir;
  FaultPlan fault = FaultPlan::parse("ckpt.after_shard");
  fault.step = 20;
  ckpt::CheckpointManager mgr(config(3, true), dir / "ckpt", std::make_shared<ckpt::SingleProcessCoordinator>(), fault);
  mgr.save(header_for(10), state_for(10, 0));
  mgr.save(header_for(20), state_for(20, 0));  // commits 10; 20 fails in the background
  EXPECT_THROW(mgr.wait(), UserError);
  EXPECT_EQ(mgr.last_committed_step(), 10);
  EXPECT_FALSE(mgr.pending());
}

TEST(CkptProtocol, RetentionKeepsLastKAndEveryNthAndRemovesLeftovers) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  fs::create_directories(root / "step_00000003.tmp.deadbeef/rank_00000");  // a save that died long ago
  test::write_text(root / "step_00000003.tmp.deadbeef/rank_00000/model.safetensors", "partial");
  auto cfg = config(2);
  cfg.keep_every = 4;
  ckpt::CheckpointManager mgr(cfg, root, std::make_shared<ckpt::SingleProcessCoordinator>(), FaultPlan{});
  for (int64_t step = 1; step <= 7; ++step) mgr.save(header_for(step), state_for(step, 0, 10));
  EXPECT_EQ(dir_names(root), (std::vector<std::string>{"latest", "step_00000004", "step_00000006", "step_00000007"}));
}

TEST(CkptProtocol, RetentionNeverDeletesTheNewestVerifiedCheckpoint) {
  test::TempDir dir;
  fs::path root = dir / "ckpt";
  {
    ckpt::CheckpointManager mgr(config(2), root, std::make_shared<ckpt::SingleProcessCoordinator>(), FaultPlan{});
    for (int64_t step : {1, 2, 3}) mgr.save(header_for(step), state_for(step, 0, 10));
  }
  // Step 3 rots on disk; the next run falls back to step 2 and trains on from there.
  fs::path shard = root / "step_00000003/rank_00000/model.safetensors";
  std::string bytes = test::read_text(shard);
  bytes[bytes.size() - 3] ^= 0x20;
  test::write_text(shard, bytes);
  auto choice = ckpt::find_resume_checkpoint(root, ckpt::VerifyLevel::Full);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->step, 2);
  ASSERT_EQ(choice->rejected.size(), 1u);
  EXPECT_NE(choice->rejected[0].find("SHA-256"), std::string::npos) << choice->rejected[0];

  ckpt::CheckpointManager mgr(config(2), root, std::make_shared<ckpt::SingleProcessCoordinator>(), FaultPlan{});
  mgr.save(header_for(3), state_for(3, 0, 10));  // replaces the rotten step 3
  EXPECT_EQ(dir_names(root), (std::vector<std::string>{"latest", "step_00000002", "step_00000003"}));
  EXPECT_TRUE(ckpt::verify_checkpoint(root / "step_00000003", ckpt::VerifyLevel::Full).ok());
  mgr.save(header_for(4), state_for(4, 0, 10));
  EXPECT_EQ(dir_names(root), (std::vector<std::string>{"latest", "step_00000003", "step_00000004"}));
}

TEST(CkptProtocol, BadStateNamesFailTheSaveCleanly) {
  test::TempDir dir;
  ckpt::CheckpointManager mgr(config(), dir / "ckpt", std::make_shared<ckpt::SingleProcessCoordinator>(),
                              FaultPlan{});
  ckpt::RankState s = state_for(1, 0);
  s.json["../escape"] = 1;
  EXPECT_THROW(mgr.save(header_for(1), s), UserError);
  EXPECT_FALSE(fs::exists(dir / "escape.json"));
  EXPECT_FALSE(fs::exists(dir / "ckpt/latest"));
}

}  // namespace
}  // namespace ec
