#include "trainers/model_source.h"

#include <ATen/ATen.h>

#include <set>

#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/ckpt/manifest.h"
#include "editcaption/ckpt/verify.h"
#include "editcaption/config/node.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/hash.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/io/safetensors_index.h"
#include "models/nn/shape.h"
#include "models/qwen_vl/build.h"
#include "models/qwen_vl/hf_config.h"
#include "models/qwen_vl/lora.h"
#include "trainers/checkpoint_model.h"
#include "trainers/experiment_config.h"
#include "trainers/hf_processor.h"

namespace ec::train {
namespace fs = std::filesystem;

namespace {

constexpr const char* kModelTensors = "model";
constexpr const char* kConfigJson = "config";

bool is_hf_dir(const fs::path& dir) {
  return fs::is_regular_file(dir / "config.json") &&
         (fs::is_regular_file(dir / "model.safetensors") || fs::is_regular_file(dir / "model.safetensors.index.json"));
}

/// The step directory a `latest` file names, checked to be a plain step_* name inside `root`.
fs::path follow_latest(const fs::path& root) {
  const fs::path latest = root / std::string(ckpt::kLatestFile);
  const std::string name(trim(read_file(latest)));
  EC_USER_CHECK(ckpt::parse_step_dir_name(name).has_value(), Checkpoint,
                "{}: names '{}', which is not a checkpoint directory (step_XXXXXXXX)", latest.string(), name);
  const fs::path dir = root / name;
  EC_USER_CHECK(fs::is_directory(dir), Checkpoint, "{}: names '{}', which does not exist", latest.string(), dir.string());
  return dir;
}

std::string combined_identity(const std::vector<std::pair<std::string, std::string>>& digests) {
  if (digests.size() == 1) return digests.front().second;
  std::string lines;
  for (const auto& [name, digest] : digests) lines += name + " " + digest + "\n";
  return sha256_hex(lines);
}

at::ScalarType default_hf_dtype(at::Device device) { return device.is_cuda() ? at::kBFloat16 : at::kFloat; }

ExperimentConfig read_checkpoint_config(const ckpt::Checkpoint& ck, nlohmann::ordered_json* json) {
  const std::string where = (ck.dir() / ckpt::rank_dir_name(0) / "config.json").string();
  EC_USER_CHECK(ck.has_json(0, kConfigJson), Checkpoint,
                "{}: the checkpoint has no {} (the resolved config inference needs)", ck.dir().string(), where);
  *json = nlohmann::ordered_json::parse(ck.json(0, kConfigJson).dump());
  try {
    return config::read<ExperimentConfig>(config::parse_yaml(config::json_to_yaml(*json), where));
  } catch (const UserError& e) {
    throw EC_USER_ERROR(Checkpoint, "{}: not a config this build can read: {}", where, e.what());
  }
}

/// The architecture the checkpoint was trained with: a pretrained base's config.json replaced the
/// shape keys at training time, so it has to be read again (its weights are not needed).
models::QwenVLConfig checkpoint_architecture(const models::QwenVLConfig& trained, const fs::path& ckpt_dir) {
  if (trained.pretrained.empty()) return trained;
  EC_USER_CHECK(fs::is_regular_file(trained.pretrained / "config.json"), Checkpoint,
                "{}: the model was fine-tuned from '{}', whose config.json (the architecture) is missing",
                ckpt_dir.string(), trained.pretrained.string());
  models::QwenVLConfig arch = models::resolve_config(trained);
  arch.pretrained.clear();
  return arch;
}

/// Copies every parameter from the checkpoint's model tensors; all mismatches in one error.
void copy_parameters(nn::QwenVLImpl& model, const std::map<std::string, at::Tensor>& file, const std::string& where) {
  auto params = model.named_parameters();
  std::vector<std::string> problems;
  std::set<std::string> used;
  at::NoGradGuard no_grad;
  for (auto& p : params) {
    const std::string& name = p.key();
    auto it = file.find(name);
    if (it == file.end()) {
      problems.push_back(fmt::format("{} is missing", name));
      continue;
    }
    used.insert(name);
    const at::Tensor& value = it->second;
    if (value.sizes() != p.value().sizes()) {
      problems.push_back(fmt::format("{} is {} in the file, the model needs {}", name, nn::shape_str(value),
                                     nn::shape_str(p.value())));
      continue;
    }
    p.value().copy_(value);
  }
  for (const auto& [name, t] : file) {
    if (!used.count(name)) problems.push_back(fmt::format("{} is not a parameter of the configured model", name));
  }
  if (!problems.empty()) {
    const size_t shown = std::min<size_t>(problems.size(), 12);
    std::vector<std::string> head(problems.begin(), problems.begin() + static_cast<std::ptrdiff_t>(shown));
    throw EC_USER_ERROR(Checkpoint, "{}: {} tensor(s) do not fit the checkpoint's model config:\n  {}{}", where,
                        problems.size(), join(head, "\n  "), problems.size() > shown ? "\n  ..." : "");
  }
}

void check_tokenizer(const ModelSource& s) {
  models::check_tokens(s.model_config, s.tokenizer->special_tokens(), s.tokenizer->vocab_size());
}

ModelSource load_checkpoint(const fs::path& dir, at::Device device, std::optional<at::ScalarType> dtype,
                            bool with_tokenizer) {
  ckpt::VerifyReport verified = ckpt::verify_checkpoint(dir, ckpt::VerifyLevel::Sizes);
  EC_USER_CHECK(verified.ok(), Checkpoint, "{}: not a usable checkpoint: {}", dir.string(), verified.summary());
  ckpt::Checkpoint ck(dir);
  ModelSource s;
  s.kind = ModelSourceKind::Checkpoint;
  s.resolved = dir;
  ExperimentConfig cfg = read_checkpoint_config(ck, &s.config);
  EC_USER_CHECK(ck.has_tensors(0, kModelTensors), Checkpoint, "{}: the checkpoint has no {}/{}.safetensors",
                dir.string(), ckpt::rank_dir_name(0), kModelTensors);

  models::QwenVLConfig arch = checkpoint_architecture(cfg.model, dir);
  if (dtype) {
    arch.dtype = *dtype == at::kBFloat16 ? models::ParamDtype::BFloat16
                 : *dtype == at::kHalf   ? models::ParamDtype::Float16
                                         : models::ParamDtype::Float32;
  }
  // Adapters and frozen flags come from the config so that the adapter tensors have somewhere to go.
  // A tensor-parallel run's parts are joined into the full model (checkpoint_model.h).
  s.model = models::build_model(arch, {device, /*seed=*/0, /*tp=*/nullptr});
  copy_parameters(*s.model, read_checkpoint_model(ck), checkpoint_model_files(ck));
  if (models::has_lora(*s.model)) models::merge_lora(*s.model);
  s.model->eval();
  s.model_config = arch;
  s.identity = checkpoint_model_digest(ck);

  s.chat = data::make_chat_options(cfg.prompt, arch.family);
  s.image = data::ImageProcessorOptions::for_family(arch.family, cfg.data.image);
  if (!with_tokenizer) return s;
  const fs::path tok = !cfg.data.tokenizer.empty() ? cfg.data.tokenizer : cfg.model.pretrained;
  EC_USER_CHECK(!tok.empty(), Checkpoint,
                "{}: the checkpoint config names no tokenizer (data.tokenizer and model.pretrained are empty)",
                dir.string());
  s.tokenizer = data::load_tokenizer(tok);
  check_tokenizer(s);
  return s;
}

ModelSource load_hf(const fs::path& dir, at::Device device, std::optional<at::ScalarType> dtype, bool with_tokenizer) {
  ModelSource s;
  s.kind = ModelSourceKind::HuggingFace;
  s.resolved = dir;
  s.model_config = models::load_hf_config(dir);
  s.model = models::load_pretrained(dir, device, dtype.value_or(default_hf_dtype(device)));
  s.model->eval();
  s.chat = data::make_chat_options(data::PromptConfig{}, s.model_config.family);
  s.image = read_preprocessor_config(dir, s.model_config.family);
  io::ShardedSafetensors weights(dir);
  std::vector<std::pair<std::string, std::string>> digests;
  for (const auto& shard : weights.shard_files()) digests.emplace_back(shard, sha256_file(dir / shard));
  s.identity = combined_identity(digests);
  if (with_tokenizer) {
    s.tokenizer = data::load_tokenizer(dir);
    check_tokenizer(s);
  }
  return s;
}

}  // namespace

ResolvedModelPath resolve_model_path(const fs::path& path) {
  EC_USER_CHECK(fs::is_directory(path), Input, "--model {}: no such directory", path.string());
  if (fs::is_regular_file(path / ckpt::kManifestFile)) return {path, ModelSourceKind::Checkpoint};
  if (fs::is_regular_file(path / "checkpoints" / std::string(ckpt::kLatestFile))) {
    return {follow_latest(path / "checkpoints"), ModelSourceKind::Checkpoint};
  }
  if (fs::is_regular_file(path / std::string(ckpt::kLatestFile))) {
    return {follow_latest(path), ModelSourceKind::Checkpoint};
  }
  if (is_hf_dir(path)) return {path, ModelSourceKind::HuggingFace};
  throw EC_USER_ERROR(Input,
                      "{}: not a model. Expected a Hugging Face model directory (config.json, model*.safetensors, "
                      "tokenizer.json), an editcaption checkpoint (step_XXXXXXXX/ with manifest.json) or a run "
                      "directory (checkpoints/latest)",
                      path.string());
}

ModelSource load_model_source(const fs::path& path, at::Device device, std::optional<at::ScalarType> dtype,
                              bool with_tokenizer) {
  ResolvedModelPath r = resolve_model_path(path);
  ModelSource s = r.kind == ModelSourceKind::Checkpoint ? load_checkpoint(r.dir, device, dtype, with_tokenizer)
                                                        : load_hf(r.dir, device, dtype, with_tokenizer);
  // The processor must cut patches the way the vision tower was built for.
  s.image.patch_size = s.model_config.vision.patch_size;
  s.image.merge_size = s.model_config.vision.spatial_merge_size;
  s.image.temporal_patch_size = s.model_config.vision.temporal_patch_size;
  s.chat.spatial_merge = s.model_config.vision.spatial_merge_size;
  log::info("model {} ({}, identity {})", s.resolved.string(),
            s.kind == ModelSourceKind::Checkpoint ? "checkpoint" : "Hugging Face", s.identity.substr(0, 16));
  return s;
}

}  // namespace ec::train
