#include "trainers/init_weights.h"

#include <fmt/ranges.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/ckpt/manifest.h"
#include "editcaption/config/node.h"
#include "editcaption/core/hash.h"
#include "editcaption/core/log.h"
#include "models/qwen_vl/build.h"
#include "models/qwen_vl/lora.h"
#include "models/qwen_vl/tp_shard.h"
#include "trainers/checkpoint_model.h"

namespace ec::train {
namespace fs = std::filesystem;

namespace {

bool is_lora_name(const std::string& name) { return name.find("lora_") != std::string::npos; }

}  // namespace

std::optional<fs::path> checkpoint_dir_of(const fs::path& path) {
  if (fs::exists(path / ckpt::kManifestFile)) return path;
  for (const fs::path& root : {path / "checkpoints", path}) {
    const fs::path latest = root / ckpt::kLatestFile;
    if (!fs::exists(latest)) continue;
    std::ifstream in(latest);
    std::string name;
    std::getline(in, name);
    EC_USER_CHECK(!name.empty() && fs::exists(root / name / ckpt::kManifestFile), Checkpoint,
                  "{}: names '{}', which is not a complete checkpoint", latest.string(), name);
    return root / name;
  }
  return std::nullopt;
}

ExperimentConfig checkpoint_config(const fs::path& dir) {
  ckpt::Checkpoint c(dir);
  EC_USER_CHECK(c.has_json(0, "config"), Checkpoint, "{}: the checkpoint holds no rank_00000/config.json", dir.string());
  const std::string text = c.json(0, "config").dump();
  return config::read<ExperimentConfig>(config::parse_yaml(text, (dir / "rank_00000/config.json").string()));
}

void load_named_parameters(torch::nn::Module& model, const std::map<std::string, at::Tensor>& tensors,
                           const std::string& what, const std::function<bool(const std::string&)>& allow_missing) {
  torch::NoGradGuard no_grad;
  std::set<std::string> used;
  for (auto& item : model.named_parameters()) {
    auto it = tensors.find(item.key());
    if (it == tensors.end()) {
      EC_USER_CHECK(allow_missing && allow_missing(item.key()), Checkpoint, "{}: no tensor '{}'", what, item.key());
      continue;
    }
    at::Tensor& p = item.value();
    EC_USER_CHECK(it->second.sizes() == p.sizes(), Checkpoint, "{}: tensor '{}' has shape {} but the model expects {}",
                  what, item.key(), fmt::format("{}", fmt::join(it->second.sizes(), "x")),
                  fmt::format("{}", fmt::join(p.sizes(), "x")));
    p.copy_(it->second);
    used.insert(item.key());
  }
  for (const auto& [name, t] : tensors) {
    EC_USER_CHECK(used.count(name) || (allow_missing && allow_missing(name)), Checkpoint,
                  "{}: tensor '{}' matches no parameter of the model", what, name);
  }
}

std::string hf_weights_identity(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".safetensors") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  EC_USER_CHECK(!files.empty(), Input, "{}: no *.safetensors files", dir.string());
  Sha256 h;
  for (const fs::path& f : files) h.update_field(f.filename().string()).update_field(sha256_file(f));
  return "hf:" + h.hex_digest();
}

Policy build_policy(const ExperimentConfig& cfg, at::Device device, const dist::TpGroup* tp) {
  models::BuildOptions bo;
  bo.device = device;
  bo.seed = cfg.run.seed;
  bo.tp = tp;
  const fs::path& init = cfg.train.init;
  Policy out;
  if (init.empty()) {
    out.model = models::build_model(cfg.model, bo);
    if (!cfg.model.pretrained.empty()) {
      out.identity = hf_weights_identity(cfg.model.pretrained);
      out.source = cfg.model.pretrained.string();
    } else {
      // The random init is a function of the architecture and the seed.
      models::QwenVLConfig arch = cfg.model;
      arch.lora = {};
      arch.freeze = {};
      arch.activation_checkpointing = false;
      out.identity = "init:" + sha256_hex(config::to_json(arch).dump() + fmt::format("|seed={}", cfg.run.seed));
      out.source = fmt::format("random init (seed {})", cfg.run.seed);
    }
    return out;
  }
  if (auto dir = checkpoint_dir_of(init)) {
    ckpt::Checkpoint c(*dir);
    // Full tensors whatever tp wrote the checkpoint; this run's model takes its own part of them.
    std::map<std::string, at::Tensor> tensors = read_checkpoint_model(c);
    const std::string digest = checkpoint_model_digest(c);
    models::QwenVLConfig arch = cfg.model;
    arch.pretrained.clear();
    out.model = models::build_model(arch, bo);
    const bool stored_lora = std::any_of(tensors.begin(), tensors.end(), [](const auto& t) { return is_lora_name(t.first); });
    if (stored_lora) {
      // Fold the stored adapters into their base weights first: the new stage starts from the
      // model the previous one trained. (LoRA runs are never tensor parallel: the full model.)
      models::QwenVLConfig stored = checkpoint_config(*dir).model;
      stored.pretrained.clear();
      stored.freeze = {};
      models::BuildOptions full = bo;
      full.tp = nullptr;
      nn::QwenVL tmp = models::build_model(stored, full);
      load_named_parameters(*tmp, tensors, dir->string());
      models::merge_lora(*tmp);
      tensors.clear();
      for (auto& item : tmp->named_parameters()) {
        if (!is_lora_name(item.key())) tensors[item.key()] = item.value().detach();
      }
    }
    if (dist::tp_size(tp) > 1) tensors = models::tp_shard_all(tensors, dist::tp_rank(tp), dist::tp_size(tp));
    load_named_parameters(*out.model, tensors, checkpoint_model_files(c),
                          [](const std::string& name) { return is_lora_name(name); });
    out.identity = "ckpt:" + digest;
    out.source = dir->string();
    return out;
  }
  EC_USER_CHECK(fs::exists(init / "config.json"), Input,
                "train.init: '{}' is neither a checkpoint, a run directory nor a Hugging Face model directory",
                init.string());
  models::QwenVLConfig arch = cfg.model;
  arch.pretrained = init;
  out.model = models::build_model(arch, bo);
  out.identity = hf_weights_identity(init);
  out.source = init.string();
  return out;
}

}  // namespace ec::train
