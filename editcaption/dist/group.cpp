#include "editcaption/dist/group.h"

#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Work.hpp>

#include <atomic>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/dist/liveness.h"

namespace ec::dist {

namespace {

c10d::ReduceOp to_c10d(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return c10d::ReduceOp(c10d::ReduceOp::SUM);
    case ReduceOp::Min: return c10d::ReduceOp(c10d::ReduceOp::MIN);
    case ReduceOp::Max: return c10d::ReduceOp(c10d::ReduceOp::MAX);
  }
  return c10d::ReduceOp(c10d::ReduceOp::SUM);
}

std::string error_text(const std::exception& e) {
  if (const auto* c = dynamic_cast<const c10::Error*>(&e)) return c->what_without_backtrace();
  return e.what();
}

std::string ranks_text(const std::vector<int>& ranks) {
  std::vector<std::string> parts;
  for (int r : ranks) parts.push_back(std::to_string(r));
  return join(parts, ",");
}

}  // namespace

struct Group::Impl {
  Setup setup;
  c10::intrusive_ptr<c10d::Backend> backend;
  bool is_nccl = false;
  std::atomic<uint64_t> seq{0};
  std::atomic<bool> failed{false};
  bool closed = false;

  uint64_t enter(const char* op) {
    uint64_t s = ++seq;
    if (setup.liveness) setup.liveness->entered(setup.name, s);
    log::trace("dist: {} #{} on group '{}'", op, s, setup.name);
    return s;
  }

  [[noreturn]] void fail(const char* op, uint64_t s, const std::string& what) {
    failed = true;
    std::string diagnosis;
    if (setup.liveness) {
      setup.liveness->mark_failed();
      diagnosis = setup.liveness->diagnose(setup.name, s, setup.global_ranks);
    }
    std::string msg = fmt::format("collective {} #{} on group '{}' (global ranks {}) failed: {}", op, s, setup.name,
                                  ranks_text(setup.global_ranks), what);
    if (!diagnosis.empty()) msg += "\n" + diagnosis;
    msg += fmt::format("\n(timeout {} s: dist.timeout_s; the job can resume from its last checkpoint)",
                       setup.timeout.count() / 1000.0);
    throw UserError(msg, ExitCode::Comm);
  }

  template <class F>
  c10::intrusive_ptr<c10d::Work> launch(const char* op, uint64_t s, F&& f) {
    EC_CHECK(!closed, "collective {} on group '{}' after shutdown", op, setup.name);
    try {
      return f();
    } catch (const UserError&) {
      throw;
    } catch (const std::exception& e) {
      fail(op, s, error_text(e));
    }
  }
};

struct Pending::Impl {
  Group::Impl* group = nullptr;
  c10::intrusive_ptr<c10d::Work> work;
  const char* op = "";
  uint64_t seq = 0;
  std::function<void()> after;  // copies results out of staging buffers
};

Pending::Pending(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Pending::Pending() = default;
Pending::Pending(Pending&&) noexcept = default;

Pending& Pending::operator=(Pending&& other) noexcept {
  if (this != &other) {
    // A pending collective being replaced must still complete before its buffers are reused.
    Pending old(std::move(*this));
    impl_ = std::move(other.impl_);
  }
  return *this;
}

Pending::~Pending() {
  if (!impl_) return;
  try {
    wait();
  } catch (const std::exception& e) {
    log::error("dist: a collective that was never waited for failed: {}", e.what());
  }
}

void Pending::wait(WaitMode mode) {
  if (!impl_) return;
  std::unique_ptr<Impl> impl = std::move(impl_);
  if (impl->work) {
    try {
      if (mode == WaitMode::Stream && impl->group->is_nccl) {
        impl->work->wait();
      } else {
        // Gloo blocks here; NCCL polls the work until it completes or the timeout passes (then
        // ProcessGroupNCCL aborts the communicator and throws).
        impl->work->wait(impl->group->setup.timeout);
      }
    } catch (const std::exception& e) {
      impl->group->fail(impl->op, impl->seq, error_text(e));
    }
  }
  if (impl->after) impl->after();
}

std::shared_ptr<Group> Group::local(std::string name, at::Device device, int global_rank) {
  Setup s;
  s.name = std::move(name);
  s.global_ranks = {global_rank};
  s.rank = 0;
  s.device = device;
  return std::make_shared<Group>(std::move(s), c10::intrusive_ptr<c10d::Backend>());
}

Group::Group(Setup setup, c10::intrusive_ptr<c10d::Backend> backend) : impl_(std::make_unique<Impl>()) {
  EC_CHECK(setup.rank >= 0 && setup.rank < static_cast<int>(setup.global_ranks.size()), "bad group rank {}", setup.rank);
  EC_CHECK(backend || setup.global_ranks.size() == 1, "group '{}' of {} ranks needs a backend", setup.name,
           setup.global_ranks.size());
  impl_->setup = std::move(setup);
  impl_->backend = std::move(backend);
  impl_->is_nccl = impl_->backend && impl_->backend->getBackendName() == "nccl";
}

Group::~Group() {
  try {
    if (impl_->failed) {
      abort();
    } else {
      shutdown();
    }
  } catch (const std::exception& e) {
    log::warn("dist: closing group '{}': {}", impl_->setup.name, e.what());
  }
}

const std::string& Group::name() const { return impl_->setup.name; }
int Group::rank() const { return impl_->setup.rank; }
int Group::size() const { return static_cast<int>(impl_->setup.global_ranks.size()); }
int Group::global_rank(int r) const { return impl_->setup.global_ranks.at(r); }
const std::vector<int>& Group::global_ranks() const { return impl_->setup.global_ranks; }
at::Device Group::device() const { return impl_->setup.device; }
std::string Group::backend_name() const { return impl_->backend ? impl_->backend->getBackendName() : "local"; }
std::chrono::milliseconds Group::timeout() const { return impl_->setup.timeout; }
void Group::set_timeout(std::chrono::milliseconds timeout) { impl_->setup.timeout = timeout; }

namespace {

void check_tensor(const Group& g, const at::Tensor& t, const char* op) {
  EC_CHECK(t.defined(), "{} on group '{}': undefined tensor", op, g.name());
  EC_CHECK(t.device() == g.device(), "{} on group '{}': tensor on {} but the group communicates on {}", op, g.name(),
           t.device().str(), g.device().str());
  EC_CHECK(t.is_contiguous(), "{} on group '{}': tensor must be contiguous", op, g.name());
}

}  // namespace

Pending Group::all_reduce_async(at::Tensor& t, ReduceOp op) {
  if (!impl_->backend) return {};
  check_tensor(*this, t, "all_reduce");
  uint64_t s = impl_->enter("all_reduce");
  auto work = impl_->launch("all_reduce", s, [&] {
    std::vector<at::Tensor> v{t};
    c10d::AllreduceOptions o;
    o.reduceOp = to_c10d(op);
    o.timeout = impl_->setup.timeout;
    return impl_->backend->allreduce(v, o);
  });
  auto p = std::make_unique<Pending::Impl>();
  *p = {impl_.get(), work, "all_reduce", s, nullptr};
  return Pending(std::move(p));
}

void Group::all_reduce(at::Tensor& t, ReduceOp op, WaitMode mode) { all_reduce_async(t, op).wait(mode); }

void Group::broadcast(at::Tensor& t, int root) {
  if (!impl_->backend) return;
  check_tensor(*this, t, "broadcast");
  uint64_t s = impl_->enter("broadcast");
  auto work = impl_->launch("broadcast", s, [&] {
    std::vector<at::Tensor> v{t};
    c10d::BroadcastOptions o;
    o.rootRank = root;
    o.timeout = impl_->setup.timeout;
    return impl_->backend->broadcast(v, o);
  });
  auto p = std::make_unique<Pending::Impl>();
  *p = {impl_.get(), work, "broadcast", s, nullptr};
  Pending(std::move(p)).wait();
}

Pending Group::all_gather_async(at::Tensor& out, const at::Tensor& in) {
  EC_CHECK(out.numel() == in.numel() * size(), "all_gather on group '{}': output has {} elements, expected {} x {}",
           name(), out.numel(), size(), in.numel());
  if (!impl_->backend) {
    out.view(in.sizes()).copy_(in);
    return {};
  }
  check_tensor(*this, out, "all_gather");
  check_tensor(*this, in, "all_gather");
  uint64_t s = impl_->enter("all_gather");
  auto work = impl_->launch("all_gather", s, [&] {
    at::Tensor o = out.view({-1});
    at::Tensor i = in.view({-1});
    c10d::AllgatherOptions opts;
    opts.timeout = impl_->setup.timeout;
    return impl_->backend->_allgather_base(o, i, opts);
  });
  auto p = std::make_unique<Pending::Impl>();
  *p = {impl_.get(), work, "all_gather", s, nullptr};
  return Pending(std::move(p));
}

void Group::all_gather(at::Tensor& out, const at::Tensor& in, WaitMode mode) {
  all_gather_async(out, in).wait(mode);
}

Pending Group::reduce_scatter_async(at::Tensor& out, const at::Tensor& in, ReduceOp op) {
  EC_CHECK(in.numel() == out.numel() * size(),
           "reduce_scatter on group '{}': input has {} elements, expected {} x {}", name(), in.numel(), size(),
           out.numel());
  if (!impl_->backend) {
    out.copy_(in.view(out.sizes()));
    return {};
  }
  check_tensor(*this, out, "reduce_scatter");
  check_tensor(*this, in, "reduce_scatter");
  uint64_t s = impl_->enter("reduce_scatter");
  auto work = impl_->launch("reduce_scatter", s, [&] {
    at::Tensor o = out.view({-1});
    at::Tensor i = in.view({-1});
    c10d::ReduceScatterOptions opts;
    opts.reduceOp = to_c10d(op);
    opts.timeout = impl_->setup.timeout;
    return impl_->backend->_reduce_scatter_base(o, i, opts);
  });
  auto p = std::make_unique<Pending::Impl>();
  *p = {impl_.get(), work, "reduce_scatter", s, nullptr};
  return Pending(std::move(p));
}

void Group::reduce_scatter(at::Tensor& out, const at::Tensor& in, ReduceOp op) {
  reduce_scatter_async(out, in, op).wait();
}

void Group::barrier() {
  if (!impl_->backend) return;
  // A one-element all-reduce: the same ordering guarantees on every backend, and it goes through
  // the same timeout and diagnosis as every other collective.
  at::Tensor t = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(device()));
  all_reduce(t);
}

void Group::shutdown() {
  if (impl_->closed) return;
  impl_->closed = true;
  if (impl_->backend) impl_->backend->shutdown();
}

void Group::abort() {
  if (impl_->closed) return;
  impl_->closed = true;
  if (impl_->backend) impl_->backend->abort();
}

}  // namespace ec::dist
