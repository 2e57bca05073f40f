// The tensor-parallel sharding rule (models/qwen_vl/tp_shard.h) on the tiny presets: exactly the
// decoder's q/k/v, gate/up (rows), o_proj/down_proj (columns), the token embedding and the untied
// LM head (rows: vocab-parallel) are split, the parts join back into the full tensor, and the parts
// of rank r are the slices the tp layers compute with.
#include <gtest/gtest.h>
#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <exception>
#include <thread>

#include "editcaption/dist/group.h"
#include "editcaption/dist/tp_group.h"
#include "kernels/linear_logprobs.h"
#include "kernels/vocab_parallel.h"
#include "models/qwen_vl/tp_shard.h"
#include "tests/models/model_test_util.h"

namespace ec::test {
namespace {

using models::TpSplit;

TEST(TpShard, SplitsExactlyTheDecoderProjections) {
  EXPECT_EQ(models::tp_split("language_model.layers.0.self_attn.q_proj.weight"), TpSplit::Rows);
  EXPECT_EQ(models::tp_split("language_model.layers.0.self_attn.k_proj.bias"), TpSplit::Rows);
  EXPECT_EQ(models::tp_split("language_model.layers.11.mlp.up_proj.weight"), TpSplit::Rows);
  EXPECT_EQ(models::tp_split("language_model.layers.1.self_attn.o_proj.weight"), TpSplit::Cols);
  EXPECT_EQ(models::tp_split("language_model.layers.1.mlp.down_proj.weight"), TpSplit::Cols);
  EXPECT_EQ(models::tp_split("language_model.layers.1.self_attn.q_norm.weight"), TpSplit::Replicated);
  EXPECT_EQ(models::tp_split("language_model.embed_tokens.weight"), TpSplit::Rows);  // vocab-parallel
  EXPECT_EQ(models::tp_split("lm_head.weight"), TpSplit::Rows);
  EXPECT_EQ(models::tp_split("language_model.norm.weight"), TpSplit::Replicated);
  EXPECT_EQ(models::tp_split("visual.merger.mlp.0.weight"), TpSplit::Replicated);
  EXPECT_EQ(models::tp_split("visual.blocks.0.mlp.up_proj.weight"), TpSplit::Replicated);  // vision: replicated
}

TEST(TpShard, PartsJoinBackIntoEveryParameter) {
  for (ModelFamily f : {ModelFamily::Qwen2VL, ModelFamily::Qwen25VL, ModelFamily::Qwen3VL}) {
    nn::QwenVL m = tiny_model(f);
    int sharded = 0;
    for (const auto& p : m->named_parameters()) {
      const std::string& n = p.key();
      const at::Tensor full = p.value().detach();
      std::vector<at::Tensor> parts;
      for (int r = 0; r < 2; ++r) parts.push_back(models::tp_shard(n, full, r, 2));
      EXPECT_TRUE(models::tp_unshard(n, parts).equal(full)) << n;
      EXPECT_EQ(models::tp_full_shape(n, parts[0].sizes(), 2), full.sizes().vec()) << n;
      if (models::tp_sharded(n)) {
        ++sharded;
        EXPECT_EQ(parts[0].numel() * 2, full.numel()) << n;
        EXPECT_FALSE(parts[0].equal(parts[1])) << n;
      } else {
        EXPECT_TRUE(parts[1].equal(full)) << n;
      }
    }
    const models::QwenVLConfig c = tiny_config(f);
    // q, k, v, o, gate, up, down weights, plus the q/k/v biases of Qwen2/2.5; the embedding and an
    // untied LM head.
    EXPECT_EQ(sharded, c.text.num_layers * (f == ModelFamily::Qwen3VL ? 7 : 10) + 1 + (c.tie_word_embeddings ? 0 : 1))
        << config::enum_name(f);
  }
}

TEST(TpShard, HeadsStayWhole) {
  // Rank 1 of 2 holds the second half of the query heads and of the KV heads: rows
  // [H/2 * hd, H * hd) of q_proj, so grouped-query pairs stay on one rank.
  at::Tensor q = at::arange(8 * 3, at::kFloat).view({8, 3});  // 4 heads of head_dim 2
  at::Tensor part = models::tp_shard("language_model.layers.0.self_attn.q_proj.weight", q, 1, 2);
  EXPECT_TRUE(part.equal(q.slice(0, 4, 8)));
  at::Tensor o = at::arange(3 * 8, at::kFloat).view({3, 8});
  EXPECT_TRUE(models::tp_shard("language_model.layers.0.self_attn.o_proj.weight", o, 1, 2).equal(o.slice(1, 4, 8)));
}

TEST(TpShard, VocabularyRowsFollowOneRule) {
  // Rank r of N holds the embedding / LM-head rows of token ids [r V / N, (r + 1) V / N): what
  // tp_shard keeps, what the kernels' vocab shard assumes and what the model's lookup uses.
  for (int n : {1, 2, 4}) {
    for (int r = 0; r < n; ++r) {
      const dist::ShardRange range = models::tp_vocab_range(320, r, n);
      EXPECT_EQ(range.begin, r * 320 / n);
      EXPECT_EQ(range.end, (r + 1) * 320 / n);
      EXPECT_EQ(kernels::vocab_shard_range(320, r, n), std::make_pair(range.begin, range.end));
      at::Tensor table = at::arange(320 * 3, at::kFloat).view({320, 3});
      for (const char* name : {"language_model.embed_tokens.weight", "lm_head.weight"}) {
        EXPECT_TRUE(models::tp_shard(name, table, r, n).equal(table.slice(0, range.begin, range.end))) << name;
      }
    }
  }
  // Only the untied head and the embedding: a vision or merger weight of that shape stays whole.
  at::Tensor w = at::ones({320, 3});
  EXPECT_TRUE(models::tp_shard("visual.merger.mlp.2.weight", w, 1, 2).equal(w));
}

TEST(TpShard, UnevenVocabularyIsRefusedNamingTheKeys) {
  EXPECT_NO_THROW(models::check_tp_vocab(151936, 8));  // Qwen2/2.5/3-VL
  EXPECT_NO_THROW(models::check_tp_vocab(321, 1));
  try {
    models::check_tp_vocab(321, 2);
    FAIL() << "an odd vocabulary must be refused at tp = 2";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Usage);
    const std::string m = e.what();
    EXPECT_NE(m.find("model.text.vocab_size = 321"), std::string::npos) << m;
    EXPECT_NE(m.find("dist.tp = 2"), std::string::npos) << m;
  }
  EXPECT_THROW(models::tp_vocab_range(321, 0, 2), UserError);
}

// What one rank (or the whole model) computes: full logits (logits() all-gathers the vocabulary
// slices), the fused log-probs with the model's vocab shard, and the gradients of a loss using both.
struct VocabRun {
  at::Tensor logits, logp, correct, d_embed, d_head, d_norm, d_vision;
};

VocabRun run_vocab(nn::QwenVLImpl& m, const data::ModelInputs& in, const at::Tensor& labels, const at::Tensor& probe) {
  nn::ForwardOptions fo;
  fo.return_hidden = true;
  nn::ForwardOutput o = m.forward(in, fo);
  kernels::LogprobOptions lo;
  lo.shard = m.vocab_shard();
  kernels::LogprobResult r = kernels::fused_linear_logprobs(o.hidden, m.lm_head_weight(), labels, lo);
  ((o.logits * probe).sum() + r.logp.sum()).backward();
  VocabRun out{o.logits.detach(), r.logp.detach(), r.correct, m.language_model->embed_tokens->weight.grad(), {},
               m.language_model->norm->weight.grad(), m.visual->parameters().front().grad()};
  if (m.lm_head) out.d_head = m.lm_head->weight.grad();
  return out;
}

double rel_diff(const at::Tensor& a, const at::Tensor& b) {
  return max_abs_diff(a, b) / std::max(1e-12, b.abs().max().item<double>());
}

// The vocab-parallel embedding and LM head in the model at tp = 2 (two threads, ProcessGroupGloo
// over one HashStore): with a prompt holding an image (spliced in after the embedding), every rank
// gets the full model's logits and fused log-probs, its rows of the embedding / head gradient and
// the full gradient of replicated parameters; a random init gives each rank its rows.
TEST(TpShard, VocabParallelModelMatchesTheFullModel) {
  for (ModelFamily f : {ModelFamily::Qwen2VL, ModelFamily::Qwen3VL}) {  // untied head, tied head
    SCOPED_TRACE(config::enum_name(f));
    models::QwenVLConfig c = tiny_config(f);
    c.init_std = 0.1;
    models::BuildOptions bo;
    bo.seed = 3;
    nn::QwenVL full = models::build_model(c, bo);
    const std::vector<GridThw> grids{{1, 4, 4}};
    data::ModelInputs in;
    in.input_ids = ids_tensor(prompt_ids(c, 3, grids, 6, 7));
    in.pixel_values = pixels(c, grids, 8);
    in.image_grid_thw = grid_tensor(grids);
    at::Generator g = at::make_generator<at::CPUGeneratorImpl>(9);
    const int64_t V = c.text.vocab_size;
    at::Tensor labels = at::randint(0, V, in.input_ids.sizes(), g, at::kLong);
    labels.narrow(1, 0, 2).fill_(-100);
    at::Tensor probe = at::randn({in.input_ids.size(0), in.input_ids.size(1), V}, g, at::kFloat);
    const VocabRun whole = run_vocab(*full, in, labels, probe);
    ASSERT_EQ(whole.logits.size(-1), V);

    auto store = c10::make_intrusive<c10d::HashStore>();
    std::vector<VocabRun> ranks(2);
    std::vector<std::exception_ptr> errors(2);
    std::vector<std::thread> threads;
    for (int rank = 0; rank < 2; ++rank) {
      threads.emplace_back([&, rank] {
        try {
          auto options = c10d::ProcessGroupGloo::Options::create();
          options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
          auto backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, 2, options);
          dist::Group::Setup setup;
          setup.name = "tp";
          setup.global_ranks = {0, 1};
          setup.rank = rank;
          dist::TpGroup tp(std::make_shared<dist::Group>(setup, backend));
          models::BuildOptions o = bo;
          o.tp = &tp;
          nn::QwenVL part = models::build_model(c, o);
          auto fp = full->named_parameters();
          for (const auto& p : part->named_parameters()) {
            if (!p.value().equal(models::tp_shard(p.key(), fp[p.key()].detach(), rank, 2))) {
              throw std::runtime_error("rank " + std::to_string(rank) + ": " + p.key() + " is not its part");
            }
          }
          ranks[rank] = run_vocab(*part, in, labels, probe);
        } catch (...) {
          errors[rank] = std::current_exception();
        }
      });
    }
    for (auto& t : threads) t.join();
    for (auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
    for (int rank = 0; rank < 2; ++rank) {
      SCOPED_TRACE(rank);
      const VocabRun& o = ranks[rank];
      const dist::ShardRange rows = models::tp_vocab_range(V, rank, 2);
      EXPECT_EQ(o.logits.sizes(), whole.logits.sizes());
      EXPECT_LE(rel_diff(o.logits, whole.logits), 1e-5);
      EXPECT_LE(rel_diff(o.logp, whole.logp), 1e-5);
      EXPECT_TRUE(o.correct.equal(whole.correct));
      EXPECT_EQ(o.d_embed.size(0), V / 2);
      EXPECT_LE(rel_diff(o.d_embed, whole.d_embed.slice(0, rows.begin, rows.end)), 1e-5);
      ASSERT_EQ(o.d_head.defined(), whole.d_head.defined());
      if (o.d_head.defined()) EXPECT_LE(rel_diff(o.d_head, whole.d_head.slice(0, rows.begin, rows.end)), 1e-5);
      EXPECT_LE(rel_diff(o.d_norm, whole.d_norm), 1e-5);
      EXPECT_LE(rel_diff(o.d_vision, whole.d_vision), 1e-5);  // through the spliced image features
    }
  }
}

}  // namespace
}  // namespace ec::test
