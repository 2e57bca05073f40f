#include "editcaption/data/collate.h"

#include <ATen/ATen.h>

#include <algorithm>

#include "editcaption/core/check.h"
#include "editcaption/data/mrope.h"

namespace ec::data {
namespace {

std::vector<GridThw> grids_of(std::span<const ProcessedImage> images) {
  std::vector<GridThw> g;
  g.reserve(images.size());
  for (const auto& im : images) g.push_back(im.grid_thw);
  return g;
}

void pin(at::Tensor& t) {
  if (t.defined() && !t.is_pinned()) t = t.pin_memory();
}

/// Owned storage for sequences built by concatenation (DPO layouts).
struct OwnedSequence {
  std::vector<int32_t> ids;
  std::vector<int64_t> labels;
  int64_t position_start = 0;
  std::span<const ProcessedImage> images;
};

std::vector<SequenceView> views_of(const std::vector<OwnedSequence>& owned) {
  std::vector<SequenceView> v;
  v.reserve(owned.size());
  for (const auto& o : owned) v.push_back({o.ids, o.labels, o.images, o.position_start});
  return v;
}

}  // namespace

std::vector<int64_t> answer_labels(size_t prompt_length, std::span<const int32_t> answer) {
  EC_CHECK(prompt_length > 0, "an answer needs a prompt before it");
  std::vector<int64_t> labels(prompt_length + answer.size(), kIgnoreIndex);
  for (size_t j = 0; j < answer.size(); ++j) labels[prompt_length - 1 + j] = answer[j];
  return labels;
}

ModelInputs collate_sequences(std::span<const SequenceView> seqs, const CollateOptions& o) {
  EC_CHECK(!seqs.empty(), "collate of an empty batch");
  const int64_t S = static_cast<int64_t>(seqs.size());
  std::vector<at::Tensor> positions;
  std::vector<at::Tensor> pixels;
  std::vector<int64_t> grid_flat;
  int64_t total = 0, longest = 0;
  for (int64_t s = 0; s < S; ++s) {
    const SequenceView& q = seqs[s];
    const int64_t n = static_cast<int64_t>(q.input_ids.size());
    EC_CHECK(n > 0, "sequence {} of the batch is empty", s);
    EC_CHECK(q.labels.size() == q.input_ids.size(), "sequence {}: {} labels for {} tokens", s, q.labels.size(), n);
    // Shifted labels: the last position would predict the next sequence's first token.
    EC_CHECK(q.labels.back() == kIgnoreIndex, "sequence {}: its last position carries a label", s);
    std::vector<GridThw> grids = grids_of(q.images);
    positions.push_back(mrope_positions(q.input_ids, grids, o.special, o.merge_size, q.position_start).ids);
    for (const auto& im : q.images) {
      pixels.push_back(im.pixel_values);
      grid_flat.insert(grid_flat.end(), im.grid_thw.begin(), im.grid_thw.end());
    }
    total += n;
    longest = std::max(longest, n);
  }

  ModelInputs out;
  if (o.packed) {
    out.input_ids = at::empty({1, total}, at::kLong);
    out.labels = at::empty({1, total}, at::kLong);
    out.position_ids = at::empty({3, 1, total}, at::kLong);
    out.cu_seqlens = at::empty({S + 1}, at::kInt);
    int64_t* ids = out.input_ids.data_ptr<int64_t>();
    int64_t* labels = out.labels.data_ptr<int64_t>();
    int32_t* cu = out.cu_seqlens.data_ptr<int32_t>();
    auto pos = out.position_ids.accessor<int64_t, 3>();
    int64_t offset = 0;
    cu[0] = 0;
    for (int64_t s = 0; s < S; ++s) {
      const SequenceView& q = seqs[s];
      auto p = positions[s].accessor<int64_t, 2>();
      for (size_t i = 0; i < q.input_ids.size(); ++i) {
        ids[offset + i] = q.input_ids[i];
        labels[offset + i] = q.labels[i];
        for (int a = 0; a < 3; ++a) pos[a][0][offset + i] = p[a][i];
      }
      offset += static_cast<int64_t>(q.input_ids.size());
      EC_CHECK(offset <= INT32_MAX, "packed batch of {} tokens overflows int32 cu_seqlens", offset);
      cu[s + 1] = static_cast<int32_t>(offset);
    }
    out.max_seqlen = longest;
  } else {
    const int64_t L = (longest + o.pad_to_multiple - 1) / o.pad_to_multiple * o.pad_to_multiple;
    out.input_ids = at::full({S, L}, static_cast<int64_t>(o.special.endoftext), at::kLong);
    out.labels = at::full({S, L}, kIgnoreIndex, at::kLong);
    out.attention_mask = at::zeros({S, L}, at::kBool);
    // Padding positions are 1, as transformers' get_rope_index leaves them.
    out.position_ids = at::ones({3, S, L}, at::kLong);
    auto ids = out.input_ids.accessor<int64_t, 2>();
    auto labels = out.labels.accessor<int64_t, 2>();
    auto mask = out.attention_mask.accessor<bool, 2>();
    auto pos = out.position_ids.accessor<int64_t, 3>();
    for (int64_t s = 0; s < S; ++s) {
      const SequenceView& q = seqs[s];
      auto p = positions[s].accessor<int64_t, 2>();
      for (size_t i = 0; i < q.input_ids.size(); ++i) {
        ids[s][i] = q.input_ids[i];
        labels[s][i] = q.labels[i];
        mask[s][i] = true;
        for (int a = 0; a < 3; ++a) pos[a][s][i] = p[a][i];
      }
    }
    out.max_seqlen = longest;
  }
  if (!pixels.empty()) {
    out.pixel_values = at::cat(pixels, 0);
    out.image_grid_thw =
        at::from_blob(grid_flat.data(), {static_cast<int64_t>(grid_flat.size() / 3), 3}, at::kLong).clone();
  }
  return out;
}

SftBatch collate_sft(std::span<const Sample> samples, const CollateOptions& o) {
  std::vector<SequenceView> views;
  SftBatch batch;
  for (const Sample& s : samples) {
    views.push_back({s.input_ids, s.labels, s.images, 0});
    batch.ids.push_back(s.id);
    batch.categories.push_back(s.category ? static_cast<int64_t>(*s.category) : -1);
  }
  batch.inputs = collate_sequences(views, o);
  return batch;
}

PairBatch collate_pairs(std::span<const PairSample> pairs, const CollateOptions& o, PairLayout layout) {
  EC_CHECK(!pairs.empty(), "collate of an empty pair batch");
  const int64_t P = static_cast<int64_t>(pairs.size());
  PairBatch batch;
  batch.layout = layout;
  std::vector<float> weight, margin;
  std::vector<uint8_t> has_margin;
  std::vector<int64_t> error_type, severity;
  for (const PairSample& p : pairs) {
    EC_CHECK(!p.prompt_ids.empty() && !p.chosen_ids.empty() && !p.rejected_ids.empty(), "pair {} has an empty part", p.id);
    batch.ids.push_back(p.id);
    weight.push_back(static_cast<float>(p.weight));
    margin.push_back(static_cast<float>(p.margin.value_or(0.0)));
    has_margin.push_back(p.margin.has_value());
    error_type.push_back(p.error_type ? static_cast<int64_t>(*p.error_type) : -1);
    severity.push_back(p.severity ? static_cast<int64_t>(*p.severity) : -1);
  }
  batch.weight = at::tensor(weight);
  batch.margin = at::tensor(margin);
  batch.has_margin = at::tensor(at::ArrayRef<uint8_t>(has_margin)).to(at::kBool);
  batch.error_type = at::tensor(error_type);
  batch.severity = at::tensor(severity);

  if (layout == PairLayout::Separate) {
    std::vector<OwnedSequence> seqs;
    seqs.reserve(2 * P);
    for (int which = 0; which < 2; ++which) {
      for (const PairSample& p : pairs) {
        const std::vector<int32_t>& answer = which == 0 ? p.chosen_ids : p.rejected_ids;
        OwnedSequence s;
        s.ids = p.prompt_ids;
        s.ids.insert(s.ids.end(), answer.begin(), answer.end());
        s.labels = answer_labels(p.prompt_ids.size(), answer);
        s.images = p.images;
        seqs.push_back(std::move(s));
      }
    }
    batch.inputs = collate_sequences(views_of(seqs), o);
    return batch;
  }

  // Shared prefix: prompts once, answers continuing them.
  std::vector<OwnedSequence> prompts, answers;
  std::vector<int64_t> next_position;
  for (const PairSample& p : pairs) {
    OwnedSequence s;
    s.ids = p.prompt_ids;
    s.labels.assign(p.prompt_ids.size(), kIgnoreIndex);
    s.images = p.images;
    std::vector<GridThw> grids = grids_of(p.images);
    MropePositions m = mrope_positions(p.prompt_ids, grids, o.special, o.merge_size);
    next_position.push_back(static_cast<int64_t>(p.prompt_ids.size()) + m.rope_delta);
    prompts.push_back(std::move(s));
  }
  std::vector<int64_t> answer_prompt, first_token;
  for (int which = 0; which < 2; ++which) {
    for (int64_t i = 0; i < P; ++i) {
      const std::vector<int32_t>& answer = which == 0 ? pairs[i].chosen_ids : pairs[i].rejected_ids;
      OwnedSequence s;
      s.ids = answer;
      s.labels.assign(answer.size(), kIgnoreIndex);
      for (size_t j = 0; j + 1 < answer.size(); ++j) s.labels[j] = answer[j + 1];
      s.position_start = next_position[i];
      answers.push_back(std::move(s));
      answer_prompt.push_back(i);
      first_token.push_back(answer[0]);
    }
  }
  batch.inputs = collate_sequences(views_of(prompts), o);
  batch.answers = collate_sequences(views_of(answers), o);
  batch.answer_prompt = at::tensor(answer_prompt);
  batch.answer_first_token = at::tensor(first_token);
  std::vector<int64_t> last(P);
  for (int64_t p = 0; p < P; ++p) {
    if (o.packed) {
      last[p] = batch.inputs.cu_seqlens[p + 1].item<int32_t>() - 1;
    } else {
      last[p] = p * batch.inputs.input_ids.size(1) + static_cast<int64_t>(pairs[p].prompt_ids.size()) - 1;
    }
  }
  batch.prompt_last_index = at::tensor(last);
  return batch;
}

void pin_memory(ModelInputs& in) {
  for (at::Tensor* t : {&in.input_ids, &in.position_ids, &in.attention_mask, &in.cu_seqlens, &in.pixel_values,
                        &in.image_grid_thw, &in.labels}) {
    pin(*t);
  }
}

void pin_memory(SftBatch& batch) { pin_memory(batch.inputs); }

void pin_memory(PairBatch& b) {
  pin_memory(b.inputs);
  pin_memory(b.answers);
  for (at::Tensor* t : {&b.answer_prompt, &b.answer_first_token, &b.prompt_last_index, &b.weight, &b.margin,
                        &b.has_margin, &b.error_type, &b.severity}) {
    pin(*t);
  }
}

}  // namespace ec::data
