// load_model_source: a checkpoint (LoRA adapters merged), a run directory and a Hugging Face
// directory load to a model with the saved model's logits; a checkpoint whose tensors do not fit
// its config and a directory that is no model are refused with errors naming the problem.
#include <gtest/gtest.h>

#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/core/hash.h"
#include "tests/infer/infer_fixture.h"
#include "models/qwen_vl/lora.h"
#include "trainers/model_source.h"

namespace ec::train {
namespace {

namespace fs = std::filesystem;
using test::InferFixture;

template <class F>
void expect_user_error(F&& f, ExitCode code, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(ModelSource, CheckpointWithLoraLoadsMergedWithTheSameLogits) {
  InferFixture f;
  ExperimentConfig cfg = f.config({"model.lora.rank=2", "prompt.text=Describe the edit."});
  nn::QwenVL original = InferFixture::model(cfg);
  const at::Tensor want = test::probe_logits(*original, *f.tokenizer);
  const fs::path step = InferFixture::save_checkpoint(original, cfg, f.dir / "run" / "checkpoints");

  ModelSource s = load_model_source(step, at::kCPU);
  EXPECT_EQ(s.kind, ModelSourceKind::Checkpoint);
  EXPECT_EQ(s.resolved, step);
  EXPECT_EQ(s.chat.prompt, "Describe the edit.");
  EXPECT_EQ(s.identity, ckpt::Checkpoint(step).manifest().files.at("rank_00000/model.safetensors").sha256);
  EXPECT_EQ(s.identity, sha256_file(step / "rank_00000" / "model.safetensors"));
  EXPECT_FALSE(s.model->is_training());
  EXPECT_EQ(s.tokenizer->vocab_size(), f.tokenizer->vocab_size());
  const at::Tensor got = test::probe_logits(*s.model, *s.tokenizer);
  EXPECT_LT(test::max_abs_diff(got, want), 1e-4);
  // The merge is real: with adapters off, the base weights alone give other logits.
  {
    models::LoraDisabled off(*original);
    EXPECT_GT(test::max_abs_diff(test::probe_logits(*original, *f.tokenizer), want), 1e-3);
  }

  // A run directory stands for its newest checkpoint.
  ModelSource run = load_model_source(f.dir / "run", at::kCPU);
  EXPECT_EQ(run.resolved, step);
  EXPECT_EQ(run.identity, s.identity);
}

TEST(ModelSource, CheckpointTensorsThatDoNotFitAreACheckpointError) {
  InferFixture f;
  ExperimentConfig cfg = f.config();
  nn::QwenVL m = InferFixture::model(cfg);
  const fs::path renamed = InferFixture::save_checkpoint(m, cfg, f.dir / "a", 1, [](io::NamedTensors& t) {
    t.front().first = "visual.not_a_parameter";
  });
  expect_user_error([&] { load_model_source(renamed, at::kCPU); }, ExitCode::Checkpoint,
                    {"model.safetensors", "visual.not_a_parameter is not a parameter", "is missing"});
  const fs::path reshaped = InferFixture::save_checkpoint(m, cfg, f.dir / "b", 1, [](io::NamedTensors& t) {
    t.back().second = at::zeros({3});
  });
  expect_user_error([&] { load_model_source(reshaped, at::kCPU); }, ExitCode::Checkpoint, {"is [3] in the file"});
}

TEST(ModelSource, HuggingFaceDirectoryLoadsWithTheSameLogits) {
  InferFixture f;
  ExperimentConfig cfg = f.config();
  nn::QwenVL m = InferFixture::model(cfg);
  const at::Tensor want = test::probe_logits(*m, *f.tokenizer);
  models::ExportOptions eo;
  eo.dtype = at::kFloat;
  eo.assets = {f.tokenizer_dir};
  const fs::path hf = f.dir / "hf";
  models::export_hf(*m, hf, eo);

  ModelSource s = load_model_source(hf, at::kCPU);
  EXPECT_EQ(s.kind, ModelSourceKind::HuggingFace);
  EXPECT_TRUE(s.config.is_null());
  EXPECT_EQ(s.identity, sha256_file(hf / "model.safetensors"));
  EXPECT_EQ(s.chat.prompt, std::string(data::kDefaultInstructionPrompt));
  EXPECT_EQ(s.image.patch_size, cfg.model.vision.patch_size);
  EXPECT_LT(test::max_abs_diff(test::probe_logits(*s.model, *s.tokenizer), want), 1e-4);
}

TEST(ModelSource, AnythingElseIsAnInputErrorSayingWhatWasExpected) {
  InferFixture f;
  fs::create_directories(f.dir / "empty");
  expect_user_error([&] { load_model_source(f.dir / "empty", at::kCPU); }, ExitCode::Input,
                    {"empty", "Hugging Face model directory", "checkpoint", "run directory"});
  expect_user_error([&] { load_model_source(f.dir / "absent", at::kCPU); }, ExitCode::Input, {"no such directory"});
}

}  // namespace
}  // namespace ec::train
