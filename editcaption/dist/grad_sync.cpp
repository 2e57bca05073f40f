#include "editcaption/dist/grad_sync.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"

namespace ec::dist {

namespace {

// Runs after AccumulateGrad has added the parameter's gradient into its bucket view.
class ReadyHook : public torch::autograd::FunctionPostHook {
 public:
  explicit ReadyHook(std::function<void()> fn) : fn_(std::move(fn)) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                            const torch::autograd::variable_list& /*inputs*/) override {
    fn_();
    return outputs;
  }

 private:
  std::function<void()> fn_;
};

at::Tensor slot_view(const at::Tensor& flat, const BucketSlot& s, const at::Tensor& like) {
  return flat.narrow(0, s.offset, s.numel).view(like.sizes());
}

}  // namespace

GradSync::GradSync(const std::vector<at::Tensor>& params, std::shared_ptr<Group> dp, GradSyncOptions options)
    : dp_(std::move(dp)), options_(options) {
  EC_CHECK(dp_ != nullptr, "GradSync needs a group");
  EC_CHECK(options_.reduce_dtype == at::kFloat || options_.reduce_dtype == at::kBFloat16,
           "GradSync reduces in fp32 or bf16, not {}", c10::toString(options_.reduce_dtype));
  std::vector<ParamInfo> infos;
  for (const auto& p : params) {
    if (!p.requires_grad()) continue;
    EC_CHECK(p.is_leaf(), "GradSync: parameters must be leaf tensors");
    EC_CHECK(p.is_floating_point(), "GradSync: parameter of type {} is not floating point",
             c10::toString(p.scalar_type()));
    params_.push_back(p);
    infos.push_back({p.numel(), p.scalar_type(), p.device()});
  }
  int parts = options_.shard ? dp_->size() : 1;
  layout_ = plan_buckets(infos, options_.bucket_bytes, parts);

  at::NoGradGuard no_grad;
  const int nb = static_cast<int>(layout_.buckets.size());
  for (int b = 0; b < nb; ++b) {
    const Bucket& bk = layout_.buckets[b];
    auto opts = at::TensorOptions().dtype(bk.dtype).device(bk.device);
    grads_.push_back(at::zeros({bk.padded}, opts));
    bool convert = options_.reduce_dtype != bk.dtype;
    comm_.push_back(convert ? at::zeros({bk.padded}, opts.dtype(options_.reduce_dtype)) : at::Tensor());
    if (options_.shard) {
      int64_t shard = layout_.shard_numel(b);
      shard_out_.push_back(at::zeros({shard}, opts.dtype(options_.reduce_dtype)));
      grad_shards_.push_back(convert ? at::zeros({shard}, opts) : shard_out_.back());
      at::Tensor flat = at::zeros({bk.padded}, opts);
      for (const BucketSlot& s : bk.slots) {
        at::Tensor& p = params_[s.param];
        at::Tensor view = slot_view(flat, s, p);
        view.copy_(p.detach());
        p.set_data(view);
      }
      param_flat_.push_back(flat);
    }
    for (const BucketSlot& s : bk.slots) {
      at::Tensor& p = params_[s.param];
      at::Tensor view = slot_view(grads_[b], s, p);
      if (p.grad().defined()) view.copy_(p.grad());
      p.mutable_grad() = view;
    }
  }

  if (options_.broadcast_params && dp_->size() > 1) {
    for (int b = 0; b < nb; ++b) {
      const Bucket& bk = layout_.buckets[b];
      if (options_.shard) {
        dp_->broadcast(param_flat_[b], 0);
        continue;
      }
      at::Tensor flat = at::zeros({bk.padded}, grads_[b].options());
      for (const BucketSlot& s : bk.slots) slot_view(flat, s, params_[s.param]).copy_(params_[s.param].detach());
      dp_->broadcast(flat, 0);
      for (const BucketSlot& s : bk.slots) params_[s.param].detach().copy_(slot_view(flat, s, params_[s.param]));
    }
  }

  ready_.assign(params_.size(), 0);
  missing_.resize(nb);
  pending_.resize(nb);
  reset_step();
  for (int i = 0; i < static_cast<int>(params_.size()); ++i) {
    auto acc = torch::autograd::impl::grad_accumulator(params_[i]);
    EC_CHECK(acc != nullptr, "GradSync: no gradient accumulator for parameter {}", i);
    uintptr_t key = acc->add_post_hook(std::make_unique<ReadyHook>([this, i] { on_ready(i); }));
    hooks_.emplace_back(std::move(acc), key);
  }
  log::debug("dist: GradSync over group '{}': {} parameters in {} bucket(s), {} reduction{}", dp_->name(),
             params_.size(), nb, c10::toString(options_.reduce_dtype), options_.shard ? ", ZeRO-1 shards" : "");
}

GradSync::~GradSync() {
  for (auto& [acc, key] : hooks_) acc->del_post_hook(key);
  for (auto& p : pending_) {
    try {
      p.wait();
    } catch (const std::exception& e) {
      log::debug("dist: GradSync: {}", e.what());
    }
  }
}

void GradSync::reset_step() {
  std::fill(ready_.begin(), ready_.end(), 0);
  for (size_t b = 0; b < layout_.buckets.size(); ++b) {
    missing_[b] = static_cast<int>(layout_.buckets[b].slots.size());
  }
  next_launch_ = 0;
  launched_in_backward_ = 0;
}

void GradSync::set_sync(bool enabled) {
  std::lock_guard lock(mutex_);
  sync_ = enabled;
}

void GradSync::set_grad_scale(double scale) {
  std::lock_guard lock(mutex_);
  scale_ = scale;
}

void GradSync::on_ready(int param) {
  std::lock_guard lock(mutex_);
  if (!sync_) return;
  auto [b, slot] = layout_.slot_of[param];
  EC_CHECK(!ready_[param],
           "GradSync: parameter {} (bucket {}) received a second gradient in one synchronized micro-step: run one "
           "backward per synchronized micro-step (earlier ones with set_sync(false))",
           param, b);
  ready_[param] = 1;
  if (--missing_[b] == 0) launch_in_order();
}

void GradSync::launch_in_order() {
  const int nb = static_cast<int>(layout_.buckets.size());
  while (next_launch_ < nb && missing_[next_launch_] == 0) {
    launch(next_launch_++);
    if (!in_finish_) ++launched_in_backward_;
  }
}

void GradSync::launch(int b) {
  at::NoGradGuard no_grad;
  at::Tensor& flat = grads_[b];
  at::Tensor input = flat;
  if (comm_[b].defined()) {
    // Scale while converting: the product is formed in the bucket's precision, then rounded.
    at::mul_out(comm_[b], flat, at::scalar_tensor(scale_, at::TensorOptions().dtype(at::kDouble)));
    input = comm_[b];
  } else if (scale_ != 1.0) {
    flat.mul_(scale_);
  }
  if (options_.shard) {
    pending_[b] = dp_->reduce_scatter_async(shard_out_[b], input);
  } else {
    pending_[b] = dp_->all_reduce_async(input);
  }
}

void GradSync::finish() {
  {
    std::lock_guard lock(mutex_);
    EC_CHECK(sync_, "GradSync::finish() after a micro-step without synchronization: call set_sync(true) before the "
                    "last micro-step's backward");
    in_finish_ = true;
    // Buckets whose parameters got no gradient this step (unused parameters) go now, in order.
    for (int& m : missing_) m = 0;
    launch_in_order();
    in_finish_ = false;
  }
  at::NoGradGuard no_grad;
  for (size_t b = 0; b < pending_.size(); ++b) {
    pending_[b].wait();
    if (options_.shard) {
      if (comm_[b].defined()) grad_shards_[b].copy_(shard_out_[b]);
    } else if (comm_[b].defined()) {
      grads_[b].copy_(comm_[b]);
    }
  }
  std::lock_guard lock(mutex_);
  last_launched_in_backward_ = launched_in_backward_;
  reset_step();
}

void GradSync::zero_grad() {
  std::lock_guard lock(mutex_);
  at::NoGradGuard no_grad;
  for (auto& g : grads_) g.zero_();
  for (size_t b = 0; b < layout_.buckets.size(); ++b) {
    for (const BucketSlot& s : layout_.buckets[b].slots) {
      at::Tensor& p = params_[s.param];
      // An optimizer's zero_grad(set_to_none) may have dropped the view: put it back.
      at::Tensor view = slot_view(grads_[b], s, p);
      const at::Tensor& g = p.grad();
      if (!g.defined() || g.data_ptr() != view.data_ptr()) p.mutable_grad() = view;
    }
  }
  reset_step();
}

at::Tensor GradSync::param_shard(int b) const {
  EC_CHECK(options_.shard, "param_shard needs a sharded GradSync");
  int64_t n = layout_.shard_numel(b);
  return param_flat_[b].narrow(0, dp_->rank() * n, n);
}

void GradSync::all_gather_params() {
  EC_CHECK(options_.shard, "all_gather_params needs a sharded GradSync");
  if (dp_->size() == 1) return;
  at::NoGradGuard no_grad;
  std::vector<at::Tensor> inputs;
  std::vector<Pending> works;
  for (size_t b = 0; b < param_flat_.size(); ++b) {
    // The input must not alias the output (Gloo copies rank by rank).
    inputs.push_back(param_shard(static_cast<int>(b)).clone());
    works.push_back(dp_->all_gather_async(param_flat_[b], inputs.back()));
  }
  for (auto& w : works) w.wait();
}

GradSync::Stats GradSync::stats() const {
  Stats s;
  s.buckets = static_cast<int>(layout_.buckets.size());
  s.launched_during_backward = last_launched_in_backward_;
  s.reduce_bytes = layout_.total_padded() * static_cast<int64_t>(c10::elementSize(options_.reduce_dtype));
  return s;
}

}  // namespace ec::dist
