#include "models/qwen_vl/model.h"

#include <ATen/ATen.h>

#include "editcaption/core/check.h"
#include "editcaption/dist/group.h"
#include "editcaption/dist/tp_group.h"
#include "models/nn/shape.h"
#include "models/qwen_vl/positions.h"

namespace ec::nn {
namespace {

at::Tensor expand3(const at::Tensor& pos) { return pos.unsqueeze(0).expand({3, pos.size(0), pos.size(1)}).contiguous(); }

// The id after each row's last real token, from given position ids.
at::Tensor next_from(const at::Tensor& position_ids, const at::Tensor& valid) {
  at::Tensor top = std::get<0>(position_ids.max(0)).masked_fill(valid.logical_not(), -1);
  return std::get<0>(top.max(1)) + 1;
}

bool all_valid(const at::Tensor& mask) { return !mask.defined() || mask.all().item<bool>(); }

}  // namespace

QwenVLImpl::QwenVLImpl(QwenVLOptions o) : options(std::move(o)) { reset(); }

void QwenVLImpl::reset() {
  const auto& c = options.config;
  models::check_architecture(c, "model");
  VisionTowerOptions vo(c.vision, c.family);
  vo.attention = c.attention;
  vo.activation_checkpointing = c.activation_checkpointing;
  visual = register_module("visual", VisionTower(vo));
  TextDecoderOptions to(c.text, c.family);
  to.attention = c.attention;
  to.activation_checkpointing = c.activation_checkpointing;
  to.tp = options.tp;
  language_model = register_module("language_model", TextDecoder(to));
  // Vocab-parallel under tensor parallelism: the untied head holds the same rows as the embedding.
  const dist::ShardRange vocab = to.vocab_range();
  if (!c.tie_word_embeddings) {
    lm_head = register_module("lm_head", Linear(LinearOptions(c.text.hidden_size, vocab.size(), false)));
  }
  vocab_shard_.reset();
  if (dist::tp_size(options.tp) > 1) {
    const dist::TpGroup* tp = options.tp;
    auto shard = std::make_shared<kernels::VocabShard>();
    shard->rank = tp->rank();
    shard->size = tp->size();
    shard->vocab_start = vocab.begin;
    shard->vocab_size = c.text.vocab_size;
    // The kernels' split rule and tp_shard.h's agree for the even splits tp_vocab_range allows.
    EC_CHECK(kernels::vocab_shard_range(c.text.vocab_size, shard->rank, shard->size) ==
                 std::make_pair(vocab.begin, vocab.end),
             "vocab shard rules disagree for a vocabulary of {} over {} ranks", c.text.vocab_size, shard->size);
    // Through the group (not its raw backend): its timeout, liveness diagnosis and collective count.
    shard->all_reduce = [tp](at::Tensor& t, kernels::ShardReduce op) {
      const dist::ReduceOp r = op == kernels::ShardReduce::Sum   ? dist::ReduceOp::Sum
                               : op == kernels::ShardReduce::Max ? dist::ReduceOp::Max
                                                                 : dist::ReduceOp::Min;
      tp->group().all_reduce(t, r, dist::WaitMode::Stream);
    };
    vocab_shard_ = std::move(shard);
  }
}

VisionOutput QwenVLImpl::encode_images(const at::Tensor& pixel_values, const at::Tensor& grid_thw) {
  EC_USER_CHECK(grid_thw.defined(), Input, "pixel_values given without image_grid_thw");
  return visual->forward(pixel_values, grid_thw);
}

QwenVLImpl::Embedded QwenVLImpl::embed(const at::Tensor& input_ids, const at::Tensor& pixel_values,
                                       const at::Tensor& grid_thw, const VisionOutput* vision) {
  const at::Tensor& table = language_model->embed_tokens->weight;
  at::Tensor ids = input_ids.to(table.device(), at::kLong);
  const auto vocab = options.config.text.vocab_size;
  if (ids.numel() > 0) {
    EC_USER_CHECK(ids.min().item<int64_t>() >= 0 && ids.max().item<int64_t>() < vocab, Input,
                  "input_ids must lie in [0, {}), got [{}, {}]", vocab, ids.min().item<int64_t>(), ids.max().item<int64_t>());
  }
  Embedded e;
  e.embeds = language_model->embed(ids);  // vocab-parallel under tp: summed over the group
  at::Tensor is_image = ids.flatten() == options.config.image_token_id;
  const int64_t n_tokens = is_image.sum().item<int64_t>();
  if (!pixel_values.defined()) {
    EC_USER_CHECK(n_tokens == 0, Input, "the tokens hold {} image-pad tokens but no pixel_values were given", n_tokens);
    return e;
  }
  VisionOutput v = vision ? *vision : encode_images(pixel_values, grid_thw);
  EC_USER_CHECK(v.embeds.size(0) == n_tokens, Input,
                "image features and image tokens do not match: {} image-pad tokens, {} merged visual tokens", n_tokens,
                v.embeds.size(0));
  const int64_t B = ids.size(0), L = ids.size(1), d = e.embeds.size(2);
  e.visual_positions = is_image.nonzero().squeeze(1);
  e.embeds = e.embeds.reshape({B * L, d}).index_copy(0, e.visual_positions, v.embeds.to(e.embeds.scalar_type())).view({B, L, d});
  e.deepstack = std::move(v.deepstack);
  return e;
}

at::Tensor QwenVLImpl::lm_head_weight() const {
  return lm_head ? lm_head->weight : language_model->embed_tokens->weight;
}

at::Tensor QwenVLImpl::logits(const at::Tensor& hidden) {
  if (dist::tp_size(options.tp) == 1) {
    return lm_head ? lm_head->forward(hidden) : at::linear(hidden, language_model->embed_tokens->weight);
  }
  // Column-parallel over the vocabulary with the output gathered: every rank gets the full logits;
  // tp_copy sums the partial hidden-state gradients of the ranks' slices.
  at::Tensor h = dist::tp_copy(hidden, options.tp);
  at::Tensor local = lm_head ? lm_head->forward(h) : at::linear(h, language_model->embed_tokens->weight);
  return dist::tp_gather_last(local, options.tp);
}

ForwardOutput QwenVLImpl::finish(const at::Tensor& hidden, const ForwardOptions& o) {
  ForwardOutput out;
  if (o.return_hidden) out.hidden = hidden;
  if (o.return_logits) out.logits = logits(hidden);
  return out;
}

ForwardOutput QwenVLImpl::forward(const data::ModelInputs& in, const ForwardOptions& o) {
  EC_USER_CHECK(in.input_ids.defined() && in.input_ids.dim() == 2, Input, "input_ids must be [B, L]");
  Embedded e = embed(in.input_ids, in.pixel_values, in.image_grid_thw, o.vision);
  const at::Device dev = e.embeds.device();
  DecoderRun run;
  run.embeds = e.embeds;
  run.visual_positions = e.visual_positions;
  run.deepstack = e.deepstack;
  if (in.packed()) {
    EC_USER_CHECK(in.input_ids.size(0) == 1, Input, "packed input_ids must be [1, T], got {}", shape_str(in.input_ids));
    run.mask = varlen_mask(in.cu_seqlens, true, dev);
    EC_USER_CHECK(run.mask.offsets.front() == 0 && run.mask.offsets.back() == in.input_ids.size(1), Input,
                  "cu_seqlens must run from 0 to the packed length {}", in.input_ids.size(1));
    run.position_ids = in.position_ids.defined()
                           ? in.position_ids
                           : models::packed_positions(in.input_ids, in.cu_seqlens, in.image_grid_thw, options.config).position_ids;
  } else {
    run.mask = all_valid(in.attention_mask) ? causal_mask()
                                            : padded_causal_mask(in.attention_mask.to(dev, at::kBool), in.input_ids.size(1));
    run.position_ids = in.position_ids.defined()
                           ? in.position_ids
                           : models::batch_positions(in.input_ids, in.attention_mask, in.image_grid_thw, options.config).position_ids;
  }
  run.position_ids = run.position_ids.to(dev);
  return finish(language_model->forward(run), o);
}

PrefixOutput QwenVLImpl::forward_prefix(const data::ModelInputs& in, const ForwardOptions& o) {
  EC_USER_CHECK(in.input_ids.defined() && in.input_ids.dim() == 2, Input, "prompt input_ids must be [B, L]");
  Embedded e = embed(in.input_ids, in.pixel_values, in.image_grid_thw, o.vision);
  const at::Device dev = e.embeds.device();
  const int64_t L = in.input_ids.size(1);
  DecoderRun run;
  run.embeds = e.embeds;
  run.visual_positions = e.visual_positions;
  run.deepstack = e.deepstack;
  PrefixOutput out;
  out.state.kv.resize(static_cast<size_t>(options.config.text.num_layers));
  run.record = [&out](int64_t i, const LayerKv& kv) { out.state.kv[static_cast<size_t>(i)] = kv; };
  at::Tensor valid;  // [B, L] for padded prompts
  if (in.packed()) {
    run.mask = varlen_mask(in.cu_seqlens, true, dev);
    if (in.position_ids.defined()) {
      run.position_ids = in.position_ids;
    } else {
      auto p = models::packed_positions(in.input_ids, in.cu_seqlens, in.image_grid_thw, options.config);
      run.position_ids = p.position_ids;
    }
  } else {
    valid = in.attention_mask.defined() ? in.attention_mask.to(dev, at::kBool)
                                        : at::ones({in.input_ids.size(0), L}, at::TensorOptions(dev).dtype(at::kBool));
    run.mask = all_valid(valid) ? causal_mask() : padded_causal_mask(valid, L);
    run.position_ids = in.position_ids.defined()
                           ? in.position_ids
                           : models::batch_positions(in.input_ids, valid, in.image_grid_thw, options.config).position_ids;
  }
  run.position_ids = run.position_ids.to(dev);
  at::Tensor hidden = language_model->forward(run);
  out.output = finish(hidden, o);

  PrefixState& s = out.state;
  if (in.packed()) {
    // Re-lay the packed keys/values as [P, Hkv, Lmax, hd], right-padded.
    const auto& off = run.mask.offsets;
    const int64_t P = static_cast<int64_t>(off.size()) - 1, Lmax = run.mask.max_seqlen;
    std::vector<int64_t> gather(static_cast<size_t>(P * Lmax), 0), last(static_cast<size_t>(P));
    at::Tensor key_valid = at::zeros({P, Lmax}, at::kBool);
    at::Tensor next = at::zeros({P}, at::kLong);
    at::Tensor pos_max = std::get<0>(run.position_ids.select(1, 0).max(0)).to(at::kCPU);
    for (int64_t p = 0; p < P; ++p) {
      const int64_t len = off[p + 1] - off[p];
      EC_USER_CHECK(len > 0, Input, "packed prompt {} is empty", p);
      for (int64_t j = 0; j < len; ++j) gather[static_cast<size_t>(p * Lmax + j)] = off[p] + j;
      key_valid[p].narrow(0, 0, len).fill_(true);
      last[static_cast<size_t>(p)] = off[p + 1] - 1;
      next[p] = pos_max.narrow(0, off[p], len).max().item<int64_t>() + 1;
    }
    at::Tensor index = at::tensor(gather, at::kLong).to(dev);
    for (auto& kv : s.kv) {
      auto relayout = [&](const at::Tensor& t) {
        return t[0].index_select(1, index).view({t.size(1), P, Lmax, t.size(3)}).transpose(0, 1);
      };
      kv = {relayout(kv.k), relayout(kv.v)};
    }
    s.key_valid = key_valid.to(dev);
    s.next_position = next.to(dev);
    s.last_hidden = hidden[0].index_select(0, at::tensor(last, at::kLong).to(dev));
  } else {
    s.key_valid = valid;
    s.next_position = next_from(run.position_ids, valid);
    at::Tensor cols = at::arange(L, at::TensorOptions(dev).dtype(at::kLong));
    at::Tensor last = std::get<0>((cols.unsqueeze(0) * valid.to(at::kLong)).max(1));
    s.last_hidden = hidden.index({at::arange(hidden.size(0), last.options()), last});
  }
  return out;
}

ForwardOutput QwenVLImpl::forward_continuation(const PrefixState& prefix, const ContinuationInputs& in,
                                               const ForwardOptions& o) {
  EC_USER_CHECK(in.input_ids.defined() && in.input_ids.dim() == 2, Input, "continuation input_ids must be [A, L]");
  Embedded e = embed(in.input_ids, {}, {});
  const at::Device dev = e.embeds.device();
  const int64_t A = in.input_ids.size(0), L = in.input_ids.size(1);
  EC_USER_CHECK(in.prefix_index.defined() && in.prefix_index.numel() == A, Input,
                "prefix_index must name one prompt per continuation ({})", A);
  at::Tensor idx = in.prefix_index.to(dev, at::kLong);
  at::Tensor valid = in.attention_mask.defined() ? in.attention_mask.to(dev, at::kBool)
                                                 : at::ones({A, L}, at::TensorOptions(dev).dtype(at::kBool));
  at::Tensor start = prefix.next_position.index_select(0, idx);
  DecoderRun run;
  run.embeds = e.embeds;
  run.position_ids = expand3(start.unsqueeze(1) + at::arange(L, start.options()).unsqueeze(0));
  run.mask = padded_causal_mask(at::cat({prefix.key_valid.index_select(0, idx), valid}, 1), L);
  run.past = [&prefix, &idx](int64_t i) {
    const LayerKv& kv = prefix.kv[static_cast<size_t>(i)];
    return LayerKv{kv.k.index_select(0, idx), kv.v.index_select(0, idx)};
  };
  return finish(language_model->forward(run), o);
}

ForwardOutput QwenVLImpl::prefill(const data::ModelInputs& in, models::KvCache& cache, const ForwardOptions& o) {
  EC_USER_CHECK(!in.packed(), Usage, "prefill takes a padded batch, not a packed one");
  EC_CHECK(cache.empty(), "prefill needs an empty KV cache");
  EC_USER_CHECK(in.input_ids.defined() && in.input_ids.dim() == 2, Input, "input_ids must be [B, L]");
  Embedded e = embed(in.input_ids, in.pixel_values, in.image_grid_thw);
  const at::Device dev = e.embeds.device();
  const int64_t B = in.input_ids.size(0), L = in.input_ids.size(1);
  at::Tensor valid = in.attention_mask.defined() ? in.attention_mask.to(dev, at::kBool)
                                                 : at::ones({B, L}, at::TensorOptions(dev).dtype(at::kBool));
  DecoderRun run;
  run.embeds = e.embeds;
  run.visual_positions = e.visual_positions;
  run.deepstack = e.deepstack;
  run.mask = all_valid(valid) ? causal_mask() : padded_causal_mask(valid, L);
  run.position_ids = (in.position_ids.defined()
                          ? in.position_ids
                          : models::batch_positions(in.input_ids, valid, in.image_grid_thw, options.config).position_ids)
                         .to(dev);
  run.record = [&cache](int64_t i, const LayerKv& kv) { cache.write(i, kv); };
  ForwardOutput out = finish(language_model->forward(run), o);
  cache.commit(valid);
  cache.next_position = next_from(run.position_ids, valid);
  return out;
}

ForwardOutput QwenVLImpl::decode_step(const at::Tensor& input_ids, models::KvCache& cache, const ForwardOptions& o) {
  EC_CHECK(!cache.empty(), "decode_step needs a filled KV cache (run prefill first)");
  EC_USER_CHECK(input_ids.dim() == 2 && input_ids.size(0) == cache.batch_size(), Input,
                "decode_step takes [{}, n] token ids, got {}", cache.batch_size(), shape_str(input_ids));
  Embedded e = embed(input_ids, {}, {});
  const at::Device dev = e.embeds.device();
  const int64_t B = input_ids.size(0), n = input_ids.size(1);
  at::Tensor fresh = at::ones({B, n}, at::TensorOptions(dev).dtype(at::kBool));
  DecoderRun run;
  run.embeds = e.embeds;
  run.position_ids = expand3(cache.next_position.unsqueeze(1) + at::arange(n, cache.next_position.options()).unsqueeze(0));
  run.mask = padded_causal_mask(at::cat({cache.key_valid(), fresh}, 1), n);
  run.past = [&cache](int64_t i) { return cache.view(i); };
  run.record = [&cache](int64_t i, const LayerKv& kv) { cache.write(i, kv); };
  ForwardOutput out = finish(language_model->forward(run), o);
  cache.commit(fresh);
  cache.next_position = cache.next_position + n;
  return out;
}

}  // namespace ec::nn
