#include "trainers/inference_config.h"

#include "editcaption/config/node.h"

namespace ec::train {

ExperimentConfig inference_config(const ModelSource& source, const std::filesystem::path& file,
                                  const std::vector<std::string>& overrides) {
  if (source.config.is_null()) return config::read<ExperimentConfig>(config::load_config(file, overrides));
  const std::string where = (source.resolved / "rank_00000" / "config.json").string();
  config::Node root = config::parse_yaml(config::json_to_yaml(source.config), where);
  config::merge(root, config::load_config(file, {}));
  int index = 1;
  for (const auto& o : overrides) config::apply_override(root, o, index++);
  return config::read<ExperimentConfig>(root);
}

void apply_inference_config(ModelSource& s, const ExperimentConfig& cfg) {
  s.chat = data::make_chat_options(cfg.prompt, s.model_config.family);
  s.chat.spatial_merge = s.model_config.vision.spatial_merge_size;
  // Unset pixel bounds keep the source's own (its preprocessor_config.json or training config).
  const data::ImageConfig& image = cfg.data.image;
  if (image.min_pixels) s.image.min_pixels = *image.min_pixels;
  if (image.max_pixels) s.image.max_pixels = *image.max_pixels;
  s.image.decode.max_decode_pixels = image.max_decode_pixels;
  s.image.decode.reduce_above_pixels = image.reduce_decode_above_pixels;
}

CaptionOptions caption_options(const ExperimentConfig& cfg) {
  CaptionOptions o;
  o.generation = cfg.generation;
  o.budget = cfg.data.budget;
  return o;
}

}  // namespace ec::train
