#include "models/qwen_vl/export.h"

#include <algorithm>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "models/qwen_vl/hf_config.h"

namespace ec::models {
namespace fs = std::filesystem;

const std::vector<std::string>& exported_asset_names() {
  static const std::vector<std::string> names{
      "tokenizer.json",        "tokenizer_config.json",  "vocab.json",          "merges.txt",
      "special_tokens_map.json", "added_tokens.json",    "tokenizer.model",     "chat_template.json",
      "chat_template.jinja",   "preprocessor_config.json", "video_preprocessor_config.json", "processor_config.json",
      "generation_config.json"};
  return names;
}

nlohmann::ordered_json preprocessor_config(const QwenVLConfig& c) {
  const auto& v = c.vision;
  const int64_t factor = v.patch_size * v.spatial_merge_size;
  const bool q3 = c.family == ModelFamily::Qwen3VL;
  std::vector<double> mean = q3 ? std::vector<double>{0.5, 0.5, 0.5} : std::vector<double>{0.48145466, 0.4578275, 0.40821073};
  std::vector<double> std = q3 ? std::vector<double>{0.5, 0.5, 0.5} : std::vector<double>{0.26862954, 0.26130258, 0.27577711};
  // Hub values: 4 and 16384 merged tokens' worth of pixels (Qwen3-VL: 64 and 16384).
  const int64_t min_tokens = q3 ? 64 : 4;
  return nlohmann::ordered_json{{"image_processor_type", "Qwen2VLImageProcessor"},
                                {"do_convert_rgb", true},
                                {"do_resize", true},
                                {"resample", 3},
                                {"do_rescale", true},
                                {"rescale_factor", 1.0 / 255.0},
                                {"do_normalize", true},
                                {"image_mean", mean},
                                {"image_std", std},
                                {"patch_size", v.patch_size},
                                {"temporal_patch_size", v.temporal_patch_size},
                                {"merge_size", v.spatial_merge_size},
                                {"size", {{"shortest_edge", min_tokens * factor * factor},
                                          {"longest_edge", 16384 * factor * factor}}}};
}

std::vector<std::string> export_hf(nn::QwenVLImpl& model, const fs::path& out_dir, const ExportOptions& o) {
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  EC_USER_CHECK(!ec, Input, "cannot create export directory '{}': {}", out_dir.string(), ec.message());
  SaveOptions so;
  so.dtype = o.dtype;
  so.layout = o.layout;
  so.max_shard_bytes = o.max_shard_bytes;
  save_hf_weights(model, out_dir, so);
  write_file_atomic(out_dir / "config.json", config_to_hf(model.config(), o.dtype).dump(2) + "\n");

  std::vector<std::string> copied;
  for (const auto& src : o.assets) {
    EC_USER_CHECK(fs::exists(src), Input, "export: asset source '{}' does not exist", src.string());
    for (const auto& name : exported_asset_names()) {
      if (std::find(copied.begin(), copied.end(), name) != copied.end()) continue;
      fs::path from = fs::is_directory(src) ? src / name : (src.filename() == name ? src : fs::path());
      if (from.empty() || !fs::is_regular_file(from)) continue;
      write_file_atomic(out_dir / name, read_file(from));
      copied.push_back(name);
    }
  }
  if (std::find(copied.begin(), copied.end(), "preprocessor_config.json") == copied.end()) {
    write_file_atomic(out_dir / "preprocessor_config.json", preprocessor_config(model.config()).dump(2) + "\n");
    copied.push_back("preprocessor_config.json");
  }
  log::info("exported {} model to {} ({} asset files)", config::enum_name(model.config().family), out_dir.string(),
            copied.size());
  return copied;
}

}  // namespace ec::models
