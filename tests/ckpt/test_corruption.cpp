// Damage after the fact: a flipped byte, a truncated shard, a missing manifest, a stray temporary
// directory. Each is detected with a clear message, by `resume: auto` (which falls back to the
// previous checkpoint) and by `editcaption ckpt verify / inspect`.
#include <gtest/gtest.h>

#include "editcaption/ckpt/discovery.h"
#include "editcaption/ckpt/manager.h"
#include "editcaption/ckpt/verify.h"
#include "editcaption/core/error.h"
#include "tests/ckpt/ckpt_test_util.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;

/// A root with step_00000001 and step_00000002 (one rank), committed normally.
fs::path make_two(const test::TempDir& dir) {
  fs::path root = dir / "ckpt";
  ckpt::CheckpointConfig cfg;
  ckpt::CheckpointManager mgr(cfg, root, std::make_shared<ckpt::SingleProcessCoordinator>(), FaultPlan{});
  mgr.save(test::header_for(1), test::state_for(1, 0));
  mgr.save(test::header_for(2), test::state_for(2, 0));
  return root;
}

void flip_byte(const fs::path& file, size_t from_end) {
  std::string bytes = test::read_text(file);
  bytes[bytes.size() - from_end] ^= 0x01;
  test::write_text(file, bytes);
}

/// Resume must skip step 2 with a message containing `why`, and use step 1.
void expect_fallback(const fs::path& root, const std::string& why) {
  auto choice = ckpt::find_resume_checkpoint(root, ckpt::VerifyLevel::Full);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->step, 1);
  ASSERT_EQ(choice->rejected.size(), 1u);
  EXPECT_NE(choice->rejected[0].find("step_00000002"), std::string::npos) << choice->rejected[0];
  EXPECT_NE(choice->rejected[0].find(why), std::string::npos) << choice->rejected[0];
  test::expect_state(ckpt::Checkpoint(choice->dir), 1, 1);

  auto r = test::run_cli({"ckpt", "verify", root.string()});
  EXPECT_EQ(r.exit_code, 5) << r.out << r.err;
  EXPECT_NE(r.out.find("resume auto would use: step_00000001"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find(why), std::string::npos) << r.err;
  auto one = test::run_cli({"ckpt", "verify", (root / "step_00000002").string()});
  EXPECT_EQ(one.exit_code, 5) << one.out << one.err;
  EXPECT_NE(one.err.find(why), std::string::npos) << one.err;
}

TEST(CkptCorruption, FlippedByteInAShard) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  flip_byte(root / "step_00000002/rank_00000/optimizer.safetensors", 10);
  expect_fallback(root, "rank_00000/optimizer.safetensors: SHA-256");
  // A size-only check cannot see it; that is what --level full is for.
  EXPECT_TRUE(ckpt::verify_checkpoint(root / "step_00000002", ckpt::VerifyLevel::Sizes).ok());
}

TEST(CkptCorruption, FlippedByteInAJsonDocument) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  flip_byte(root / "step_00000002/rank_00000/cursor.json", 3);
  expect_fallback(root, "rank_00000/cursor.json: SHA-256");
}

TEST(CkptCorruption, TruncatedShard) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  fs::path shard = root / "step_00000002/rank_00000/model.safetensors";
  fs::resize_file(shard, fs::file_size(shard) / 2);
  expect_fallback(root, "truncated");
}

TEST(CkptCorruption, MissingShard) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  fs::remove(root / "step_00000002/rank_00000/model.safetensors");
  expect_fallback(root, "model.safetensors: missing");
}

TEST(CkptCorruption, MissingManifest) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  fs::remove(root / "step_00000002/manifest.json");
  expect_fallback(root, "has no manifest.json");
}

TEST(CkptCorruption, GarbledManifest) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  test::write_text(root / "step_00000002/manifest.json", "{\"format\": \"editcaption-checkpoint\", \"step\": ");
  expect_fallback(root, "invalid JSON");
}

TEST(CkptCorruption, StrayTemporaryDirectoryIsIgnoredAndReported) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  fs::path stray = root / "step_00000003.tmp.0123abcd";
  fs::create_directories(stray / "rank_00000");
  test::write_text(stray / "rank_00000/model.safetensors", "half a file");
  auto choice = ckpt::find_resume_checkpoint(root, ckpt::VerifyLevel::Full);
  ASSERT_TRUE(choice);
  EXPECT_EQ(choice->step, 2);
  EXPECT_TRUE(choice->rejected.empty());

  auto r = test::run_cli({"ckpt", "verify", root.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("step_00000003.tmp.0123abcd: temporary directory of a save or deletion that never finished"),
            std::string::npos)
      << r.out;
  auto t = test::run_cli({"ckpt", "verify", stray.string()});
  EXPECT_EQ(t.exit_code, 5);
  EXPECT_NE(t.err.find("temporary directory of a save that never finished"), std::string::npos) << t.err;
}

TEST(CkptCorruption, NothingUsableIsACheckpointError) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  flip_byte(root / "step_00000001/rank_00000/model.safetensors", 5);
  fs::remove(root / "step_00000002/manifest.json");
  try {
    ckpt::resolve_resume("auto", root, ckpt::VerifyLevel::Full);
    FAIL() << "resumed";
  } catch (const UserError& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.code(), ExitCode::Checkpoint);
    EXPECT_NE(msg.find("no usable checkpoint"), std::string::npos) << msg;
    EXPECT_NE(msg.find("step_00000001: rank_00000/model.safetensors: SHA-256"), std::string::npos) << msg;
    EXPECT_NE(msg.find("step_00000002"), std::string::npos) << msg;
  }
  // A directory the user names explicitly is never replaced by another.
  EXPECT_THROW(ckpt::resolve_resume((root / "step_00000001").string(), root, ckpt::VerifyLevel::Full), UserError);
}

TEST(CkptCli, InspectShowsManifestAndFiles) {
  test::TempDir dir;
  fs::path root = make_two(dir);
  auto r = test::run_cli({"ckpt", "inspect", (root / "step_00000002").string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("step 2  epoch 0  micro_step 2  consumed samples 64  tokens 32768"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rank_00000/model.safetensors"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("ok (sha256)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("4 files"), std::string::npos) << r.out;
  auto j = test::run_cli({"ckpt", "inspect", "--json", "--level", "sizes", root.string()});
  EXPECT_EQ(j.exit_code, 0) << j.err;
  auto doc = nlohmann::json::parse(j.out);
  EXPECT_EQ(doc["latest"], "step_00000002");
  EXPECT_EQ(doc["resume_auto"], "step_00000002");
  EXPECT_EQ(doc["checkpoints"].size(), 2u);
  EXPECT_EQ(doc["checkpoints"][0]["manifest"]["step"], 2);
  auto none = test::run_cli({"ckpt", "verify", (dir / "nothing").string()});
  EXPECT_EQ(none.exit_code, 5);
}

}  // namespace
}  // namespace ec
