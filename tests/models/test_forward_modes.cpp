// The forward modes agree with each other on the same weights: padded vs packed, prefix sharing
// (DPO) vs whole sequences, KV-cache decoding vs one pass, checkpointed vs plain gradients.
#include <gtest/gtest.h>

#include "models/generation.h"
#include "tests/models/model_test_util.h"

namespace ec::test {
namespace {

using models::QwenVLConfig;
const ModelFamily kFamilies[] = {ModelFamily::Qwen2VL, ModelFamily::Qwen25VL, ModelFamily::Qwen3VL};

struct Seq {
  std::vector<int32_t> ids;
  std::vector<GridThw> grids;
};

std::vector<Seq> three_sequences(const QwenVLConfig& c) {
  return {{prompt_ids(c, 3, {{1, 4, 6}}, 4, 1), {{1, 4, 6}}},
          {prompt_ids(c, 6, {}, 0, 2), {}},
          {prompt_ids(c, 2, {{1, 6, 4}, {1, 4, 4}}, 3, 3), {{1, 6, 4}, {1, 4, 4}}}};
}

at::Tensor all_pixels(const QwenVLConfig& c, const std::vector<Seq>& seqs) {
  std::vector<at::Tensor> px;
  for (size_t i = 0; i < seqs.size(); ++i)
    if (!seqs[i].grids.empty()) px.push_back(pixels(c, seqs[i].grids, 100 + i));
  return px.empty() ? at::Tensor() : at::cat(px);
}

at::Tensor all_grids(const std::vector<Seq>& seqs) {
  std::vector<GridThw> g;
  for (const auto& s : seqs) g.insert(g.end(), s.grids.begin(), s.grids.end());
  return g.empty() ? at::Tensor() : grid_tensor(g);
}

// Row b padded on the left when left[b], else on the right.
data::ModelInputs padded(const QwenVLConfig& c, const std::vector<Seq>& seqs, const std::vector<bool>& left) {
  int64_t L = 0;
  for (const auto& s : seqs) L = std::max<int64_t>(L, s.ids.size());
  const auto B = static_cast<int64_t>(seqs.size());
  data::ModelInputs in;
  in.input_ids = at::zeros({B, L}, at::kLong);
  in.attention_mask = at::zeros({B, L}, at::kBool);
  for (int64_t b = 0; b < B; ++b) {
    const auto n = static_cast<int64_t>(seqs[b].ids.size());
    const int64_t start = left[b] ? L - n : 0;
    in.input_ids[b].narrow(0, start, n).copy_(ids_tensor(seqs[b].ids)[0]);
    in.attention_mask[b].narrow(0, start, n).fill_(true);
  }
  in.pixel_values = all_pixels(c, seqs);
  in.image_grid_thw = all_grids(seqs);
  return in;
}

TEST(ForwardModes, PackedEqualsPadded) {
  for (auto f : kFamilies) {
    SCOPED_TRACE(config::enum_name(f));
    QwenVLConfig c;
    nn::QwenVL m = tiny_model(f, 11, &c);
    auto seqs = three_sequences(c);
    at::NoGradGuard ng;
    auto pin = padded(c, seqs, {true, false, true});
    at::Tensor padded_logits = m->forward(pin).logits;

    data::ModelInputs packed;
    std::vector<int32_t> all;
    std::vector<int32_t> cu{0};
    for (const auto& s : seqs) {
      all.insert(all.end(), s.ids.begin(), s.ids.end());
      cu.push_back(static_cast<int32_t>(all.size()));
    }
    packed.input_ids = ids_tensor(all);
    packed.cu_seqlens = at::tensor(cu, at::kInt);
    packed.pixel_values = all_pixels(c, seqs);
    packed.image_grid_thw = all_grids(seqs);
    at::Tensor packed_logits = m->forward(packed).logits[0];
    for (size_t b = 0; b < seqs.size(); ++b) {
      at::Tensor rows = pin.attention_mask[b].nonzero().squeeze(1);
      at::Tensor mine = padded_logits[b].index_select(0, rows);
      EXPECT_LT(max_abs_diff(mine, packed_logits.narrow(0, cu[b], cu[b + 1] - cu[b])), 1e-5) << b;
    }
  }
}

// log p(answer tokens | prompt) from whole sequences, one forward each.
std::vector<at::Tensor> full_logprobs(nn::QwenVLImpl& m, const QwenVLConfig& c, const std::vector<Seq>& prompts,
                                      const std::vector<std::vector<int32_t>>& answers, const std::vector<int64_t>& owner) {
  std::vector<at::Tensor> out;
  for (size_t a = 0; a < answers.size(); ++a) {
    const Seq& p = prompts[owner[a]];
    std::vector<int32_t> ids = p.ids;
    ids.insert(ids.end(), answers[a].begin(), answers[a].end());
    data::ModelInputs in;
    in.input_ids = ids_tensor(ids);
    if (!p.grids.empty()) {
      in.pixel_values = pixels(c, p.grids, 100 + owner[a]);
      in.image_grid_thw = grid_tensor(p.grids);
    }
    at::Tensor lp = m.forward(in).logits[0].log_softmax(-1);
    const int64_t P = p.ids.size(), n = answers[a].size();
    at::Tensor targets = ids_tensor(answers[a])[0];
    out.push_back(lp.narrow(0, P - 1, n).gather(1, targets.unsqueeze(1)).squeeze(1));
  }
  return out;
}

std::vector<at::Tensor> prefix_logprobs(nn::QwenVLImpl& m, const QwenVLConfig& c, const std::vector<Seq>& prompts,
                                        const std::vector<std::vector<int32_t>>& answers, const std::vector<int64_t>& owner,
                                        bool packed_prompts) {
  data::ModelInputs pin;
  if (packed_prompts) {
    std::vector<int32_t> all, cu{0};
    for (const auto& s : prompts) {
      all.insert(all.end(), s.ids.begin(), s.ids.end());
      cu.push_back(static_cast<int32_t>(all.size()));
    }
    pin.input_ids = ids_tensor(all);
    pin.cu_seqlens = at::tensor(cu, at::kInt);
    pin.pixel_values = all_pixels(c, prompts);
    pin.image_grid_thw = all_grids(prompts);
  } else {
    std::vector<bool> left(prompts.size(), true);
    pin = padded(c, prompts, left);
  }
  auto pre = m.forward_prefix(pin, {false, false});
  int64_t La = 0;
  for (const auto& a : answers) La = std::max<int64_t>(La, a.size());
  const auto A = static_cast<int64_t>(answers.size());
  nn::ContinuationInputs cin;
  cin.input_ids = at::zeros({A, La}, at::kLong);
  cin.attention_mask = at::zeros({A, La}, at::kBool);
  for (int64_t a = 0; a < A; ++a) {
    const auto n = static_cast<int64_t>(answers[a].size());
    cin.input_ids[a].narrow(0, 0, n).copy_(ids_tensor(answers[a])[0]);
    cin.attention_mask[a].narrow(0, 0, n).fill_(true);
  }
  cin.prefix_index = at::tensor(owner, at::kLong);
  at::Tensor cont = m.forward_continuation(pre.state, cin).logits;  // [A, La, V]
  at::Tensor first = m.logits(pre.state.last_hidden);                 // [P, V]
  std::vector<at::Tensor> out;
  for (int64_t a = 0; a < A; ++a) {
    const auto n = static_cast<int64_t>(answers[a].size());
    at::Tensor logits = at::cat({first[owner[a]].unsqueeze(0), cont[a].narrow(0, 0, n - 1)});
    at::Tensor targets = ids_tensor(answers[a])[0];
    out.push_back(logits.log_softmax(-1).gather(1, targets.unsqueeze(1)).squeeze(1));
  }
  return out;
}

TEST(ForwardModes, PrefixSharingEqualsWholeSequencesWithGradients) {
  for (auto f : kFamilies) {
    for (bool packed_prompts : {false, true}) {
      for (bool ckpt : {false, true}) {
        SCOPED_TRACE(fmt::format("{} packed {} checkpointing {}", config::enum_name(f), packed_prompts, ckpt));
        QwenVLConfig c;
        nn::QwenVL m = tiny_model(f, 21, &c);
        m->visual->options.activation_checkpointing = ckpt;
        m->language_model->options.activation_checkpointing = ckpt;
        std::vector<Seq> prompts{{prompt_ids(c, 2, {{1, 4, 6}}, 3, 5), {{1, 4, 6}}},
                                 {prompt_ids(c, 4, {{1, 4, 4}, {1, 6, 4}}, 1, 6), {{1, 4, 4}, {1, 6, 4}}}};
        // chosen and rejected for each prompt, of different lengths
        std::vector<std::vector<int32_t>> answers{prompt_ids(c, 5, {}, 0, 7), prompt_ids(c, 3, {}, 0, 8),
                                                  prompt_ids(c, 2, {}, 0, 9), prompt_ids(c, 6, {}, 0, 10)};
        std::vector<int64_t> owner{0, 0, 1, 1};

        auto full = full_logprobs(*m, c, prompts, answers, owner);
        at::Tensor loss_full = at::zeros({});
        for (auto& t : full) loss_full = loss_full + t.sum();
        m->zero_grad();
        loss_full.backward();
        std::map<std::string, at::Tensor> g_full;
        for (const auto& p : m->named_parameters()) g_full[p.key()] = p.value().grad().clone();

        m->zero_grad();
        auto shared = prefix_logprobs(*m, c, prompts, answers, owner, packed_prompts);
        at::Tensor loss_shared = at::zeros({});
        for (size_t a = 0; a < answers.size(); ++a) {
          EXPECT_LT(max_abs_diff(shared[a], full[a]), 1e-5) << a;
          loss_shared = loss_shared + shared[a].sum();
        }
        loss_shared.backward();
        // Gradients reach the prompt's vision tower and every decoder weight as in the plain pass.
        for (const auto& p : m->named_parameters()) {
          ASSERT_TRUE(p.value().grad().defined()) << p.key();
          const double scale = std::max(1.0, g_full[p.key()].abs().max().item<double>());
          EXPECT_LT(max_abs_diff(p.value().grad(), g_full[p.key()]) / scale, 1e-4) << p.key();
        }
      }
    }
  }
}

TEST(ForwardModes, KvCacheDecodingEqualsOnePass) {
  for (auto f : kFamilies) {
    SCOPED_TRACE(config::enum_name(f));
    QwenVLConfig c;
    nn::QwenVL m = tiny_model(f, 31, &c);
    at::NoGradGuard ng;
    std::vector<Seq> seqs{{prompt_ids(c, 2, {{1, 6, 4}}, 2, 12), {{1, 6, 4}}}, {prompt_ids(c, 4, {}, 0, 13), {}}};
    auto pin = padded(c, seqs, {true, true});
    models::KvCache cache;
    m->prefill(pin, cache);
    std::vector<std::vector<int32_t>> cont{prompt_ids(c, 4, {}, 0, 14), prompt_ids(c, 4, {}, 0, 15)};
    std::vector<at::Tensor> step_logits;
    for (int step = 0; step < 4; ++step) {
      at::Tensor ids = at::tensor({int64_t(cont[0][step]), int64_t(cont[1][step])}, at::kLong).view({2, 1});
      step_logits.push_back(m->decode_step(ids, cache).logits.select(1, 0));
    }
    for (size_t b = 0; b < 2; ++b) {
      std::vector<int32_t> ids = seqs[b].ids;
      ids.insert(ids.end(), cont[b].begin(), cont[b].end());
      data::ModelInputs one;
      one.input_ids = ids_tensor(ids);
      if (!seqs[b].grids.empty()) {
        one.pixel_values = pixels(c, seqs[b].grids, 100 + b);
        one.image_grid_thw = grid_tensor(seqs[b].grids);
      }
      at::Tensor ref = m->forward(one).logits[0];
      const int64_t P = seqs[b].ids.size();
      for (int step = 0; step < 4; ++step) EXPECT_LT(max_abs_diff(step_logits[step][b], ref[P + step]), 1e-5) << step;
    }
  }
}

TEST(ForwardModes, CheckpointedModelGradientsEqual) {
  for (auto f : kFamilies) {
    SCOPED_TRACE(config::enum_name(f));
    QwenVLConfig c;
    nn::QwenVL m = tiny_model(f, 41, &c);
    auto in = padded(c, three_sequences(c), {true, false, true});
    std::map<std::string, at::Tensor> plain;
    for (bool ckpt : {false, true}) {
      m->visual->options.activation_checkpointing = ckpt;
      m->language_model->options.activation_checkpointing = ckpt;
      m->zero_grad();
      auto out = m->forward(in, {true, true});
      (out.logits.pow(2).mean() + out.hidden.sum()).backward();
      for (const auto& p : m->named_parameters()) {
        if (!ckpt) {
          plain[p.key()] = p.value().grad().clone();
        } else {
          const double scale = std::max(1.0, plain[p.key()].abs().max().item<double>());
          EXPECT_LT(max_abs_diff(p.value().grad(), plain[p.key()]) / scale, 1e-5) << p.key();
        }
      }
    }
  }
}

TEST(ForwardModes, WindowAttentionWithOneWindowEqualsFullAttention) {
  // Spec checklist 5: an image whose merged grid fits in one window sees the same keys in every block.
  QwenVLConfig c;
  nn::QwenVL windowed = tiny_model(ModelFamily::Qwen25VL, 51, &c);
  QwenVLConfig full_cfg = c;
  full_cfg.vision.fullatt_block_indexes = {0, 1};
  nn::QwenVL full(nn::QwenVLOptions{full_cfg});
  {
    at::NoGradGuard ng;
    auto src = windowed->named_parameters();
    for (auto& p : full->named_parameters()) p.value().copy_(src[p.key()]);
  }
  at::NoGradGuard ng;
  at::Tensor px = pixels(c, {{1, 4, 4}}, 3);
  at::Tensor grid = grid_tensor({{1, 4, 4}});
  EXPECT_LT(max_abs_diff(windowed->encode_images(px, grid).embeds, full->encode_images(px, grid).embeds), 1e-6);
  // A larger image spans several windows: now the results differ.
  at::Tensor px2 = pixels(c, {{1, 8, 8}}, 4);
  at::Tensor grid2 = grid_tensor({{1, 8, 8}});
  EXPECT_GT(max_abs_diff(windowed->encode_images(px2, grid2).embeds, full->encode_images(px2, grid2).embeds), 1e-4);
}

TEST(ForwardModes, MismatchedImageTokensAreUserErrors) {
  QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen25VL, 61, &c);
  at::NoGradGuard ng;
  data::ModelInputs in;
  in.input_ids = ids_tensor(prompt_ids(c, 2, {{1, 4, 4}}, 1, 1));
  EXPECT_THROW(m->forward(in), UserError);  // image tokens, no pixels
  in.pixel_values = pixels(c, {{1, 4, 6}}, 1);
  in.image_grid_thw = grid_tensor({{1, 4, 6}});
  EXPECT_THROW(m->forward(in), UserError);  // 6 features for 4 tokens
  in.input_ids = ids_tensor({1, 2, 999});
  in.pixel_values = at::Tensor();
  in.image_grid_thw = at::Tensor();
  EXPECT_THROW(m->forward(in), UserError);  // outside the vocabulary
}

// ---------------------------------------------------------------------------------------------
// Generation

TEST(Generation, PaddingSideAndBatchingDoNotChangeGreedyTokens) {
  QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen3VL, 71, &c);
  std::vector<Seq> seqs{{prompt_ids(c, 2, {{1, 4, 6}}, 2, 21), {{1, 4, 6}}}, {prompt_ids(c, 7, {}, 0, 22), {}}};
  models::GenerationConfig g;
  g.max_new_tokens = 6;
  auto left = models::generate(*m, padded(c, seqs, {true, true}), g);
  auto right = models::generate(*m, padded(c, seqs, {false, false}), g);
  EXPECT_EQ(left.tokens, right.tokens);
  for (size_t b = 0; b < seqs.size(); ++b) {
    models::GenerationPrompt p{seqs[b].ids, {}};
    for (size_t i = 0; i < seqs[b].grids.size(); ++i) {
      p.images.push_back({pixels(c, seqs[b].grids, 100 + b), seqs[b].grids[i]});
    }
    auto single = models::generate(*m, std::vector<models::GenerationPrompt>{p}, g);
    EXPECT_EQ(single.tokens[0], left.tokens[b]) << b;
    EXPECT_EQ(single.tokens[0].size(), 6u);
  }
}

TEST(Generation, StopTokensAndSeededSampling) {
  QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen25VL, 81, &c);
  std::vector<Seq> seqs{{prompt_ids(c, 5, {}, 0, 31), {}}};
  auto in = padded(c, seqs, {true});
  models::GenerationConfig g;
  g.max_new_tokens = 5;
  auto greedy = models::generate(*m, in, g);
  ASSERT_EQ(greedy.tokens[0].size(), 5u);
  g.stop_token_ids = {greedy.tokens[0][2]};
  auto stopped = models::generate(*m, in, g);
  EXPECT_TRUE(stopped.stopped[0]);
  const auto first_stop = std::find(greedy.tokens[0].begin(), greedy.tokens[0].end(), greedy.tokens[0][2]) - greedy.tokens[0].begin();
  EXPECT_EQ(stopped.tokens[0], std::vector<int32_t>(greedy.tokens[0].begin(), greedy.tokens[0].begin() + first_stop));

  g.stop_token_ids.clear();
  g.do_sample = true;
  g.temperature = 1.5;
  g.top_k = 50;
  g.top_p = 0.9;
  g.repetition_penalty = 1.3;
  g.max_new_tokens = 12;
  g.seed = 5;
  auto a = models::generate(*m, in, g);
  auto b = models::generate(*m, in, g);
  EXPECT_EQ(a.tokens, b.tokens);
  g.seed = 6;
  auto d = models::generate(*m, in, g);
  EXPECT_NE(a.tokens, d.tokens);
}

TEST(Generation, RowSeedsMakeSamplingIndependentOfTheBatch) {
  QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen25VL, 91, &c);
  models::GenerationConfig g;
  g.do_sample = true;
  g.max_new_tokens = 8;
  std::vector<models::GenerationPrompt> prompts;
  for (uint64_t i = 0; i < 3; ++i) {
    models::GenerationPrompt p{prompt_ids(c, 3 + static_cast<int64_t>(i), {{1, 4, 4}}, 2, 40 + i), {}, 700 + i};
    p.images.push_back({pixels(c, {{1, 4, 4}}, 50 + i), {1, 4, 4}});
    prompts.push_back(std::move(p));
  }
  auto batch = models::generate(*m, prompts, g);
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto alone = models::generate(*m, std::vector<models::GenerationPrompt>{prompts[i]}, g);
    EXPECT_EQ(alone.tokens[0], batch.tokens[i]) << i;
  }
  // The draws follow the seed, not the position: swapping seeds changes the rows' outputs.
  auto swapped = prompts;
  std::swap(swapped[0].seed, swapped[1].seed);
  EXPECT_NE(models::generate(*m, swapped, g).tokens[0], batch.tokens[0]);
  // Without row seeds one generator serves the batch: a row's draws depend on the rows before it.
  for (auto& p : prompts) p.seed.reset();
  auto shared = models::generate(*m, prompts, g);
  auto second_alone = models::generate(*m, std::vector<models::GenerationPrompt>{prompts[1]}, g);
  EXPECT_NE(shared.tokens[1], second_alone.tokens[0]);
}

TEST(Generation, LogitsProcessorsFollowTransformers) {
  at::Tensor logits = at::tensor({2.0, -1.0, 0.5, 1.0, -3.0}, at::kFloat).view({1, 5});
  at::Tensor seen = at::tensor({1, 1, 0, 0, 0}, at::kLong).to(at::kBool).view({1, 5});
  models::GenerationConfig g;
  g.repetition_penalty = 2.0;
  at::Tensor r = models::process_logits(logits, seen, g);
  EXPECT_FLOAT_EQ(r[0][0].item<float>(), 1.0f);   // positive: divided
  EXPECT_FLOAT_EQ(r[0][1].item<float>(), -2.0f);  // negative: multiplied
  g.repetition_penalty = 1.0;
  g.do_sample = true;
  g.top_k = 2;
  r = models::process_logits(logits, seen, g);
  EXPECT_EQ(at::isfinite(r).sum().item<int64_t>(), 2);
  g.top_k = 0;
  g.top_p = 0.5;  // softmax of [2, 1, .5, -1, -3]: the best token alone holds > 50%
  r = models::process_logits(logits, seen, g);
  EXPECT_EQ(at::isfinite(r).sum().item<int64_t>(), 1);
  EXPECT_TRUE(at::isfinite(r[0][0]).item<bool>());
}

}  // namespace
}  // namespace ec::test
