#include "editcaption/dist/tp.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/custom_function.h>

#include "editcaption/core/check.h"
#include "editcaption/dist/tp_group.h"

namespace ec::dist {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

bool active(const TpGroup* tp) { return tp != nullptr && tp->size() > 1; }

// Autograd saves plain data in IValues; the group outlives every graph that uses it.
int64_t as_handle(const TpGroup* tp) { return reinterpret_cast<intptr_t>(tp); }
const TpGroup* from_handle(const c10::IValue& v) { return reinterpret_cast<const TpGroup*>(v.toInt()); }

at::Tensor all_reduced(const at::Tensor& x, const TpGroup* tp) {
  at::Tensor out = x.clone(at::MemoryFormat::Contiguous);
  tp->group().all_reduce(out, ReduceOp::Sum, WaitMode::Stream);
  return out;
}

at::Tensor gathered_last(const at::Tensor& x, const TpGroup* tp) {
  at::Tensor in = x.contiguous();
  std::vector<int64_t> shape{tp->size()};
  shape.insert(shape.end(), in.sizes().begin(), in.sizes().end());
  at::Tensor parts = at::empty(shape, in.options());
  tp->group().all_gather(parts, in, WaitMode::Stream);
  // [tp, ..., n] -> [..., tp, n] -> [..., tp * n]
  std::vector<int64_t> out_shape(in.sizes().begin(), in.sizes().end());
  out_shape.back() *= tp->size();
  return parts.movedim(0, -2).reshape(out_shape);
}

at::Tensor slice_last(const at::Tensor& x, const TpGroup* tp) {
  int64_t n = x.size(-1);
  EC_CHECK(n % tp->size() == 0, "tp_split_last: last dimension {} not divisible by tp = {}", n, tp->size());
  int64_t w = n / tp->size();
  return x.narrow(-1, tp->rank() * w, w).contiguous();
}

struct CopyFn : torch::autograd::Function<CopyFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t tp) {
    ctx->saved_data["tp"] = tp;
    return x.view_as(x);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {all_reduced(grads[0], from_handle(ctx->saved_data["tp"])), at::Tensor()};
  }
};

struct ReduceFn : torch::autograd::Function<ReduceFn> {
  static at::Tensor forward(AutogradContext*, const at::Tensor& x, int64_t tp) {
    return all_reduced(x, reinterpret_cast<const TpGroup*>(tp));
  }
  static variable_list backward(AutogradContext*, variable_list grads) { return {grads[0], at::Tensor()}; }
};

struct GatherLastFn : torch::autograd::Function<GatherLastFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t tp) {
    ctx->saved_data["tp"] = tp;
    return gathered_last(x, reinterpret_cast<const TpGroup*>(tp));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {slice_last(grads[0], from_handle(ctx->saved_data["tp"])), at::Tensor()};
  }
};

struct SplitLastFn : torch::autograd::Function<SplitLastFn> {
  static at::Tensor forward(AutogradContext* ctx, const at::Tensor& x, int64_t tp) {
    ctx->saved_data["tp"] = tp;
    return slice_last(x, reinterpret_cast<const TpGroup*>(tp));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    return {gathered_last(grads[0], from_handle(ctx->saved_data["tp"])), at::Tensor()};
  }
};

}  // namespace

at::Tensor tp_copy(const at::Tensor& x, const TpGroup* tp) {
  return active(tp) ? CopyFn::apply(x, as_handle(tp)) : x;
}

at::Tensor tp_reduce(const at::Tensor& x, const TpGroup* tp) {
  return active(tp) ? ReduceFn::apply(x, as_handle(tp)) : x;
}

at::Tensor tp_gather_last(const at::Tensor& x, const TpGroup* tp) {
  return active(tp) ? GatherLastFn::apply(x, as_handle(tp)) : x;
}

at::Tensor tp_split_last(const at::Tensor& x, const TpGroup* tp) {
  return active(tp) ? SplitLastFn::apply(x, as_handle(tp)) : x;
}

int tp_size(const TpGroup* tp) { return tp == nullptr ? 1 : tp->size(); }
int tp_rank(const TpGroup* tp) { return tp == nullptr ? 0 : tp->rank(); }

ShardRange shard_range(int64_t n, int rank, int size) {
  EC_CHECK(size >= 1 && rank >= 0 && rank < size, "shard_range: rank {} of {}", rank, size);
  EC_CHECK(n % size == 0, "shard_range: {} is not divisible by {} (check_tp_divides should have refused this)", n,
           size);
  int64_t w = n / size;
  return {rank * w, (rank + 1) * w};
}

at::Tensor shard_rows(const at::Tensor& w, int rank, int size) {
  ShardRange r = shard_range(w.size(0), rank, size);
  return w.narrow(0, r.begin, r.size()).contiguous();
}

at::Tensor shard_cols(const at::Tensor& w, int rank, int size) {
  EC_CHECK(w.dim() == 2, "shard_cols expects a [out, in] weight, got {} dims", w.dim());
  ShardRange r = shard_range(w.size(1), rank, size);
  return w.narrow(1, r.begin, r.size()).contiguous();
}

at::Tensor shard_rows_fused(const at::Tensor& w, const std::vector<int64_t>& parts, int rank, int size) {
  int64_t total = 0;
  for (int64_t p : parts) total += p;
  EC_CHECK(total == w.size(0), "shard_rows_fused: parts sum to {} but the tensor has {} rows", total, w.size(0));
  std::vector<at::Tensor> pieces;
  int64_t start = 0;
  for (int64_t p : parts) {
    pieces.push_back(shard_rows(w.narrow(0, start, p), rank, size));
    start += p;
  }
  return at::cat(pieces, 0);
}

at::Tensor shard_rows(const at::Tensor& w, const TpGroup* tp) { return shard_rows(w, tp_rank(tp), tp_size(tp)); }
at::Tensor shard_cols(const at::Tensor& w, const TpGroup* tp) { return shard_cols(w, tp_rank(tp), tp_size(tp)); }

}  // namespace ec::dist
