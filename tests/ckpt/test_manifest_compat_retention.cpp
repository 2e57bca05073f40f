// The manifest format (strict parsing, version policy, names), the resume compatibility check and
// the retention rules.
#include <gtest/gtest.h>

#include "editcaption/ckpt/compat.h"
#include "editcaption/ckpt/manifest.h"
#include "editcaption/ckpt/retention.h"
#include "editcaption/core/error.h"

namespace ec {
namespace {
using json = nlohmann::json;

const char* kSha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// A version-1 manifest as this build writes it. It is spelled out (not generated) so that a later
// format change that stops reading version 1 fails here.
std::string v1_manifest() {
  return std::string(R"({
  "format": "editcaption-checkpoint", "format_version": 1, "step": 1200, "world_size": 2,
  "created_unix": 1700000000.5, "editcaption_version": "0.1.0",
  "header": {"step": 1200, "epoch": 3, "micro_step": 1, "consumed_samples": 38400, "consumed_tokens": 19660800,
             "config_hash": "abc", "reference_identity": "", "extra": {"tp": 1, "dp": 2}},
  "files": {"rank_00000/model.safetensors": {"rank": 0, "size": 10, "sha256": ")") + kSha + R"("},
            "rank_00001/cursor.json": {"rank": 1, "size": 3, "sha256": ")" + kSha + R"("}}
})";
}

ExitCode parse_code(const std::string& text, std::string* msg = nullptr) {
  try {
    ckpt::parse_manifest(text, "m.json");
  } catch (const UserError& e) {
    if (msg) *msg = e.what();
    return e.code();
  }
  return ExitCode::Ok;
}

TEST(Manifest, VersionOneLoads) {
  ckpt::Manifest m = ckpt::parse_manifest(v1_manifest(), "m.json");
  EXPECT_EQ(m.step, 1200);
  EXPECT_EQ(m.world_size, 2);
  EXPECT_EQ(m.header.consumed_tokens, 19660800);
  EXPECT_EQ(m.header.extra["dp"], 2);
  ASSERT_EQ(m.files.size(), 2u);
  EXPECT_EQ(m.files.at("rank_00001/cursor.json").rank, 1);
  // And it round-trips through what the writer produces.
  ckpt::Manifest again = ckpt::parse_manifest(ckpt::to_json(m).dump(), "again");
  EXPECT_EQ(ckpt::to_json(again).dump(), ckpt::to_json(m).dump());
}

TEST(Manifest, StrictParsing) {
  std::string base = v1_manifest();
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = base;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  std::string msg;
  EXPECT_EQ(parse_code(with("\"format_version\": 1", "\"format_version\": 2"), &msg), ExitCode::Checkpoint);
  EXPECT_NE(msg.find("newer editcaption"), std::string::npos) << msg;
  EXPECT_EQ(parse_code(with("\"step\": 1200, \"world", "\"step\": 1200, \"step\": 1, \"world"), &msg),
            ExitCode::Checkpoint);
  EXPECT_NE(msg.find("duplicate key \"step\""), std::string::npos) << msg;
  EXPECT_EQ(parse_code(with("editcaption-checkpoint", "something-else")), ExitCode::Checkpoint);
  EXPECT_EQ(parse_code(with("rank_00000/model.safetensors", "../model.safetensors"), &msg), ExitCode::Checkpoint);
  EXPECT_NE(msg.find("rank_NNNNN"), std::string::npos) << msg;
  EXPECT_EQ(parse_code(with("rank_00001/cursor.json\": {\"rank\": 1", "rank_00002/cursor.json\": {\"rank\": 2")),
            ExitCode::Checkpoint);  // rank beyond world_size
  EXPECT_EQ(parse_code(with("rank_00001/cursor.json\": {\"rank\": 1", "rank_00001/cursor.json\": {\"rank\": 0")),
            ExitCode::Checkpoint);
  EXPECT_EQ(parse_code(with("rank_00000/model.safetensors", "rank_00000/.hidden")), ExitCode::Checkpoint);
  EXPECT_EQ(parse_code(with("\"size\": 10", "\"size\": -10")), ExitCode::Checkpoint);
  EXPECT_EQ(parse_code(with("\"step\": 1200, \"epoch\"", "\"step\": 1199, \"epoch\"")), ExitCode::Checkpoint);
  EXPECT_EQ(parse_code(with(kSha, "E3B0")), ExitCode::Checkpoint);
  EXPECT_EQ(parse_code("{\"format\": \"editcaption-checkpoint\""), ExitCode::Checkpoint);
  EXPECT_EQ(parse_code(""), ExitCode::Checkpoint);
}

TEST(Manifest, DirectoryNames) {
  EXPECT_EQ(ckpt::step_dir_name(1200), "step_00001200");
  EXPECT_EQ(ckpt::step_dir_name(123456789), "step_123456789");
  EXPECT_EQ(ckpt::parse_step_dir_name("step_00001200"), 1200);
  EXPECT_EQ(ckpt::parse_step_dir_name("step_123456789"), 123456789);
  EXPECT_FALSE(ckpt::parse_step_dir_name("step_00001200.tmp.abcd"));
  EXPECT_FALSE(ckpt::parse_step_dir_name("step_1200"));
  EXPECT_FALSE(ckpt::parse_step_dir_name("step_0000120x"));
  EXPECT_FALSE(ckpt::parse_step_dir_name("latest"));
  EXPECT_TRUE(ckpt::is_leftover_dir_name("step_00001200.tmp.abcd"));
  EXPECT_TRUE(ckpt::is_leftover_dir_name("step_00001200.deleting.abcd"));
  EXPECT_FALSE(ckpt::is_leftover_dir_name("step_00001200"));
  EXPECT_NO_THROW(ckpt::check_state_name("optimizer.groups-1_a"));
  for (const char* bad : {"", ".x", "a/b", "a b", "..", "\xc3\xa9"}) EXPECT_THROW(ckpt::check_state_name(bad), UserError);
}

// ---- compatibility -----------------------------------------------------------------------------

json config_a() {
  return {{"run", {{"name", "a"}, {"log_level", "info"}, {"seed", 1}}},
          {"model", {{"hidden", 64}, {"layers", 2}}},
          {"optim", {{"lr", 1e-4}, {"betas", {0.9, 0.95}}}},
          {"data", {{"workers", 2}, {"prefetch_workers", 1}}},
          {"checkpoint", {{"interval_steps", 100}}}};
}

TEST(Compat, DiffAndPatterns) {
  json b = config_a();
  b["optim"]["betas"][1] = 0.999;
  b["model"]["layers"] = 4;
  b["model"]["new_key"] = true;
  b["data"].erase("workers");
  auto changes = ckpt::diff_configs(config_a(), b);
  ASSERT_EQ(changes.size(), 4u);
  EXPECT_EQ(changes[0].key, "data.workers");
  EXPECT_TRUE(changes[0].current.is_null());
  EXPECT_EQ(changes[1].key, "model.layers");
  EXPECT_EQ(changes[2].key, "model.new_key");
  EXPECT_EQ(changes[3].key, "optim.betas[1]");

  EXPECT_TRUE(ckpt::key_matches("optim", "optim.betas[1]"));
  EXPECT_TRUE(ckpt::key_matches("optim.betas", "optim.betas[1]"));
  EXPECT_TRUE(ckpt::key_matches("data.*workers", "data.prefetch_workers"));
  EXPECT_TRUE(ckpt::key_matches("*.log_level", "run.log_level"));
  EXPECT_FALSE(ckpt::key_matches("*.seed", "run.log_level"));  // '*' stays within one part...
  EXPECT_TRUE(ckpt::key_matches("run", "run.log_level"));  // ...a prefix covers a subtree
  EXPECT_FALSE(ckpt::key_matches("optim.b", "optim.betas"));
  EXPECT_FALSE(ckpt::key_matches("model.hidden", "model.hidden_size"));
}

TEST(Compat, RefusesTrainingChangesUnlessAllowed) {
  ckpt::ResumeIdentity stored{config_a(), "ref-sha-1"};
  ckpt::ResumeIdentity current = stored;
  current.config["run"]["log_level"] = "debug";             // always allowed
  current.config["checkpoint"]["interval_steps"] = 50;      // always allowed
  EXPECT_EQ(ckpt::check_resume_compatible(stored, current, {}).size(), 2u);

  current.config["model"]["hidden"] = 128;
  current.config["optim"]["lr"] = 3e-4;
  try {
    ckpt::check_resume_compatible(stored, current, {});
    FAIL() << "accepted";
  } catch (const UserError& e) {
    std::string msg = e.what();
    EXPECT_EQ(e.code(), ExitCode::Checkpoint);
    EXPECT_NE(msg.find("model.hidden: 64 -> 128"), std::string::npos) << msg;
    EXPECT_NE(msg.find("optim.lr"), std::string::npos) << msg;
    EXPECT_NE(msg.find("checkpoint.allow_config_changes"), std::string::npos) << msg;
  }
  EXPECT_THROW(ckpt::check_resume_compatible(stored, current, {.allow_config_changes = {"optim.lr"}}), UserError);
  EXPECT_EQ(ckpt::check_resume_compatible(stored, current, {.allow_config_changes = {"optim.lr", "model"}}).size(), 4u);

  ckpt::ResumeIdentity other_ref{config_a(), "ref-sha-2"};
  try {
    ckpt::check_resume_compatible(stored, other_ref, {});
    FAIL() << "accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("allow_reference_change"), std::string::npos) << e.what();
  }
  EXPECT_NO_THROW(ckpt::check_resume_compatible(stored, other_ref, {.allow_config_changes = {}, .allow_reference_change = true}));
}

// ---- retention ---------------------------------------------------------------------------------

TEST(Retention, KeepsLastKAndEveryNth) {
  using V = std::vector<int64_t>;
  EXPECT_EQ(ckpt::plan_retention({100, 200, 300, 400, 500}, 500, {.keep_last = 2}), (V{100, 200, 300}));
  EXPECT_EQ(ckpt::plan_retention({100, 200, 300, 400, 500}, 500, {.keep_last = 3}), (V{100, 200}));
  EXPECT_EQ(ckpt::plan_retention({100, 200, 300, 400, 500}, 500, {.keep_last = 2, .keep_every = 200}), (V{100, 300}));
  // The committed checkpoint is kept even when it is the only one; nothing newer is touched.
  EXPECT_EQ(ckpt::plan_retention({500}, 500, {.keep_last = 2}), V{});
  EXPECT_EQ(ckpt::plan_retention({100, 200, 300, 400, 500}, 200, {.keep_last = 2}), V{});
  EXPECT_EQ(ckpt::plan_retention({100, 200, 300, 900}, 300, {.keep_last = 2}), V{100});
  // What `latest` names survives.
  EXPECT_EQ(ckpt::plan_retention({100, 200, 300, 400}, 400, {.keep_last = 2}, 100), V{200});
}

}  // namespace
}  // namespace ec
