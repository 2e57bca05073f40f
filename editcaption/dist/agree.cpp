#include "editcaption/dist/agree.h"

#include <ATen/ATen.h>

namespace ec::dist {

namespace {

at::Tensor on_device(Group& g, at::ScalarType dtype, std::initializer_list<double> values) {
  at::Tensor t = at::empty({static_cast<int64_t>(values.size())}, at::TensorOptions().dtype(at::kDouble));
  int64_t i = 0;
  for (double v : values) t[i++] = v;
  return t.to(dtype).to(g.device());
}

}  // namespace

bool agree_any(Group& group, bool flag) {
  at::Tensor t = on_device(group, at::kInt, {flag ? 1.0 : 0.0});
  group.all_reduce(t, ReduceOp::Max);
  return t.item<int>() != 0;
}

bool agree_all(Group& group, bool flag) {
  at::Tensor t = on_device(group, at::kInt, {flag ? 1.0 : 0.0});
  group.all_reduce(t, ReduceOp::Min);
  return t.item<int>() != 0;
}

StepVerdict agree_step(Group& group, bool stop_requested, bool skip_update) {
  at::Tensor t = on_device(group, at::kInt, {stop_requested ? 1.0 : 0.0, skip_update ? 1.0 : 0.0});
  group.all_reduce(t, ReduceOp::Max);
  at::Tensor host = t.cpu();
  return {host[0].item<int>() != 0, host[1].item<int>() != 0};
}

int64_t all_reduce_int(Group& group, int64_t value, ReduceOp op) {
  at::Tensor t = at::full({1}, value, at::TensorOptions().dtype(at::kLong)).to(group.device());
  group.all_reduce(t, op);
  return t.item<int64_t>();
}

double all_reduce_double(Group& group, double value, ReduceOp op) {
  at::Tensor t = at::full({1}, value, at::TensorOptions().dtype(at::kDouble)).to(group.device());
  group.all_reduce(t, op);
  return t.item<double>();
}

}  // namespace ec::dist
