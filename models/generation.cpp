#include "models/generation.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>

#include "editcaption/core/check.h"
#include "models/qwen_vl/kv_cache.h"

namespace ec::models {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Moves every row's real tokens (and their position ids) to the right end: after prefill, the
// last column holds each row's last prompt token.
data::ModelInputs left_align(const data::ModelInputs& in) {
  const int64_t B = in.input_ids.size(0), L = in.input_ids.size(1);
  at::Tensor mask = in.attention_mask.defined() ? in.attention_mask.to(at::kCPU, at::kBool) : at::ones({B, L}, at::kBool);
  std::vector<int64_t> gather(static_cast<size_t>(B * L), 0);
  at::Tensor left_mask = at::zeros({B, L}, at::kBool);
  auto m = mask.accessor<bool, 2>();
  for (int64_t b = 0; b < B; ++b) {
    std::vector<int64_t> real;
    for (int64_t i = 0; i < L; ++i) {
      if (m[b][i]) real.push_back(i);
    }
    EC_USER_CHECK(!real.empty(), Input, "generation prompt {} has no tokens", b);
    const int64_t pad = L - static_cast<int64_t>(real.size());
    for (size_t j = 0; j < real.size(); ++j) gather[static_cast<size_t>(b * L + pad + static_cast<int64_t>(j))] = real[j];
    left_mask[b].narrow(0, pad, L - pad).fill_(true);
  }
  at::Tensor index = at::tensor(gather, at::kLong).view({B, L}).to(in.input_ids.device());
  data::ModelInputs out = in;
  out.input_ids = in.input_ids.gather(1, index).masked_fill(left_mask.to(index.device()).logical_not(), 0);
  out.attention_mask = left_mask.to(in.input_ids.device());
  if (in.position_ids.defined()) {
    at::Tensor pi = index.to(in.position_ids.device()).unsqueeze(0).expand({3, B, L});
    out.position_ids = in.position_ids.gather(2, pi).masked_fill(left_mask.to(pi.device()).logical_not().unsqueeze(0), 0);
  }
  return out;
}

}  // namespace

at::Tensor process_logits(const at::Tensor& logits, const at::Tensor& seen, const GenerationConfig& c) {
  at::Tensor s = logits.to(at::kFloat);
  if (c.repetition_penalty != 1.0 && seen.defined()) {
    at::Tensor penalised = at::where(s < 0, s * c.repetition_penalty, s / c.repetition_penalty);
    s = at::where(seen.to(s.device()), penalised, s);
  }
  if (!c.do_sample) return s;
  if (c.temperature != 1.0) s = s / c.temperature;
  if (c.top_k > 0) {
    const int64_t k = std::min(c.top_k, s.size(-1));
    at::Tensor kth = std::get<0>(at::topk(s, k)).narrow(-1, k - 1, 1);
    s = s.masked_fill(s < kth, kNegInf);
  }
  if (c.top_p < 1.0) {
    auto [sorted, order] = at::sort(s, -1, /*descending=*/false);
    at::Tensor cumulative = sorted.softmax(-1).cumsum(-1);
    at::Tensor remove = cumulative <= (1.0 - c.top_p);
    remove.narrow(-1, remove.size(-1) - 1, 1).fill_(false);  // keep at least the best token
    s = s.masked_fill(remove.scatter(-1, order, remove), kNegInf);
  }
  return s;
}

GenerationResult generate(nn::QwenVLImpl& model, const data::ModelInputs& batch, const GenerationConfig& c,
                          const std::vector<uint64_t>& row_seeds) {
  at::NoGradGuard no_grad;
  EC_USER_CHECK(!batch.packed(), Usage, "generation takes a padded batch of prompts");
  EC_USER_CHECK(batch.input_ids.defined() && batch.input_ids.dim() == 2, Input, "prompt input_ids must be [B, L]");
  const data::ModelInputs in = left_align(batch);
  const int64_t B = in.input_ids.size(0), L = in.input_ids.size(1), V = model.config().text.vocab_size;
  const at::Device dev = model.lm_head_weight().device();

  KvCache cache(L + c.max_new_tokens);
  nn::ForwardOptions hidden_only{/*return_logits=*/false, /*return_hidden=*/true};
  at::Tensor hidden = model.prefill(in, cache, hidden_only).hidden.select(1, L - 1);

  const bool simple = !c.do_sample && c.repetition_penalty == 1.0;
  at::Tensor seen;
  if (c.repetition_penalty != 1.0) {
    seen = at::zeros({B, V}, at::kBool);
    at::Tensor ids = in.input_ids.to(at::kCPU, at::kLong).contiguous();
    at::Tensor mask = in.attention_mask.to(at::kCPU, at::kBool).contiguous();
    auto sa = seen.accessor<bool, 2>();
    auto ia = ids.accessor<int64_t, 2>();
    auto ma = mask.accessor<bool, 2>();
    for (int64_t b = 0; b < B; ++b) {
      for (int64_t i = 0; i < L; ++i) {
        if (ma[b][i]) sa[b][ia[b][i]] = true;
      }
    }
  }
  EC_CHECK(row_seeds.empty() || static_cast<int64_t>(row_seeds.size()) == B, "{} row seeds for {} rows",
           row_seeds.size(), B);
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(c.seed);
  std::vector<at::Generator> row_gens;
  for (uint64_t seed : row_seeds) row_gens.push_back(at::make_generator<at::CPUGeneratorImpl>(seed));
  GenerationResult r;
  r.tokens.assign(static_cast<size_t>(B), {});
  r.stopped.assign(static_cast<size_t>(B), false);
  std::vector<bool> done(static_cast<size_t>(B), false);
  for (int64_t step = 0; step < c.max_new_tokens; ++step) {
    at::Tensor logits = model.logits(hidden);
    at::Tensor next;
    if (simple) {
      next = logits.argmax(-1).to(at::kCPU);
    } else {
      at::Tensor scores = process_logits(logits.to(at::kCPU, at::kFloat), seen, c);
      if (!c.do_sample) {
        next = scores.argmax(-1);
      } else if (row_gens.empty()) {
        next = at::multinomial(scores.softmax(-1), 1, false, gen).squeeze(1);
      } else {
        // Finished rows draw nothing, so each row's stream depends on its own tokens only.
        at::Tensor probs = scores.softmax(-1);
        std::vector<int64_t> drawn(static_cast<size_t>(B), c.pad_token_id);
        for (int64_t b = 0; b < B; ++b) {
          const auto i = static_cast<size_t>(b);
          if (!done[i]) drawn[i] = at::multinomial(probs[b], 1, false, row_gens[i]).item<int64_t>();
        }
        next = at::tensor(drawn, at::kLong);
      }
    }
    auto nx = next.accessor<int64_t, 1>();
    std::vector<int64_t> feed(static_cast<size_t>(B), c.pad_token_id);
    for (int64_t b = 0; b < B; ++b) {
      if (done[b]) continue;
      const int64_t tok = nx[b];
      if (std::find(c.stop_token_ids.begin(), c.stop_token_ids.end(), tok) != c.stop_token_ids.end()) {
        done[b] = true;
        r.stopped[b] = true;
        continue;
      }
      r.tokens[b].push_back(static_cast<int32_t>(tok));
      feed[b] = tok;
      if (seen.defined()) seen[b][tok] = true;
    }
    r.steps = step + 1;
    if (std::all_of(done.begin(), done.end(), [](bool d) { return d; }) || step + 1 == c.max_new_tokens) break;
    at::Tensor ids = at::tensor(feed, at::kLong).view({B, 1}).to(dev);
    hidden = model.decode_step(ids, cache, hidden_only).hidden.select(1, 0);
  }
  return r;
}

GenerationResult generate(nn::QwenVLImpl& model, const std::vector<GenerationPrompt>& prompts, const GenerationConfig& c) {
  EC_USER_CHECK(!prompts.empty(), Usage, "generation needs at least one prompt");
  const auto B = static_cast<int64_t>(prompts.size());
  int64_t L = 0;
  for (const auto& p : prompts) L = std::max<int64_t>(L, static_cast<int64_t>(p.input_ids.size()));
  at::Tensor ids = at::zeros({B, L}, at::kLong);
  at::Tensor mask = at::zeros({B, L}, at::kBool);
  std::vector<at::Tensor> pixels;
  std::vector<int64_t> grids;
  std::vector<uint64_t> seeds;
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[static_cast<size_t>(b)];
    EC_CHECK(p.seed.has_value() == prompts.front().seed.has_value(), "prompt {}: seeds must be given for all prompts or none", b);
    if (p.seed) seeds.push_back(*p.seed);
    const auto n = static_cast<int64_t>(p.input_ids.size());
    std::vector<int64_t> row(p.input_ids.begin(), p.input_ids.end());
    ids[b].narrow(0, L - n, n).copy_(at::tensor(row, at::kLong));
    mask[b].narrow(0, L - n, n).fill_(true);
    for (const auto& img : p.images) {
      pixels.push_back(img.pixel_values);
      grids.insert(grids.end(), img.grid_thw.begin(), img.grid_thw.end());
    }
  }
  const at::Device dev = model.lm_head_weight().device();
  data::ModelInputs batch;
  batch.input_ids = ids.to(dev);
  batch.attention_mask = mask.to(dev);
  if (!pixels.empty()) {
    batch.pixel_values = at::cat(pixels, 0).to(dev);
    batch.image_grid_thw = at::tensor(grids, at::kLong).view({-1, 3});
  }
  return generate(model, batch, c, seeds);
}

}  // namespace ec::models
