// dist_worker: one rank of the multi-process tests in tests/dist (spawned directly, through
// `editcaption launch` or through torchrun). Reads its place in the job from the environment like
// any editcaption command; scenarios write their results under --out for the test to compare.
//
//   dist_worker train   --out DIR [--model mlp|block] [--tp N] [--zero1 1] [--reduce bf16] ...
//   dist_worker tp_grad --out DIR [--tp N]
//   dist_worker loop    --victim R --mode kill|hang|exit [--code C] [--timeout S]
//   dist_worker signal  --out DIR
#include <signal.h>
#include <unistd.h>

#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include "editcaption/core/error.h"
#include "editcaption/core/log.h"
#include "editcaption/dist/agree.h"
#include "editcaption/dist/env.h"
#include "editcaption/dist/grad_sync.h"
#include "editcaption/dist/world.h"
#include "tests/dist/worker/toy_models.h"
#include "trainers/optim/clip.h"
#include "trainers/optim/config.h"
#include "trainers/optim/schedule.h"
#include "trainers/optim/zero.h"

namespace ec::test {
namespace {

using Args = std::map<std::string, std::string>;

std::string arg(const Args& a, const std::string& key, const std::string& fallback) {
  auto it = a.find(key);
  return it == a.end() ? fallback : it->second;
}
int iarg(const Args& a, const std::string& key, int fallback) { return std::stoi(arg(a, key, std::to_string(fallback))); }
double darg(const Args& a, const std::string& key, double fallback) {
  return std::stod(arg(a, key, std::to_string(fallback)));
}

dist::DistConfig dist_config(const Args& a) {
  dist::DistConfig c;
  c.tp = iarg(a, "tp", 1);
  c.backend = dist::BackendKind::Gloo;
  c.timeout_s = darg(a, "timeout", 30);
  c.init_timeout_s = 60;
  c.heartbeat_s = darg(a, "heartbeat", 0.2);
  c.bucket_mb = darg(a, "bucket-bytes", 512) / (1 << 20);
  c.reduce_dtype = arg(a, "reduce", "fp32") == "bf16" ? dist::ReduceDtype::Bf16 : dist::ReduceDtype::Fp32;
  c.zero1 = iarg(a, "zero1", 0) != 0;
  return c;
}

// Full tensor of a tensor-parallel shard, on every rank of the tp group.
torch::Tensor gather_full(const torch::Tensor& shard, Split split, const dist::World& w) {
  if (split == Split::Replicated || w.shape().tp == 1) return shard.detach().clone();
  int dim = split == Split::Rows ? 0 : 1;
  torch::Tensor in = shard.detach().contiguous();
  std::vector<int64_t> shape{w.shape().tp};
  shape.insert(shape.end(), in.sizes().begin(), in.sizes().end());
  torch::Tensor parts = torch::empty(shape, in.options());
  w.tp_group_ptr()->all_gather(parts, in);
  return torch::cat(parts.unbind(0), dim);
}

void write_tensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  std::ofstream out(path);
  for (const auto& [name, t] : tensors) {
    torch::Tensor flat = t.detach().to(torch::kDouble).reshape({-1}).contiguous();
    out << name << " " << flat.numel();
    char buf[40];
    for (int64_t i = 0; i < flat.numel(); ++i) {
      std::snprintf(buf, sizeof(buf), " %.17g", flat.data_ptr<double>()[i]);
      out << buf;
    }
    out << "\n";
  }
}

struct Model {
  std::shared_ptr<torch::nn::Module> module;
  std::function<torch::Tensor(const torch::Tensor&)> forward;  // input -> outputs
  std::map<std::string, Split> splits;
};

Model make_model(const std::string& kind, const dist::World& w) {
  Model m;
  if (kind == "mlp") {
    torch::manual_seed(42);
    auto seq = torch::nn::Sequential(torch::nn::Linear(8, 16), torch::nn::Tanh(), torch::nn::LayerNorm(std::vector<int64_t>{16}),
                                     torch::nn::Linear(16, 16), torch::nn::Tanh(), torch::nn::Linear(16, 4));
    m.module = seq.ptr();
    m.forward = [seq](const torch::Tensor& x) mutable { return seq->forward(x); };
  } else {
    auto block = ToyBlock(ToyBlockShape{}, w.tp(), 42);
    m.module = block.ptr();
    m.splits = block->splits();
    m.forward = [block](const torch::Tensor& ids) mutable { return block->forward(ids); };
  }
  return m;
}

// The global batches of every step, identical on every rank (inputs, targets).
std::pair<torch::Tensor, torch::Tensor> make_data(const std::string& kind, int steps, int64_t global_batch) {
  torch::manual_seed(7);
  if (kind == "mlp") return {torch::randn({steps, global_batch, 8}), torch::randn({steps, global_batch, 4})};
  ToyBlockShape s;
  return {torch::randint(0, s.vocab, {steps, global_batch, 6}), torch::randn({steps, global_batch, 6, s.out})};
}

int run_train(const Args& a) {
  dist::DistConfig cfg = dist_config(a);
  dist::World world(cfg, dist::read_dist_env());
  const std::string kind = arg(a, "model", "mlp");
  const int steps = iarg(a, "steps", 5), micro = iarg(a, "micro", 2);
  const int64_t global_batch = 8;
  Model model = make_model(kind, world);
  auto named = model.module->named_parameters();
  std::vector<std::pair<std::string, at::Tensor>> named_vec;
  for (const auto& item : named) named_vec.emplace_back(item.key(), item.value());

  dist::GradSyncOptions so;
  so.bucket_bytes = static_cast<int64_t>(cfg.bucket_mb * (1 << 20));
  so.reduce_dtype = cfg.reduce_dtype == dist::ReduceDtype::Bf16 ? at::kBFloat16 : at::kFloat;
  so.shard = cfg.zero1;
  dist::GradSync sync(model.module->parameters(), world.dp_group(), so);

  optim::OptimConfig oc;
  oc.lr = 1e-2;
  oc.weight_decay = 0.1;
  oc.lr_scale["head"] = 0.5;
  oc.clip_grad_norm = darg(a, "clip", 0.5);
  oc.schedule.warmup_steps = 2;
  auto opt = optim::make_optimizer(oc, named_vec, &sync);
  optim::LrSchedule schedule(oc.lr, oc.schedule, steps);

  auto [inputs, targets] = make_data(kind, steps, global_batch);
  const int dp = world.shape().dp;
  const int64_t per_rank = global_batch / dp, per_micro = per_rank / micro;
  const double tokens = static_cast<double>(targets[0].numel() / targets.size(-1));
  // Under tensor parallelism the replicated parameters' gradients count once in the norm.
  auto counted = [&](const std::string& name) {
    auto it = model.splits.find(name);
    return world.tp_rank() == 0 || (it != model.splits.end() && it->second != Split::Replicated);
  };
  std::vector<dist::Group*> norm_groups = opt->grad_norm_groups();
  norm_groups.push_back(world.tp_group_ptr().get());
  std::vector<double> norms;
  for (int s = 0; s < steps; ++s) {
    for (int k = 0; k < micro; ++k) {
      sync.set_sync(k == micro - 1);
      sync.set_grad_scale(1.0 / tokens);
      int64_t begin = world.dp_rank() * per_rank + k * per_micro;
      torch::Tensor x = inputs[s].narrow(0, begin, per_micro);
      torch::Tensor y = targets[s].narrow(0, begin, per_micro);
      torch::Tensor loss = (model.forward(x) - y).pow(2).sum() / static_cast<double>(y.size(-1));
      loss.backward();
    }
    sync.finish();
    double norm = optim::global_grad_norm(opt->update_grads(counted), norm_groups);
    optim::scale_grads_for_clip(opt->update_grads(), oc.clip_grad_norm, norm);
    norms.push_back(norm);
    opt->step(schedule.at(s));
    sync.zero_grad();
    if (s == 0) world.first_step_done();
  }

  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& [name, p] : named_vec) {
    auto it = model.splits.find(name);
    out.emplace_back(name, gather_full(p, it == model.splits.end() ? Split::Replicated : it->second, world));
  }
  optim::OptimizerState state = opt->state_dict();  // collective with ZeRO-1
  std::vector<std::pair<std::string, torch::Tensor>> state_out;
  if (world.shape().tp == 1) {
    for (const auto& [name, t] : state.tensors) state_out.emplace_back(name, t);
  }
  if (world.rank() == 0) {
    std::string dir = arg(a, "out", ".");
    write_tensors(dir + "/params.txt", out);
    write_tensors(dir + "/state.txt", state_out);
    write_tensors(dir + "/norms.txt", {{"norms", torch::tensor(norms, torch::kDouble)}});
    auto st = sync.stats();
    auto mem = opt->memory();
    std::ofstream(dir + "/stats.txt") << st.buckets << " " << st.launched_during_backward << " " << mem.state_bytes
                                      << " " << mem.full_state_bytes << "\n";
  }
  world.finish();
  return 0;
}

int run_tp_grad(const Args& a) {
  dist::World world(dist_config(a), dist::read_dist_env());
  Model model = make_model("block", world);
  auto [inputs, targets] = make_data("block", 1, 4);
  torch::Tensor out = model.forward(inputs[0]);
  ((out - targets[0]).pow(2).sum()).backward();
  std::vector<std::pair<std::string, torch::Tensor>> res{{"output", out.detach()}};
  for (const auto& item : model.module->named_parameters()) {
    res.emplace_back(item.key() + ".grad", gather_full(item.value().grad(), model.splits.at(item.key()), world));
  }
  if (world.rank() == 0) write_tensors(arg(a, "out", ".") + "/tp_grad.txt", res);
  world.finish();
  return 0;
}

// All-reduces in a loop; the victim rank dies, hangs or exits at iteration 5.
int run_loop(const Args& a) {
  dist::World world(dist_config(a), dist::read_dist_env());
  const int victim = iarg(a, "victim", 1);
  const std::string mode = arg(a, "mode", "kill");
  for (int i = 0; i < 2000; ++i) {
    if (world.rank() == victim && i == 5) {
      if (mode == "kill") ::raise(SIGKILL);
      if (mode == "hang") std::this_thread::sleep_for(std::chrono::hours(1));
      if (mode == "exit") throw UserError("the victim rank stops on purpose", static_cast<ExitCode>(iarg(a, "code", 3)));
    }
    torch::Tensor t = torch::ones({4});
    world.world().all_reduce(t);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  world.finish();
  return 0;
}

// Waits for SIGUSR1/SIGTERM; every rank agrees to stop at the next boundary and exits 75.
int run_signal(const Args& a) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  dist::World world(dist_config(a), dist::read_dist_env());
  const std::string dir = arg(a, "out", ".");
  std::ofstream(dir + "/ready." + std::to_string(world.rank())) << "ready\n";
  int got = 0;
  for (int step = 0; step < 600; ++step) {
    timespec tick{0, 50 * 1000 * 1000};
    int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig > 0) got = sig;
    dist::StepVerdict v = dist::agree_step(world.world(), got != 0, false);
    if (v.stop) {
      // The launcher signalled every rank; one that agreed before it saw its own collects it now.
      timespec wait{1, 0};
      if (got == 0) got = std::max(0, sigtimedwait(&set, nullptr, &wait));
      std::ofstream(dir + "/stopped." + std::to_string(world.rank())) << got << "\n";
      world.finish();
      return static_cast<int>(ExitCode::Preempted);
    }
  }
  return 1;
}

// Agreement helpers: every rank checks the collective answers.
int run_agree(const Args& a) {
  dist::World world(dist_config(a), dist::read_dist_env());
  dist::Group& g = world.world();
  const int r = world.rank(), n = world.size();
  bool ok = dist::agree_any(g, r == n - 1) && !dist::agree_any(g, false) && !dist::agree_all(g, r == 0) &&
            dist::agree_all(g, true);
  auto v = dist::agree_step(g, false, r == 1);
  ok = ok && !v.stop && v.skip_update;
  ok = ok && dist::all_reduce_int(g, r + 1) == n * (n + 1) / 2;
  ok = ok && dist::all_reduce_int(g, r, dist::ReduceOp::Min) == 0;
  ok = ok && dist::all_reduce_double(g, 0.5, dist::ReduceOp::Sum) == 0.5 * n;
  world.finish();
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ec::test

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: dist_worker SCENARIO [--key value]...\n";
    return 2;
  }
  ec::test::Args a;
  for (int i = 2; i + 1 < argc; i += 2) a[std::string(argv[i]).substr(2)] = argv[i + 1];
  std::string scenario = argv[1];
  try {
    torch::set_num_threads(1);
    if (scenario == "train") return ec::test::run_train(a);
    if (scenario == "tp_grad") return ec::test::run_tp_grad(a);
    if (scenario == "loop") return ec::test::run_loop(a);
    if (scenario == "signal") return ec::test::run_signal(a);
    if (scenario == "agree") return ec::test::run_agree(a);
    std::cerr << "dist_worker: unknown scenario " << scenario << "\n";
    return 2;
  } catch (const ec::UserError& e) {
    std::cerr << "dist_worker: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "dist_worker: unexpected error: " << e.what() << "\n";
    return 1;
  }
}
