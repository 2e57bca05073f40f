// Shared helpers of the model tests: tiny presets, random prompts with images, case files.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "editcaption/config/node.h"
#include "editcaption/data/batch.h"
#include "editcaption/io/safetensors.h"
#include "models/qwen_vl/build.h"
#include "tests/common/test_util.h"
#include "trainers/experiment_config.h"

namespace ec::test {

inline std::string tiny_preset(ModelFamily f) {
  switch (f) {
    case ModelFamily::Qwen2VL:
      return "tiny_qwen2_vl.yaml";
    case ModelFamily::Qwen3VL:
      return "tiny_qwen3_vl.yaml";
    default:
      return "tiny.yaml";
  }
}

inline ExperimentConfig load_preset(const std::string& file, const std::vector<std::string>& overrides = {}) {
  return config::read<ExperimentConfig>(config::load_config(source_dir() / "configs" / "models" / file, overrides));
}

inline models::QwenVLConfig tiny_config(ModelFamily f) { return load_preset(tiny_preset(f)).model; }

/// A tiny model with a larger init than transformers' so that every weight moves the outputs.
inline nn::QwenVL tiny_model(ModelFamily f, uint64_t seed = 1, models::QwenVLConfig* out_config = nullptr) {
  models::QwenVLConfig c = tiny_config(f);
  c.init_std = 0.1;
  if (out_config) *out_config = c;
  models::BuildOptions o;
  o.seed = seed;
  nn::QwenVL m = models::build_model(c, o);
  // Random norms and biases (init leaves them at 1 and 0).
  at::NoGradGuard ng;
  at::manual_seed(static_cast<int64_t>(seed) + 99);
  for (auto& p : m->named_parameters()) {
    const std::string& n = p.key();
    if (n.find("norm") != std::string::npos || n.find("ln_q") != std::string::npos || (n.size() > 5 && n.substr(n.size() - 5) == ".bias")) {
      p.value().add_(at::randn_like(p.value()) * 0.1);
    }
  }
  m->eval();
  return m;
}

/// Token ids: `before` random text tokens, one <vs> pad... <ve> span per grid, `after` more.
inline std::vector<int32_t> prompt_ids(const models::QwenVLConfig& c, int64_t before, const std::vector<GridThw>& grids,
                                       int64_t after, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto text = [&](int64_t n) {
    std::vector<int32_t> out;
    at::Tensor t = at::randint(0, 290, {n}, g, at::kLong);
    for (int64_t i = 0; i < n; ++i) out.push_back(static_cast<int32_t>(t[i].item<int64_t>()));
    return out;
  };
  std::vector<int32_t> ids = text(before);
  for (const auto& gr : grids) {
    ids.push_back(static_cast<int32_t>(c.vision_start_token_id));
    const int64_t n = gr[0] * gr[1] * gr[2] / (c.vision.spatial_merge_size * c.vision.spatial_merge_size);
    ids.insert(ids.end(), n, static_cast<int32_t>(c.image_token_id));
    ids.push_back(static_cast<int32_t>(c.vision_end_token_id));
  }
  auto tail = text(after);
  ids.insert(ids.end(), tail.begin(), tail.end());
  return ids;
}

inline at::Tensor pixels(const models::QwenVLConfig& c, const std::vector<GridThw>& grids, uint64_t seed) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(seed);
  int64_t n = 0;
  for (const auto& gr : grids) n += gr[0] * gr[1] * gr[2];
  return at::randn({n, c.vision.patch_dim()}, g, at::kFloat);
}

inline at::Tensor grid_tensor(const std::vector<GridThw>& grids) {
  std::vector<int64_t> flat;
  for (const auto& g : grids) flat.insert(flat.end(), g.begin(), g.end());
  return at::tensor(flat, at::kLong).view({-1, 3});
}

inline at::Tensor ids_tensor(const std::vector<int32_t>& ids) {
  return at::tensor(std::vector<int64_t>(ids.begin(), ids.end()), at::kLong).view({1, -1});
}

/// Every tensor of a safetensors file, loaded.
inline std::map<std::string, at::Tensor> load_tensors(const std::filesystem::path& path) {
  io::SafetensorsFile f(path);
  std::map<std::string, at::Tensor> out;
  for (const auto& n : f.names()) out[n] = f.load(n);
  return out;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace ec::test
