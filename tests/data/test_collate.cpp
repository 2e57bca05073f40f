// Collators: padded and packed batches carry the same per-sequence tokens, labels and M-RoPE
// positions (positions restart per packed segment, labels never cross a boundary); the two DPO
// layouts give every answer the same labelled tokens and positions.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "editcaption/core/error.h"
#include "editcaption/data/collate.h"
#include "editcaption/data/mrope.h"

namespace ec::data {
namespace {

SpecialTokenIds sp;

ProcessedImage image(int64_t gh, int64_t gw, float fill) {
  ProcessedImage im;
  im.grid_thw = {1, gh, gw};
  im.pixel_values = at::full({gh * gw, 1176}, fill);
  return im;
}

/// prompt: text, <vision_start> pads <vision_end> per image, text; then answer + im_end + "\n".
Sample make_sample(const std::string& id, std::vector<ProcessedImage> images, int prompt_text, int answer_len) {
  Sample s;
  s.id = id;
  s.input_ids = {sp.im_start, 100, 101};
  for (const auto& im : images) {
    s.input_ids.push_back(sp.vision_start);
    s.input_ids.insert(s.input_ids.end(), static_cast<size_t>(im.num_tokens()), sp.image_pad);
    s.input_ids.push_back(sp.vision_end);
  }
  for (int i = 0; i < prompt_text; ++i) s.input_ids.push_back(200 + i);
  s.input_ids.push_back(sp.im_end);
  const size_t prompt_len = s.input_ids.size();
  std::vector<int32_t> answer;
  for (int i = 0; i < answer_len; ++i) answer.push_back(300 + i);
  answer.push_back(sp.im_end);
  s.input_ids.insert(s.input_ids.end(), answer.begin(), answer.end());
  s.input_ids.push_back(198);  // "\n" after the end of turn: no label
  s.labels = answer_labels(prompt_len, answer);
  s.labels.push_back(kIgnoreIndex);
  s.images = std::move(images);
  s.category = EditCategory::Structural;
  return s;
}

std::vector<Sample> three_samples() {
  return {make_sample("a", {image(4, 6, 0.1f), image(6, 4, 0.2f)}, 5, 7),
          make_sample("b", {image(2, 2, 0.3f), image(8, 8, 0.4f)}, 1, 3),
          make_sample("c", {image(4, 4, 0.5f), image(4, 4, 0.6f)}, 9, 12)};
}

TEST(Collate, PackedAndPaddedCarryTheSameSequences) {
  auto samples = three_samples();
  CollateOptions o;
  o.special = sp;
  SftBatch padded = collate_sft(samples, o);
  o.packed = true;
  SftBatch packed = collate_sft(samples, o);

  ASSERT_FALSE(padded.inputs.packed());
  ASSERT_TRUE(packed.inputs.packed());
  const auto& P = padded.inputs;
  const auto& K = packed.inputs;
  EXPECT_EQ(P.input_ids.size(0), 3);
  EXPECT_EQ(K.input_ids.size(0), 1);
  EXPECT_EQ(K.cu_seqlens.scalar_type(), at::kInt);
  int64_t offset = 0;
  for (int64_t s = 0; s < 3; ++s) {
    const int64_t n = static_cast<int64_t>(samples[s].input_ids.size());
    EXPECT_EQ(K.cu_seqlens[s].item<int32_t>(), offset);
    at::Tensor ids_p = P.input_ids[s].slice(0, 0, n), ids_k = K.input_ids[0].slice(0, offset, offset + n);
    EXPECT_TRUE(ids_p.equal(ids_k));
    EXPECT_TRUE(P.labels[s].slice(0, 0, n).equal(K.labels[0].slice(0, offset, offset + n)));
    at::Tensor pos_p = P.position_ids.select(1, s).slice(1, 0, n);
    at::Tensor pos_k = K.position_ids.select(1, 0).slice(1, offset, offset + n);
    EXPECT_TRUE(pos_p.equal(pos_k));
    // Each packed segment restarts at 0 and equals get_rope_index of the sequence alone.
    std::vector<GridThw> grids{samples[s].images[0].grid_thw, samples[s].images[1].grid_thw};
    EXPECT_TRUE(pos_k.equal(mrope_positions(samples[s].input_ids, grids, sp).ids));
    EXPECT_EQ(pos_k[0][0].item<int64_t>(), 0);
    // Padding: masked, pad token, ignored label.
    EXPECT_TRUE(P.attention_mask[s].slice(0, 0, n).all().item<bool>());
    if (n < P.input_ids.size(1)) {
      EXPECT_FALSE(P.attention_mask[s].slice(0, n).any().item<bool>());
      EXPECT_TRUE(P.labels[s].slice(0, n).eq(kIgnoreIndex).all().item<bool>());
      EXPECT_TRUE(P.input_ids[s].slice(0, n).eq(sp.endoftext).all().item<bool>());
      EXPECT_TRUE(P.position_ids.select(1, s).slice(1, n).eq(1).all().item<bool>());
    }
    // The last position of every sequence has no label: nothing crosses into the next segment.
    EXPECT_EQ(K.labels[0][offset + n - 1].item<int64_t>(), kIgnoreIndex);
    offset += n;
  }
  EXPECT_EQ(K.cu_seqlens[3].item<int32_t>(), offset);
  EXPECT_EQ(K.max_seqlen, P.input_ids.size(1));
  // Labelled positions predict the next token of the same sequence.
  at::Tensor labels = K.labels[0], ids = K.input_ids[0];
  for (int64_t i = 0; i + 1 < offset; ++i) {
    int64_t l = labels[i].item<int64_t>();
    if (l != kIgnoreIndex) {
      EXPECT_EQ(l, ids[i + 1].item<int64_t>()) << i;
    }
  }
  // Images in order, the same in both layouts.
  EXPECT_TRUE(P.pixel_values.equal(K.pixel_values));
  EXPECT_EQ(P.image_grid_thw.size(0), 6);
  EXPECT_EQ(P.image_grid_thw[3][1].item<int64_t>(), 8);
  EXPECT_FLOAT_EQ(P.pixel_values[0][0].item<float>(), 0.1f);
  EXPECT_FLOAT_EQ(P.pixel_values[-1][0].item<float>(), 0.6f);
  EXPECT_EQ(padded.ids, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(padded.categories[0], static_cast<int64_t>(EditCategory::Structural));
}

TEST(Collate, PadToMultiple) {
  auto samples = three_samples();
  CollateOptions o;
  o.pad_to_multiple = 64;
  EXPECT_EQ(collate_sft(samples, o).inputs.input_ids.size(1) % 64, 0);
}

TEST(Collate, LabelOnTheLastPositionIsRefused) {
  Sample s = make_sample("x", {}, 2, 2);
  s.labels.back() = 5;  // would point into the next packed sequence
  CollateOptions o;
  o.packed = true;
  EXPECT_THROW(collate_sft(std::vector<Sample>{s}, o), InternalError);
}

PairSample make_pair(const std::string& id, std::vector<ProcessedImage> images, int chosen_len, int rejected_len) {
  Sample base = make_sample(id, images, 4, 1);
  PairSample p;
  p.id = id;
  // The prompt of make_sample up to (and including) its end-of-prompt token.
  const size_t prompt_len = base.input_ids.size() - 3;
  p.prompt_ids.assign(base.input_ids.begin(), base.input_ids.begin() + static_cast<long>(prompt_len));
  for (int i = 0; i < chosen_len; ++i) p.chosen_ids.push_back(400 + i);
  p.chosen_ids.push_back(sp.im_end);
  for (int i = 0; i < rejected_len; ++i) p.rejected_ids.push_back(500 + i);
  p.rejected_ids.push_back(sp.im_end);
  p.images = std::move(images);
  p.weight = 0.5;
  p.margin = 1.25;
  p.error_type = ErrorType::Orientation;
  return p;
}

TEST(Collate, PairLayoutsAgreeOnEveryAnswer) {
  std::vector<PairSample> pairs{make_pair("p0", {image(4, 6, 0.1f), image(6, 4, 0.2f)}, 5, 8),
                                make_pair("p1", {image(2, 2, 0.3f), image(4, 4, 0.4f)}, 11, 2)};
  pairs[1].margin.reset();
  for (bool packed : {false, true}) {
    SCOPED_TRACE(packed ? "packed" : "padded");
    CollateOptions o;
    o.packed = packed;
    PairBatch sep = collate_pairs(pairs, o, PairLayout::Separate);
    PairBatch shr = collate_pairs(pairs, o, PairLayout::SharedPrefix);
    const int64_t P = 2;
    // Separate: 2P sequences with images; shared: P prompts with images + 2P answers without.
    EXPECT_EQ(sep.inputs.image_grid_thw.size(0), 4 * P);
    EXPECT_EQ(shr.inputs.image_grid_thw.size(0), 2 * P);
    EXPECT_FALSE(shr.answers.pixel_values.defined());
    EXPECT_TRUE(shr.answer_prompt.equal(at::tensor(std::vector<int64_t>{0, 1, 0, 1})));

    auto seq_tokens = [&](const ModelInputs& in, int64_t s, const at::Tensor& t) {
      if (in.packed()) {
        int64_t a = in.cu_seqlens[s].item<int32_t>(), b = in.cu_seqlens[s + 1].item<int32_t>();
        return t.dim() == 3 ? t.select(1, 0).slice(1, a, b) : t[0].slice(0, a, b);
      }
      int64_t n = in.attention_mask[s].sum().item<int64_t>();
      return t.dim() == 3 ? t.select(1, s).slice(1, 0, n) : t[s].slice(0, 0, n);
    };
    for (int64_t i = 0; i < 2 * P; ++i) {
      const PairSample& pair = pairs[i % P];
      const auto& answer = i < P ? pair.chosen_ids : pair.rejected_ids;
      const int64_t lp = static_cast<int64_t>(pair.prompt_ids.size()), la = static_cast<int64_t>(answer.size());
      at::Tensor full_ids = seq_tokens(sep.inputs, i, sep.inputs.input_ids);
      at::Tensor full_labels = seq_tokens(sep.inputs, i, sep.inputs.labels);
      at::Tensor full_pos = seq_tokens(sep.inputs, i, sep.inputs.position_ids);
      ASSERT_EQ(full_ids.size(0), lp + la);
      at::Tensor ans_ids = seq_tokens(shr.answers, i, shr.answers.input_ids);
      at::Tensor ans_labels = seq_tokens(shr.answers, i, shr.answers.labels);
      at::Tensor ans_pos = seq_tokens(shr.answers, i, shr.answers.position_ids);
      EXPECT_TRUE(full_ids.slice(0, lp).equal(ans_ids));
      EXPECT_TRUE(full_pos.slice(1, lp).equal(ans_pos));  // answers continue the prompt's M-RoPE ids
      // Labels: the prompt's last position predicts the first answer token, then shifted inside.
      EXPECT_EQ(full_labels[lp - 1].item<int64_t>(), shr.answer_first_token[i].item<int64_t>());
      EXPECT_TRUE(full_labels.slice(0, lp).equal(ans_labels));
      EXPECT_TRUE(full_labels.slice(0, 0, lp - 1).eq(kIgnoreIndex).all().item<bool>());
      EXPECT_EQ(at::ne(full_labels, kIgnoreIndex).sum().item<int64_t>(), la);
      // The prompt of the shared layout is the separate sequence's prefix, same positions.
      at::Tensor prompt_ids = seq_tokens(shr.inputs, i % P, shr.inputs.input_ids);
      EXPECT_TRUE(prompt_ids.equal(full_ids.slice(0, 0, lp)));
      EXPECT_TRUE(seq_tokens(shr.inputs, i % P, shr.inputs.position_ids).equal(full_pos.slice(1, 0, lp)));
      int64_t last = shr.prompt_last_index[i % P].item<int64_t>();
      EXPECT_EQ(shr.inputs.input_ids.flatten()[last].item<int64_t>(), pair.prompt_ids.back());
    }
    EXPECT_TRUE(sep.weight.equal(at::tensor(std::vector<float>{0.5f, 0.5f})));
    EXPECT_TRUE(sep.has_margin.equal(at::tensor(std::vector<uint8_t>{1, 0}).to(at::kBool)));
    EXPECT_FLOAT_EQ(sep.margin[0].item<float>(), 1.25f);
    EXPECT_EQ(sep.error_type[0].item<int64_t>(), static_cast<int64_t>(ErrorType::Orientation));
    EXPECT_EQ(sep.severity[0].item<int64_t>(), -1);
  }
}

}  // namespace
}  // namespace ec::data
