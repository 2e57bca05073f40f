#include "trainers/optim/adamw.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <map>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"

namespace ec::optim {

at::ScalarType state_dtype(at::ScalarType t) { return t == at::kDouble ? at::kDouble : at::kFloat; }

nlohmann::ordered_json adamw_meta(const std::vector<ParamGroup>& groups, const AdamWOptions& options) {
  nlohmann::ordered_json meta;
  meta["optimizer"] = "adamw";
  meta["betas"] = {options.beta1, options.beta2};
  meta["eps"] = options.eps;
  auto gs = nlohmann::ordered_json::array();
  for (const auto& g : groups) {
    nlohmann::ordered_json j;
    j["name"] = g.name;
    j["weight_decay"] = g.weight_decay;
    j["lr_scale"] = g.lr_scale;
    j["params"] = g.names;
    gs.push_back(j);
  }
  meta["groups"] = gs;
  return meta;
}

void check_state_params(const OptimizerState& state, const std::vector<ParamGroup>& groups) {
  EC_USER_CHECK(state.meta.value("optimizer", "") == "adamw", Checkpoint,
                "optimizer state is '{}', expected 'adamw'", state.meta.value("optimizer", "?"));
  std::set<std::string> saved, current;
  for (const auto& g : state.meta.at("groups")) {
    for (const auto& n : g.at("params")) saved.insert(n.get<std::string>());
  }
  for (const auto& g : groups) current.insert(g.names.begin(), g.names.end());
  for (const auto& n : current) {
    EC_USER_CHECK(saved.count(n), Checkpoint, "optimizer state has no entry for trainable parameter '{}'", n);
  }
  for (const auto& n : saved) {
    EC_USER_CHECK(current.count(n), Checkpoint,
                  "optimizer state has parameter '{}' that is not trainable in this model", n);
  }
}

const at::Tensor& state_tensor(const OptimizerState& state, const std::string& name, at::IntArrayRef shape) {
  auto it = state.tensors.find(name);
  EC_USER_CHECK(it != state.tensors.end(), Checkpoint, "optimizer state lacks tensor '{}'", name);
  EC_USER_CHECK(it->second.sizes() == shape, Checkpoint, "optimizer tensor '{}' has shape [{}] but the model needs [{}]",
                name, fmt::join(it->second.sizes(), ", "), fmt::join(shape, ", "));
  return it->second;
}

AdamW::AdamW(std::vector<ParamGroup> groups, AdamWOptions options) : groups_(std::move(groups)), options_(options) {
  at::NoGradGuard no_grad;
  for (const auto& g : groups_) {
    EC_CHECK(g.names.size() == g.params.size(), "group '{}': {} names for {} parameters", g.name, g.names.size(),
             g.params.size());
    std::vector<ParamState> st;
    for (const auto& p : g.params) {
      ParamState s;
      auto opts = p.options().dtype(state_dtype(p.scalar_type()));
      s.exp_avg = at::zeros(p.sizes(), opts);
      s.exp_avg_sq = at::zeros(p.sizes(), opts);
      if (state_dtype(p.scalar_type()) != p.scalar_type()) s.master = p.detach().to(opts.dtype());
      st.push_back(std::move(s));
    }
    state_.push_back(std::move(st));
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const ParamGroup& g = groups_[gi];
    // One multi-tensor call per (device, math type).
    std::map<std::pair<std::string, int>, std::vector<size_t>> buckets;
    for (size_t i = 0; i < g.params.size(); ++i) {
      const at::Tensor& p = g.params[i];
      if (!p.grad().defined()) continue;  // as torch.optim: no gradient, no update, no step
      buckets[{p.device().str(), static_cast<int>(state_dtype(p.scalar_type()))}].push_back(i);
    }
    AdamWHyper h{lr * g.lr_scale, options_.beta1, options_.beta2, options_.eps, g.weight_decay};
    for (const auto& [key, idx] : buckets) {
      std::vector<at::Tensor> ps, gs, ms, vs;
      std::vector<int64_t> steps;
      for (size_t i : idx) {
        ParamState& s = state_[gi][i];
        s.step += 1;
        ps.push_back(s.master.defined() ? s.master : g.params[i].detach());
        gs.push_back(g.params[i].grad());
        ms.push_back(s.exp_avg);
        vs.push_back(s.exp_avg_sq);
        steps.push_back(s.step);
      }
      bool fused = options_.fused && ps[0].is_cuda();
      adamw_update(ps, gs, ms, vs, steps, h, fused);
      for (size_t i : idx) {
        ParamState& s = state_[gi][i];
        if (s.master.defined()) g.params[i].detach().copy_(s.master);
      }
    }
  }
}

std::vector<at::Tensor> AdamW::update_grads(const ParamFilter& counted) const {
  std::vector<at::Tensor> out;
  for (const auto& g : groups_) {
    for (size_t i = 0; i < g.params.size(); ++i) {
      if (g.params[i].grad().defined() && (!counted || counted(g.names[i]))) out.push_back(g.params[i].grad());
    }
  }
  return out;
}

OptimizerState AdamW::state_dict() {
  OptimizerState s;
  s.meta = adamw_meta(groups_, options_);
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      const std::string& n = groups_[gi].names[i];
      const ParamState& ps = state_[gi][i];
      s.tensors[n + ".exp_avg"] = ps.exp_avg;
      s.tensors[n + ".exp_avg_sq"] = ps.exp_avg_sq;
      s.tensors[n + ".step"] = at::scalar_tensor(ps.step, at::TensorOptions().dtype(at::kLong));
      if (ps.master.defined()) s.tensors[n + ".master"] = ps.master;
    }
  }
  return s;
}

void AdamW::load_state_dict(const OptimizerState& state) {
  check_state_params(state, groups_);
  at::NoGradGuard no_grad;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      const std::string& n = groups_[gi].names[i];
      ParamState& ps = state_[gi][i];
      ps.exp_avg.copy_(state_tensor(state, n + ".exp_avg", ps.exp_avg.sizes()));
      ps.exp_avg_sq.copy_(state_tensor(state, n + ".exp_avg_sq", ps.exp_avg_sq.sizes()));
      ps.step = state_tensor(state, n + ".step", {}).item<int64_t>();
      if (ps.master.defined()) {
        // A state saved without a master (fp32 parameters then) starts from the current weights.
        if (state.tensors.count(n + ".master")) {
          ps.master.copy_(state_tensor(state, n + ".master", ps.master.sizes()));
        } else {
          ps.master.copy_(groups_[gi].params[i].detach());
        }
      }
    }
  }
}

OptimizerMemory AdamW::memory() const {
  OptimizerMemory m;
  for (const auto& group : state_) {
    for (const auto& s : group) {
      m.state_bytes += (s.exp_avg.nbytes() + s.exp_avg_sq.nbytes()) + (s.master.defined() ? s.master.nbytes() : 0);
    }
  }
  m.full_state_bytes = m.state_bytes;
  return m;
}

}  // namespace ec::optim
