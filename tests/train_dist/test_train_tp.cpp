// Tensor parallelism in the trainers (Gloo, CPU): the tiny Qwen3-VL fixture model (4 heads, 2 KV
// heads, MLP 128, q_norm/k_norm, tied embedding) trained with dist.tp = 2, alone or as dp 2 x tp 2
// with ZeRO-1, ends where one process ends: the same losses and gradient norms at every step and
// the same parameters once the per-rank parts are joined. The embedding and the LM head are
// vocab-parallel (each rank holds half of the 512 rows; the fused losses combine the ranks'
// partial log-sum-exps), validation during training included; an untied head is split the same
// way. Also: DPO (live and cached reference, from a tensor-parallel SFT checkpoint), exact resume,
// `export --hf` joining the parts, and the refusal of LoRA and of a vocabulary that does not split.
#include <gtest/gtest.h>

#include <fstream>

#include <nlohmann/json.hpp>

#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/io/safetensors.h"
#include "tests/train/train_fixture.h"
#include "tests/train_dist/train_runs.h"
#include "trainers/checkpoint_model.h"

namespace ec::test {
namespace {
namespace fs = std::filesystem;

constexpr double kTol = 1e-5;
// AdamW's first steps move a weight by about lr * g / (|g| + eps): with the default eps = 1e-8 a
// gradient element of 1e-8 (there are some in k_proj behind k_norm) whose last bits depend on the
// summation order (a row-parallel layer sums its partial products differently) moves its weight by
// up to 1e-5 more or less. eps = 1e-6 keeps such elements' steps small, so the comparison sees the
// gradients and not the rounding; a wrong gradient still moves weights by about lr (1e-3).
const std::string kEps = "optim.eps=1e-6";

std::map<std::string, at::Tensor> full_model(const TempDir& tmp, const std::string& name, int64_t step) {
  return train::read_checkpoint_model(ckpt::Checkpoint(checkpoint_at(tmp, name, step)));
}

void expect_same_steps(const TempDir& tmp, const std::string& a, const std::string& b, int64_t steps) {
  for (const char* key : {"loss", "grad_norm"}) {
    const std::vector<double> va = step_values(tmp, a, key), vb = step_values(tmp, b, key);
    ASSERT_EQ(va.size(), static_cast<size_t>(steps)) << key;
    ASSERT_EQ(vb.size(), static_cast<size_t>(steps)) << key;
    for (int64_t s = 0; s < steps; ++s) EXPECT_NEAR(va[s], vb[s], kTol) << key << " at step " << s + 1;
  }
}

// The validation records (val/...) of a run's metrics.jsonl, in order.
std::vector<nlohmann::json> val_records(const TempDir& tmp, const std::string& name) {
  std::vector<nlohmann::json> out;
  std::ifstream in(tmp / "runs" / name / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("val/loss")) out.push_back(std::move(j));
  }
  return out;
}

void expect_same_validation(const TempDir& tmp, const std::string& a, const std::string& b, size_t evals,
                            const std::vector<std::string>& keys) {
  const auto va = val_records(tmp, a), vb = val_records(tmp, b);
  ASSERT_EQ(va.size(), evals);
  ASSERT_EQ(vb.size(), evals);
  for (size_t i = 0; i < evals; ++i) {
    EXPECT_EQ(va[i]["step"], vb[i]["step"]);
    for (const std::string& k : keys) {
      ASSERT_TRUE(va[i].contains(k) && vb[i].contains(k)) << k;
      EXPECT_NEAR(va[i][k].get<double>(), vb[i][k].get<double>(), kTol) << k << " at evaluation " << i;
    }
  }
}

// The parts really are parts: a sharded tensor on rank 1 differs from rank 0's and is half as wide
// (the vocab-parallel embedding / LM head: half of the 512 vocabulary rows each).
void expect_sharded(const TempDir& tmp, const std::string& name, int64_t step, bool tied = true) {
  io::SafetensorsFile r0(checkpoint_at(tmp, name, step) / "rank_00000/model.safetensors");
  io::SafetensorsFile r1(checkpoint_at(tmp, name, step) / "rank_00001/model.safetensors");
  const std::string q = "language_model.layers.0.self_attn.q_proj.weight";
  const std::string down = "language_model.layers.1.mlp.down_proj.weight";
  EXPECT_EQ(r0.view(q).size(0), 4 * 32 / 2);
  EXPECT_EQ(r0.view(down).size(1), 128 / 2);
  EXPECT_FALSE(r0.view(q).equal(r1.view(q)));
  std::vector<std::string> vocab = {"language_model.embed_tokens.weight"};
  if (!tied) vocab.push_back("lm_head.weight");
  for (const std::string& n : vocab) {
    for (const io::SafetensorsFile* f : {&r0, &r1}) EXPECT_EQ(f->view(n).sizes(), at::IntArrayRef({512 / 2, 64})) << n;
    EXPECT_FALSE(r0.view(n).equal(r1.view(n))) << n;
  }
  EXPECT_EQ(r0.contains("lm_head.weight"), !tied);
  const std::string norm = "language_model.layers.0.self_attn.q_norm.weight";
  EXPECT_TRUE(r0.view(norm).equal(r1.view(norm)));  // replicated parameters stay identical
}

// With validation during training (steps 2, 4 and the last): loss and token accuracy (the
// kernel's argmax, combined over the ranks' vocabulary halves) equal one process's.
TEST(TrainTp, TwoWayTensorParallelSftEqualsOneProcess) {
  TempDir tmp("ec-train-tp");
  const std::vector<std::string> sets = {"train.max_steps=5", kEps, "train.eval_every=2",
                                         "data.val=" + (train_fixture().synth / "val.jsonl").string()};
  CommandResult one = train(tmp, "sft", "one", 1, sets);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto tp = sets;
  tp.push_back("dist.tp=2");
  CommandResult two = train(tmp, "sft", "tp2", 2, tp);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  expect_same_steps(tmp, "one", "tp2", 5);
  for (const char* key : {"accuracy"}) {
    const std::vector<double> a = step_values(tmp, "one", key), b = step_values(tmp, "tp2", key);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], kTol) << key << " at step " << i + 1;
  }
  expect_same_validation(tmp, "one", "tp2", 3, {"val/loss", "val/accuracy"});
  expect_sharded(tmp, "tp2", 5);
  EXPECT_LT(max_abs_diff(full_model(tmp, "one", 5), full_model(tmp, "tp2", 5)), kTol);
}

// An untied LM head is split by rows like the embedding (its own vocab-parallel weight).
TEST(TrainTp, UntiedHeadTensorParallelSftEqualsOneProcess) {
  TempDir tmp("ec-train-tp");
  const std::vector<std::string> sets = {"train.max_steps=3", kEps, "model.tie_word_embeddings=false",
                                         "data.val=" + (train_fixture().synth / "val.jsonl").string()};
  CommandResult one = train(tmp, "sft", "one", 1, sets);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto tp = sets;
  tp.push_back("dist.tp=2");
  CommandResult two = train(tmp, "sft", "tp2", 2, tp);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  expect_same_steps(tmp, "one", "tp2", 3);
  expect_same_validation(tmp, "one", "tp2", 1, {"val/loss", "val/accuracy"});
  expect_sharded(tmp, "tp2", 3, /*tied=*/false);
  const auto a = full_model(tmp, "one", 3), b = full_model(tmp, "tp2", 3);
  ASSERT_TRUE(b.count("lm_head.weight"));
  EXPECT_EQ(b.at("lm_head.weight").size(0), 512);
  EXPECT_LT(max_abs_diff(a, b), kTol);
}

TEST(TrainTp, DataTimesTensorParallelWithZero1EqualsOneProcess) {
  TempDir tmp("ec-train-tp");
  const std::vector<std::string> sets = {"train.max_steps=4", "train.micro_batch_size=1", kEps};
  CommandResult one = train(tmp, "sft", "one", 1, sets);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto mesh = sets;
  for (const char* s : {"dist.tp=2", "dist.zero1=true", "dist.bucket_mb=0.05"}) mesh.push_back(s);
  CommandResult four = train(tmp, "sft", "dp2tp2", 4, mesh);
  ASSERT_EQ(four.exit_code, 0) << four.err;
  expect_same_steps(tmp, "one", "dp2tp2", 4);
  EXPECT_LT(max_abs_diff(full_model(tmp, "one", 4), full_model(tmp, "dp2tp2", 4)), kTol);
}

// What `pipeline` does with dist.tp = 2: DPO starts from the tensor-parallel SFT checkpoint (its
// parts joined, then split again) with a live reference sharded like the policy.
TEST(TrainTp, DpoFromATensorParallelCheckpointEqualsOneProcess) {
  TempDir tmp("ec-train-tp");
  const std::vector<std::string> sft = {"train.max_steps=2", kEps};
  ASSERT_EQ(train(tmp, "sft", "sft1", 1, sft).exit_code, 0);
  auto sft_tp = sft;
  sft_tp.push_back("dist.tp=2");
  CommandResult s2 = train(tmp, "sft", "sft2", 2, sft_tp);
  ASSERT_EQ(s2.exit_code, 0) << s2.err;
  const std::vector<std::string> dpo = {"train.max_steps=3", "dpo.reference=live", kEps};
  auto one = dpo;
  one.push_back("train.init=" + (tmp / "runs/sft1").string());
  CommandResult d1 = train(tmp, "dpo", "dpo1", 1, one);
  ASSERT_EQ(d1.exit_code, 0) << d1.err;
  auto two = dpo;
  two.push_back("train.init=" + (tmp / "runs/sft2").string());
  two.push_back("dist.tp=2");
  CommandResult d2 = train(tmp, "dpo", "dpo2", 2, two);
  ASSERT_EQ(d2.exit_code, 0) << d2.err;
  expect_same_steps(tmp, "dpo1", "dpo2", 3);
  const std::vector<double> margins = step_values(tmp, "dpo2", "rewards/margins");
  EXPECT_NE(margins.back(), 0.0);  // the policy moved away from its reference
  EXPECT_LT(max_abs_diff(full_model(tmp, "dpo1", 3), full_model(tmp, "dpo2", 3)), kTol);
}

TEST(TrainTp, DpoWithCachedReferenceEqualsOneProcess) {
  TempDir tmp("ec-train-tp");
  const std::vector<std::string> sets = {"train.max_steps=3", "dpo.reference=cached", kEps,
                                         "data.val=" + (train_fixture().synth / "dpo_val.jsonl").string()};
  CommandResult one = train(tmp, "dpo", "one", 1, sets);
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto tp = sets;
  tp.push_back("dist.tp=2");
  CommandResult two = train(tmp, "dpo", "tp2", 2, tp);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  expect_same_steps(tmp, "one", "tp2", 3);
  expect_same_validation(tmp, "one", "tp2", 1, {"val/loss", "val/rewards/margins", "val/logps/chosen"});
  EXPECT_LT(max_abs_diff(full_model(tmp, "one", 3), full_model(tmp, "tp2", 3)), kTol);
}

TEST(TrainTp, ResumedTensorParallelRunIsBitwiseIdentical) {
  TempDir tmp("ec-train-tp");
  const std::vector<std::string> sets = {"train.max_steps=4", "dist.tp=2", kEps};
  CommandResult full = train(tmp, "sft", "full", 2, sets);
  ASSERT_EQ(full.exit_code, 0) << full.err;
  auto first = sets;
  first.push_back("train.stop_at_step=2");
  CommandResult a = train(tmp, "sft", "split", 2, first);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  CommandResult b = train(tmp, "sft", "split", 2, sets);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("resumed from"), std::string::npos) << b.err;
  for (const char* file : {"rank_00000/model.safetensors", "rank_00001/model.safetensors",
                           "rank_00000/optimizer.safetensors", "rank_00001/optimizer.safetensors"}) {
    EXPECT_EQ(read_text(checkpoint_at(tmp, "full", 4) / file), read_text(checkpoint_at(tmp, "split", 4) / file)) << file;
  }
  // Resuming with another tensor-parallel size is refused with the checkpoint's layout named.
  const std::vector<std::string> other = {"train.max_steps=6", "dist.tp=1", kEps,
                                          "checkpoint.allow_config_changes=[dist.tp, train.max_steps]"};
  CommandResult c = train(tmp, "sft", "split", 1, other);
  EXPECT_EQ(c.exit_code, 5) << c.err;
  EXPECT_NE(c.err.find("saved with dist.tp = 2"), std::string::npos) << c.err;
}

TEST(TrainTp, ExportJoinsTheTensorParallelParts) {
  TempDir tmp("ec-train-tp");
  const std::vector<std::string> sets = {"train.max_steps=2", kEps};
  ASSERT_EQ(train(tmp, "sft", "one", 1, sets).exit_code, 0);
  auto tp = sets;
  tp.push_back("dist.tp=2");
  CommandResult two = train(tmp, "sft", "tp2", 2, tp);
  ASSERT_EQ(two.exit_code, 0) << two.err;
  for (const char* name : {"one", "tp2"}) {
    CommandResult e = run_cli({"export", "--hf", (tmp / "runs" / name).string(), (tmp / "hf" / name).string(),
                               "--dtype", "float32"});
    ASSERT_EQ(e.exit_code, 0) << e.err;
  }
  const fs::path a = tmp / "hf/one/model.safetensors", b = tmp / "hf/tp2/model.safetensors";
  io::SafetensorsFile fb(b);
  EXPECT_EQ(fb.view("model.language_model.layers.0.self_attn.q_proj.weight").size(0), 4 * 32);  // full, not a part
  EXPECT_LT(max_abs_diff(a, b), kTol);
}

TEST(TrainTp, LoraWithTensorParallelismIsRefused) {
  TempDir tmp("ec-train-tp");
  CommandResult r = train(tmp, "sft", "lora", 2, {"train.max_steps=1", "dist.tp=2", "model.lora.rank=4"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("dist.tp = 2 with model.lora.rank = 4"), std::string::npos) << r.err;
}

// The embedding and the LM head split by rows: a vocabulary that does not divide by dist.tp is
// refused before the model is allocated, naming both keys.
TEST(TrainTp, VocabularyNotDivisibleByTpIsRefused) {
  TempDir tmp("ec-train-tp");
  CommandResult r = train(tmp, "sft", "odd", 2, {"train.max_steps=1", "dist.tp=2", "model.text.vocab_size=511"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("dist.tp = 2 cannot split the vocabulary: model.text.vocab_size = 511"), std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace ec::test
