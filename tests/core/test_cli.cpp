// The CLI contract: help on every level, config errors with exit code 2, docs that cannot drift.
#include <gtest/gtest.h>

#include "editcaption/core/error.h"
#include "tests/common/test_util.h"

namespace ec {
namespace {

TEST(Cli, HelpListsCommands) {
  auto r = test::run_cli({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"env", "config"}) EXPECT_NE(r.out.find(cmd), std::string::npos) << cmd;
  auto sub = test::run_cli({"config", "check", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_NE(sub.out.find("--set"), std::string::npos);
}

TEST(Cli, UnknownCommandIsUsageError) {
  auto r = test::run_cli({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(Cli, EnvRunsWithoutGpu) {
  auto r = test::run_cli({"env"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("LibTorch"), std::string::npos);
  EXPECT_NE(r.out.find("NCCL"), std::string::npos);
  auto j = test::run_cli({"env", "--json"});
  ASSERT_EQ(j.exit_code, 0);
  EXPECT_NE(j.out.find("\"cuda_available\""), std::string::npos);
}

TEST(Cli, ConfigCheckMisspelledKey) {
  test::TempDir dir;
  test::write_text(dir / "bad.yaml", "run:\n  name: x\n  sede: 3\n");
  auto r = test::run_cli({"config", "check", (dir / "bad.yaml").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:3:3"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("unknown key 'run.sede'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("did you mean 'run.seed'"), std::string::npos) << r.err;
}

TEST(Cli, ConfigCheckWrongType) {
  test::TempDir dir;
  test::write_text(dir / "bad.yaml", "run:\n  seed: many\n");
  auto r = test::run_cli({"config", "check", (dir / "bad.yaml").string()});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("bad.yaml:2:9"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("'run.seed' expects an integer"), std::string::npos) << r.err;
}

TEST(Cli, ConfigCheckPrintsResolvedConfigWithOverrides) {
  test::TempDir dir;
  test::write_text(dir / "ok.yaml", "run:\n  name: exp\n");
  auto r = test::run_cli({"config", "check", (dir / "ok.yaml").string(), "--set", "run.seed=7"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("name: exp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("seed: 7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("sha256"), std::string::npos);
}

TEST(Cli, ShippedConfigsAreValid) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(test::source_dir() / "configs")) {
    if (entry.path().extension() != ".yaml") continue;
    // Model presets and other fragments are included through `base:`; top-level configs start a run.
    if (entry.path().string().find("/fragments/") != std::string::npos) continue;
    auto r = test::run_cli({"config", "check", entry.path().string()});
    EXPECT_EQ(r.exit_code, 0) << entry.path() << "\n" << r.err;
  }
}

TEST(Docs, ConfigurationReferenceIsGenerated) {
  auto r = test::run_cli({"config", "schema"});
  ASSERT_EQ(r.exit_code, 0);
  std::string doc = test::read_text(test::source_dir() / "docs" / "configuration.md");
  EXPECT_EQ(doc, r.out) << "docs/configuration.md is stale: regenerate it with\n"
                           "  build/bin/editcaption config schema > docs/configuration.md";
}

TEST(Docs, ExitCodesAreDocumented) {
  std::string doc = test::read_text(test::source_dir() / "docs" / "exit_codes.md");
  for (ExitCode c : {ExitCode::Ok, ExitCode::Internal, ExitCode::Usage, ExitCode::Input, ExitCode::DataPolicy,
                     ExitCode::Checkpoint, ExitCode::NonFinite, ExitCode::Comm, ExitCode::Preempted}) {
    std::string row = "| " + std::to_string(static_cast<int>(c)) + " | `" + exit_code_name(c) + "` |";
    EXPECT_NE(doc.find(row), std::string::npos) << "missing row: " << row;
  }
}

}  // namespace
}  // namespace ec
