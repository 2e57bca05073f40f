#include "trainers/optim/zero.h"

#include <ATen/ATen.h>

#include <map>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"

namespace ec::optim {

namespace {

at::ScalarType dtype_from_name(const std::string& s) {
  for (auto t : {at::kFloat, at::kDouble, at::kBFloat16, at::kHalf}) {
    if (c10::toString(t) == s) return t;
  }
  throw EC_USER_ERROR(Checkpoint, "optimizer shard: unknown parameter dtype '{}'", s);
}

const char* kKeys[] = {"exp_avg", "exp_avg_sq", "master"};

}  // namespace

ZeroAdamW::ZeroAdamW(std::vector<ParamGroup> groups, dist::GradSync& sync, AdamWOptions options)
    : groups_(std::move(groups)), sync_(sync), options_(options) {
  EC_CHECK(sync_.sharded(), "ZeroAdamW needs a GradSync built with shard = true");
  const auto& params = sync_.params();
  std::map<const void*, int> index;
  for (int k = 0; k < static_cast<int>(params.size()); ++k) index[params[k].unsafeGetTensorImpl()] = k;
  names_.assign(params.size(), "");
  group_of_.assign(params.size(), -1);
  for (int gi = 0; gi < static_cast<int>(groups_.size()); ++gi) {
    for (size_t i = 0; i < groups_[gi].params.size(); ++i) {
      auto it = index.find(groups_[gi].params[i].unsafeGetTensorImpl());
      EC_CHECK(it != index.end(), "ZeroAdamW: parameter '{}' is not in the GradSync", groups_[gi].names[i]);
      names_[it->second] = groups_[gi].names[i];
      group_of_[it->second] = gi;
    }
  }
  for (size_t k = 0; k < params.size(); ++k) {
    EC_CHECK(group_of_[k] >= 0, "ZeroAdamW: GradSync parameter {} belongs to no optimizer group", k);
  }
  steps_.assign(params.size(), 0);
  const auto& layout = sync_.layout();
  pieces_ = layout.pieces(sync_.group().rank());
  at::NoGradGuard no_grad;
  for (int b = 0; b < static_cast<int>(layout.buckets.size()); ++b) {
    at::Tensor shard = sync_.param_shard(b);
    auto sd = state_dtype(shard.scalar_type());
    exp_avg_.push_back(at::zeros(shard.sizes(), shard.options().dtype(sd)));
    exp_avg_sq_.push_back(at::zeros(shard.sizes(), shard.options().dtype(sd)));
    master_.push_back(sd != shard.scalar_type() ? shard.to(sd) : at::Tensor());
  }
  auto m = memory();
  log::info("optim: ZeRO-1 over {} data-parallel ranks: optimizer state {} per rank instead of {} (saves {})",
            sync_.group().size(), human_bytes(static_cast<double>(m.state_bytes)),
            human_bytes(static_cast<double>(m.full_state_bytes)), human_bytes(static_cast<double>(m.saved_bytes())));
}

ZeroAdamW::Slice ZeroAdamW::slice(const dist::ShardPiece& p) const {
  at::Tensor param = master_[p.bucket].defined() ? master_[p.bucket] : sync_.param_shard(p.bucket);
  auto cut = [&](const at::Tensor& t) { return t.narrow(0, p.shard_offset, p.size()); };
  return {cut(param), cut(sync_.grad_shard(p.bucket)), cut(exp_avg_[p.bucket]), cut(exp_avg_sq_[p.bucket])};
}

void ZeroAdamW::step(double lr) {
  at::NoGradGuard no_grad;
  for (auto& s : steps_) s += 1;
  // One multi-tensor call per (group, bucket dtype/device).
  std::map<std::pair<int, std::string>, std::vector<const dist::ShardPiece*>> lists;
  for (const auto& p : pieces_) {
    const at::Tensor& shard = sync_.grad_shard(p.bucket);
    lists[{group_of_[p.param], shard.device().str() + c10::toString(shard.scalar_type())}].push_back(&p);
  }
  for (const auto& [key, pieces] : lists) {
    const ParamGroup& g = groups_[key.first];
    std::vector<at::Tensor> ps, gs, ms, vs;
    std::vector<int64_t> steps;
    for (const auto* p : pieces) {
      Slice s = slice(*p);
      ps.push_back(s.param);
      gs.push_back(s.grad);
      ms.push_back(s.exp_avg);
      vs.push_back(s.exp_avg_sq);
      steps.push_back(steps_[p->param]);
    }
    AdamWHyper h{lr * g.lr_scale, options_.beta1, options_.beta2, options_.eps, g.weight_decay};
    adamw_update(ps, gs, ms, vs, steps, h, options_.fused && ps[0].is_cuda());
  }
  for (size_t b = 0; b < master_.size(); ++b) {
    if (master_[b].defined()) sync_.param_shard(static_cast<int>(b)).copy_(master_[b]);
  }
  sync_.all_gather_params();
}

std::vector<at::Tensor> ZeroAdamW::update_grads(const ParamFilter& counted) const {
  std::vector<at::Tensor> out;
  if (!counted) {
    for (size_t b = 0; b < exp_avg_.size(); ++b) out.push_back(sync_.grad_shard(static_cast<int>(b)));
    return out;
  }
  for (const auto& p : pieces_) {
    if (counted(names_[p.param])) out.push_back(slice(p).grad);
  }
  return out;
}

std::vector<dist::Group*> ZeroAdamW::grad_norm_groups() const { return {&sync_.group()}; }

OptimizerMemory ZeroAdamW::memory() const {
  OptimizerMemory m;
  for (size_t b = 0; b < exp_avg_.size(); ++b) {
    m.state_bytes += exp_avg_[b].nbytes() + exp_avg_sq_[b].nbytes() + (master_[b].defined() ? master_[b].nbytes() : 0);
  }
  for (const auto& p : sync_.params()) {
    auto sd = state_dtype(p.scalar_type());
    int64_t per = static_cast<int64_t>(c10::elementSize(sd)) * (sd != p.scalar_type() ? 3 : 2);
    m.full_state_bytes += p.numel() * per;
  }
  return m;
}

OptimizerState ZeroAdamW::state_dict() {
  at::NoGradGuard no_grad;
  OptimizerState s;
  s.meta = adamw_meta(groups_, options_);
  const auto& layout = sync_.layout();
  dist::Group& g = sync_.group();
  for (int b = 0; b < static_cast<int>(layout.buckets.size()); ++b) {
    const auto& bk = layout.buckets[b];
    for (int which = 0; which < 3; ++which) {
      const at::Tensor& shard = which == 0 ? exp_avg_[b] : which == 1 ? exp_avg_sq_[b] : master_[b];
      if (!shard.defined()) continue;
      at::Tensor full = at::empty({bk.padded}, shard.options());
      g.all_gather(full, shard);
      for (const auto& slot : bk.slots) {
        const at::Tensor& p = sync_.params()[slot.param];
        s.tensors[names_[slot.param] + "." + kKeys[which]] = full.narrow(0, slot.offset, slot.numel).view(p.sizes());
      }
    }
  }
  for (size_t k = 0; k < names_.size(); ++k) {
    s.tensors[names_[k] + ".step"] = at::scalar_tensor(steps_[k], at::TensorOptions().dtype(at::kLong));
  }
  return s;
}

void ZeroAdamW::load_state_dict(const OptimizerState& state) {
  check_state_params(state, groups_);
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < names_.size(); ++k) {
    steps_[k] = state_tensor(state, names_[k] + ".step", {}).item<int64_t>();
  }
  for (const auto& p : pieces_) {
    const std::string& n = names_[p.param];
    const at::Tensor& param = sync_.params()[p.param];
    Slice s = slice(p);
    auto src = [&](const char* key) {
      return state_tensor(state, n + "." + key, param.sizes()).reshape({-1}).narrow(0, p.param_begin, p.size());
    };
    s.exp_avg.copy_(src("exp_avg"));
    s.exp_avg_sq.copy_(src("exp_avg_sq"));
    if (master_[p.bucket].defined()) {
      if (state.tensors.count(n + ".master")) {
        s.param.copy_(src("master"));
      } else {
        s.param.copy_(sync_.param_shard(p.bucket).narrow(0, p.shard_offset, p.size()));
      }
    }
  }
}

OptimizerState ZeroAdamW::shard_state_dict() const {
  OptimizerState s;
  s.meta = adamw_meta(groups_, options_);
  nlohmann::ordered_json shard;
  shard["part"] = sync_.group().rank();
  shard["parts"] = sync_.group().size();
  shard["bucket_bytes"] = sync_.options().bucket_bytes;
  shard["names"] = names_;
  auto numel = nlohmann::ordered_json::array(), dtypes = nlohmann::ordered_json::array(),
       shapes = nlohmann::ordered_json::array();
  for (const auto& p : sync_.params()) {
    numel.push_back(p.numel());
    dtypes.push_back(c10::toString(p.scalar_type()));
    shapes.push_back(p.sizes().vec());
  }
  shard["numel"] = numel;
  shard["dtype"] = dtypes;
  shard["shapes"] = shapes;
  nlohmann::ordered_json pieces = nlohmann::ordered_json::object();
  for (const auto& p : pieces_) {
    const std::string& n = names_[p.param];
    pieces[n] = {p.param_begin, p.param_end};
    Slice sl = slice(p);
    s.tensors[n + ".exp_avg"] = sl.exp_avg;
    s.tensors[n + ".exp_avg_sq"] = sl.exp_avg_sq;
    if (master_[p.bucket].defined()) s.tensors[n + ".master"] = sl.param;
  }
  shard["pieces"] = pieces;
  s.meta["shard"] = shard;
  for (size_t k = 0; k < names_.size(); ++k) {
    s.tensors[names_[k] + ".step"] = at::scalar_tensor(steps_[k], at::TensorOptions().dtype(at::kLong));
  }
  return s;
}

void ZeroAdamW::load_shard_state_dict(const OptimizerState& shard) {
  check_state_params(shard, groups_);
  EC_USER_CHECK(shard.meta.contains("shard"), Checkpoint, "optimizer state is not a ZeRO-1 shard");
  const auto& m = shard.meta["shard"];
  EC_USER_CHECK(m.at("parts").get<int>() == sync_.group().size() && m.at("part").get<int>() == sync_.group().rank(),
                Checkpoint, "optimizer shard {} of {} cannot load into data-parallel rank {} of {}: reshard it",
                m.at("part").get<int>(), m.at("parts").get<int>(), sync_.group().rank(), sync_.group().size());
  at::NoGradGuard no_grad;
  for (size_t k = 0; k < names_.size(); ++k) {
    steps_[k] = state_tensor(shard, names_[k] + ".step", {}).item<int64_t>();
  }
  for (const auto& p : pieces_) {
    const std::string& n = names_[p.param];
    auto range = m.at("pieces").value(n, nlohmann::ordered_json::array());
    EC_USER_CHECK(range.size() == 2 && range[0].get<int64_t>() == p.param_begin && range[1].get<int64_t>() == p.param_end,
                  Checkpoint, "optimizer shard holds another slice of '{}' than this layout (bucket size changed?)", n);
    Slice s = slice(p);
    s.exp_avg.copy_(state_tensor(shard, n + ".exp_avg", {p.size()}));
    s.exp_avg_sq.copy_(state_tensor(shard, n + ".exp_avg_sq", {p.size()}));
    if (master_[p.bucket].defined()) s.param.copy_(state_tensor(shard, n + ".master", {p.size()}));
  }
}

ShardLayoutSpec layout_spec_from_meta(const nlohmann::ordered_json& meta) {
  EC_USER_CHECK(meta.contains("shard"), Checkpoint, "optimizer state is not a ZeRO-1 shard (no layout recorded)");
  const auto& m = meta["shard"];
  ShardLayoutSpec spec;
  spec.bucket_bytes = m.at("bucket_bytes").get<int64_t>();
  spec.names = m.at("names").get<std::vector<std::string>>();
  auto numel = m.at("numel").get<std::vector<int64_t>>();
  auto dtypes = m.at("dtype").get<std::vector<std::string>>();
  spec.shapes = m.at("shapes").get<std::vector<std::vector<int64_t>>>();
  EC_USER_CHECK(numel.size() == spec.names.size() && dtypes.size() == spec.names.size(), Checkpoint,
                "optimizer shard layout is inconsistent");
  for (size_t k = 0; k < numel.size(); ++k) spec.params.push_back({numel[k], dtype_from_name(dtypes[k]), at::kCPU});
  return spec;
}

OptimizerState merge_shard_states(const std::vector<OptimizerState>& shards) {
  EC_USER_CHECK(!shards.empty(), Checkpoint, "no optimizer shards to merge");
  ShardLayoutSpec spec = layout_spec_from_meta(shards[0].meta);
  int parts = shards[0].meta["shard"].at("parts").get<int>();
  EC_USER_CHECK(static_cast<int>(shards.size()) == parts, Checkpoint, "{} optimizer shards given, the run had {}",
                shards.size(), parts);
  OptimizerState full;
  full.meta = shards[0].meta;
  full.meta.erase("shard");
  std::vector<int64_t> covered(spec.names.size(), 0);
  std::set<int> seen;
  for (const auto& sh : shards) {
    int part = sh.meta.at("shard").at("part").get<int>();
    EC_USER_CHECK(seen.insert(part).second, Checkpoint, "optimizer shard {} given twice", part);
    for (size_t k = 0; k < spec.names.size(); ++k) {
      const std::string& n = spec.names[k];
      auto range = sh.meta["shard"]["pieces"].value(n, nlohmann::ordered_json::array());
      if (range.size() != 2) continue;
      int64_t begin = range[0].get<int64_t>(), end = range[1].get<int64_t>();
      for (const char* key : kKeys) {
        auto it = sh.tensors.find(n + "." + key);
        if (it == sh.tensors.end()) continue;
        at::Tensor& dst = full.tensors[n + "." + key];
        if (!dst.defined()) dst = at::zeros({spec.params[k].numel}, it->second.options().device(at::kCPU));
        dst.narrow(0, begin, end - begin).copy_(it->second);
      }
      covered[k] += end - begin;
    }
  }
  for (size_t k = 0; k < spec.names.size(); ++k) {
    const std::string& n = spec.names[k];
    EC_USER_CHECK(covered[k] == spec.params[k].numel, Checkpoint,
                  "optimizer shards cover {} of the {} elements of '{}'", covered[k], spec.params[k].numel, n);
    for (const char* key : kKeys) {
      auto it = full.tensors.find(n + "." + key);
      if (it != full.tensors.end()) it->second = it->second.view(spec.shapes[k]);
    }
    full.tensors[n + ".step"] = state_tensor(shards[0], n + ".step", {}).clone();
  }
  return full;
}

OptimizerState split_full_state(const OptimizerState& full, const ShardLayoutSpec& spec, int parts, int part) {
  dist::BucketLayout layout = dist::plan_buckets(spec.params, spec.bucket_bytes, parts);
  OptimizerState out;
  out.meta = full.meta;
  nlohmann::ordered_json shard;
  shard["part"] = part;
  shard["parts"] = parts;
  shard["bucket_bytes"] = spec.bucket_bytes;
  shard["names"] = spec.names;
  auto numel = nlohmann::ordered_json::array(), dtypes = nlohmann::ordered_json::array();
  for (const auto& p : spec.params) {
    numel.push_back(p.numel);
    dtypes.push_back(c10::toString(p.dtype));
  }
  shard["numel"] = numel;
  shard["dtype"] = dtypes;
  shard["shapes"] = spec.shapes;
  nlohmann::ordered_json pieces = nlohmann::ordered_json::object();
  for (const auto& p : layout.pieces(part)) {
    const std::string& n = spec.names[p.param];
    pieces[n] = {p.param_begin, p.param_end};
    for (const char* key : kKeys) {
      auto it = full.tensors.find(n + "." + key);
      if (it == full.tensors.end()) continue;
      out.tensors[n + "." + key] = it->second.reshape({-1}).narrow(0, p.param_begin, p.size()).clone();
    }
  }
  shard["pieces"] = pieces;
  out.meta["shard"] = shard;
  for (const auto& n : spec.names) out.tensors[n + ".step"] = state_tensor(full, n + ".step", {}).clone();
  return out;
}

}  // namespace ec::optim
