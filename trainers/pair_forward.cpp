#include "trainers/pair_forward.h"

#include "editcaption/core/check.h"
#include "editcaption/core/error.h"

namespace ec::train {

at::Tensor sequence_index(const data::ModelInputs& in) {
  const at::Device dev = in.input_ids.device();
  if (in.packed()) {
    at::Tensor cu = in.cu_seqlens.to(at::kCPU, at::kLong);
    at::Tensor lengths = cu.slice(0, 1) - cu.slice(0, 0, -1);
    at::Tensor ids = at::repeat_interleave(at::arange(lengths.size(0), at::kLong), lengths);
    return ids.view({1, -1}).to(dev);
  }
  const int64_t B = in.input_ids.size(0), L = in.input_ids.size(1);
  return at::arange(B, at::TensorOptions().dtype(at::kLong).device(dev)).view({B, 1}).expand({B, L});
}

AnswerStates pair_forward(nn::QwenVLImpl& model, const data::PairBatch& b, const nn::VisionOutput* vision) {
  nn::ForwardOptions fo;
  fo.return_logits = false;
  fo.return_hidden = true;
  fo.vision = vision;
  AnswerStates s;
  if (b.layout == data::PairLayout::Separate) {
    s.hidden = model.forward(b.inputs, fo).hidden;
    s.labels = b.inputs.labels;
    s.sequence_ids = sequence_index(b.inputs);
    return s;
  }
  EC_USER_CHECK(!b.answers.packed(), Usage, "shared_prefix pair batches need padded answers");
  nn::ForwardOptions prefix_options = fo;
  prefix_options.return_hidden = false;
  nn::PrefixOutput prefix = model.forward_prefix(b.inputs, prefix_options);
  nn::ContinuationInputs ci{b.answers.input_ids, b.answers.attention_mask, b.answer_prompt};
  at::Tensor cont = model.forward_continuation(prefix.state, ci, fo).hidden;  // [2P, La, d]
  at::Tensor first = prefix.state.last_hidden.index_select(0, b.answer_prompt.to(cont.device()));
  s.hidden = at::cat({first.unsqueeze(1).to(cont.scalar_type()), cont}, 1);
  s.labels = at::cat({b.answer_first_token.to(cont.device()).unsqueeze(1), b.answers.labels.to(cont.device())}, 1);
  const int64_t A = s.hidden.size(0), La = s.hidden.size(1);
  s.sequence_ids = at::arange(A, at::TensorOptions().dtype(at::kLong).device(cont.device())).view({A, 1}).expand({A, La});
  return s;
}

}  // namespace ec::train
