// The API layer of fused_linear_logprobs: validates the tensors, compacts the positions whose label
// is not ignored, dispatches to the reference or CUDA implementation and wires the result into
// autograd. Only this layer and the implementations' glue see at::Tensor.
#include "kernels/linear_logprobs.h"

#include <fmt/ranges.h>
#include <torch/csrc/autograd/custom_function.h>

#include "editcaption/core/build_info.h"
#include "editcaption/core/check.h"
#include "kernels/logprob_impl.h"
#include "kernels/vocab_parallel.h"

namespace ec::kernels {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

/// What the backward pass needs besides the saved hidden states and weight.
struct SavedCall : torch::CustomClassHolder {
  at::Tensor index;  ///< [M] positions of the valid labels in the flattened input
  at::Tensor y;      ///< [M] their labels
  at::Tensor lse;    ///< [M] fp32 global log-sum-exp
  int64_t vocab_start = 0;
  int64_t vocab_size = 0;
  detail::Tile tile;
  bool use_cuda = false;
  bool deterministic = false;
  std::shared_ptr<const VocabShard> shard;
};

class FusedLogprobFunction : public torch::autograd::Function<FusedLogprobFunction> {
 public:
  /// Returns {logp, mean_logp, entropy, correct}, each [N].
  static variable_list forward(AutogradContext* ctx, const at::Tensor& x, const at::Tensor& w,
                               c10::intrusive_ptr<SavedCall> call) {
    const int64_t n = x.size(0);
    const int64_t m = call->index.size(0);
    auto f32 = x.options().dtype(at::kFloat);
    at::Tensor logp = at::zeros({n}, f32);
    at::Tensor mean_logp = at::zeros({n}, f32);
    at::Tensor entropy = at::zeros({n}, f32);
    at::Tensor correct = at::zeros({n}, x.options().dtype(at::kBool));
    call->lse = at::empty({0}, f32);
    if (m > 0) {
      detail::ForwardArgs args{x.index_select(0, call->index), w, call->y, call->vocab_start, call->tile,
                               call->deterministic};
      detail::RowStats s = call->use_cuda ? detail::forward_cuda(args) : detail::forward_reference(args);
      if (call->shard && call->shard->size > 1) detail::combine_across_shards(s, *call->shard);
      at::Tensor log_sumexp = s.sumexp.log();
      call->lse = s.max + log_sumexp;
      logp.index_copy_(0, call->index, s.target - call->lse);
      mean_logp.index_copy_(0, call->index, s.rel_sum / static_cast<double>(call->vocab_size) - log_sumexp);
      entropy.index_copy_(0, call->index, log_sumexp - s.ent / s.sumexp);
      correct.index_copy_(0, call->index, s.argmax == call->y);
    }
    ctx->save_for_backward({x, w});
    ctx->saved_data["call"] = c10::IValue::make_capsule(call);
    ctx->mark_non_differentiable({entropy, correct});
    ctx->set_materialize_grads(false);
    return {logp, mean_logp, entropy, correct};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor& x = saved[0];
    const at::Tensor& w = saved[1];
    auto call = c10::static_intrusive_pointer_cast<SavedCall>(ctx->saved_data["call"].toCapsule());
    const bool need_dx = ctx->needs_input_grad(0);
    const bool need_dw = ctx->needs_input_grad(1);
    const at::Tensor& g_logp = grads[0];
    const at::Tensor& g_mean = grads[1];
    const int64_t m = call->index.size(0);
    at::Tensor dx, dw;
    if (need_dx) dx = at::zeros_like(x);
    if (need_dw) dw = at::zeros_like(w);
    if (m == 0 || (!g_logp.defined() && !g_mean.defined()) || (!need_dx && !need_dw)) return {dx, dw, at::Tensor()};

    detail::BackwardArgs args;
    args.x = x.index_select(0, call->index);
    args.w = w;
    args.y = call->y;
    args.lse = call->lse;
    args.g_logp = g_logp.defined() ? g_logp.index_select(0, call->index).to(at::kFloat)
                                   : at::zeros({m}, x.options().dtype(at::kFloat));
    if (g_mean.defined()) args.g_mean = g_mean.index_select(0, call->index).to(at::kFloat);
    args.vocab_start = call->vocab_start;
    args.vocab_size = call->vocab_size;
    args.tile = call->tile;
    args.need_dx = need_dx;
    args.need_dw = need_dw;
    args.deterministic = call->deterministic;
    detail::Grads g = call->use_cuda ? detail::backward_cuda(args) : detail::backward_reference(args);
    if (need_dx) {
      if (call->shard && call->shard->size > 1) detail::reduce_across_shards(g.dx, *call->shard);
      dx.index_copy_(0, call->index, g.dx.to(x.scalar_type()));
    }
    if (need_dw) dw = g.dw;
    return {dx, dw, at::Tensor()};
  }
};

bool is_supported_float(at::ScalarType t) { return t == at::kFloat || t == at::kBFloat16 || t == at::kHalf; }

bool choose_cuda(LogprobImpl impl, const at::Tensor& x) {
  switch (impl) {
    case LogprobImpl::Reference: return false;
    case LogprobImpl::Cuda:
      EC_USER_CHECK(cuda_kernels_available(), Usage,
                    "fused_linear_logprobs: the CUDA implementation was requested but this binary was built "
                    "without the CUDA kernels");
      EC_USER_CHECK(x.is_cuda(), Usage,
                    "fused_linear_logprobs: the CUDA implementation was requested for tensors on {}", x.device().str());
      return true;
    case LogprobImpl::Auto: return x.is_cuda() && cuda_kernels_available();
  }
  return false;
}

/// Throws UserError naming the first position whose label is neither ignore_index nor a valid id.
void check_labels(const at::Tensor& y, const at::Tensor& valid, int64_t vocab_size, int64_t ignore_index) {
  at::Tensor bad = valid.logical_and(y.lt(0).logical_or(y.ge(vocab_size)));
  if (!bad.any().item<bool>()) return;
  const int64_t pos = bad.nonzero()[0][0].item<int64_t>();
  throw EC_USER_ERROR(Input, "labels: position {} holds token id {}, outside the vocabulary [0, {}) and not ignore_index {}",
                      pos, y[pos].item<int64_t>(), vocab_size, ignore_index);
}

}  // namespace

bool cuda_kernels_available() { return EC_CUDA_KERNELS && EC_TORCH_CUDA; }

LogprobResult fused_linear_logprobs(const at::Tensor& hidden, const at::Tensor& weight, const at::Tensor& labels,
                                    const LogprobOptions& options) {
  EC_USER_CHECK(hidden.defined() && weight.defined() && labels.defined(), Usage,
                "fused_linear_logprobs: hidden, weight and labels must all be given");
  EC_USER_CHECK(weight.dim() == 2, Usage, "fused_linear_logprobs: weight must be [V, D], got {}", weight.sizes());
  EC_USER_CHECK(hidden.dim() >= 1 && hidden.size(-1) == weight.size(1), Usage,
                "fused_linear_logprobs: hidden {} does not end in the weight's hidden size {}", hidden.sizes(),
                weight.size(1));
  EC_USER_CHECK(labels.sizes() == hidden.sizes().slice(0, hidden.dim() - 1), Usage,
                "fused_linear_logprobs: labels {} must have the shape of hidden {} without its last dimension",
                labels.sizes(), hidden.sizes());
  EC_USER_CHECK(is_supported_float(hidden.scalar_type()) && hidden.scalar_type() == weight.scalar_type(), Usage,
                "fused_linear_logprobs: hidden ({}) and weight ({}) must share one of float32, bfloat16, float16",
                c10::toString(hidden.scalar_type()), c10::toString(weight.scalar_type()));
  EC_USER_CHECK(!at::isFloatingType(labels.scalar_type()) && labels.scalar_type() != at::kBool, Usage,
                "fused_linear_logprobs: labels must hold integer token ids, got {}", c10::toString(labels.scalar_type()));
  EC_USER_CHECK(hidden.device() == weight.device() && hidden.device() == labels.device(), Usage,
                "fused_linear_logprobs: hidden ({}), weight ({}) and labels ({}) must be on one device",
                hidden.device().str(), weight.device().str(), labels.device().str());
  EC_USER_CHECK(weight.size(0) > 0, Usage, "fused_linear_logprobs: weight has no vocabulary rows");

  auto call = c10::make_intrusive<SavedCall>();
  call->shard = options.shard;
  call->vocab_size = weight.size(0);
  if (options.shard) {
    const VocabShard& s = *options.shard;
    EC_USER_CHECK(s.vocab_start >= 0 && s.vocab_start + weight.size(0) <= s.vocab_size, Usage,
                  "fused_linear_logprobs: rank {} holds weight rows [{}, {}) outside the vocabulary of {}", s.rank,
                  s.vocab_start, s.vocab_start + weight.size(0), s.vocab_size);
    EC_USER_CHECK(s.size == 1 || s.all_reduce, Usage, "fused_linear_logprobs: vocab shard of {} ranks without an all_reduce",
                  s.size);
    call->vocab_start = s.vocab_start;
    call->vocab_size = s.vocab_size;
  }
  call->use_cuda = choose_cuda(options.impl, hidden);
  call->deterministic = options.deterministic;

  const int64_t dim = hidden.size(-1);
  at::Tensor x = hidden.reshape({-1, dim});
  at::Tensor y = labels.reshape({-1}).to(at::kLong);
  at::Tensor valid = y.ne(options.ignore_index);
  check_labels(y, valid, call->vocab_size, options.ignore_index);
  call->index = valid.nonzero().squeeze(1);
  call->y = y.index_select(0, call->index);
  const int64_t m = call->index.size(0);
  const int64_t temp_bytes = 4 + weight.element_size();  // fp32 logits + logit gradient
  call->tile = detail::resolve_tile(options.tiling, m, weight.size(0), temp_bytes);

  auto out = FusedLogprobFunction::apply(x, call->use_cuda ? weight.contiguous() : weight, call);
  LogprobResult r;
  r.logp = out[0].view(labels.sizes());
  r.mean_logp = out[1].view(labels.sizes());
  r.entropy = out[2].view(labels.sizes());
  r.correct = out[3].view(labels.sizes());
  r.valid = valid.view(labels.sizes());
  r.num_valid = m;
  return r;
}

}  // namespace ec::kernels
