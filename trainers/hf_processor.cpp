#include "trainers/hf_processor.h"

#include <nlohmann/json.hpp>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"

namespace ec::train {

namespace {

using json = nlohmann::json;

int64_t positive_int(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  EC_USER_CHECK(v.is_number_integer() && v.get<int64_t>() > 0, Input, "{}: '{}' must be a positive integer, got {}",
                where, key, v.dump());
  return v.get<int64_t>();
}

std::array<float, 3> triple(const json& j, const char* key, const std::string& where) {
  const json& v = j.at(key);
  EC_USER_CHECK(v.is_array() && v.size() == 3 && v[0].is_number() && v[1].is_number() && v[2].is_number(), Input,
                "{}: '{}' must be a list of 3 numbers, got {}", where, key, v.dump());
  return {v[0].get<float>(), v[1].get<float>(), v[2].get<float>()};
}

}  // namespace

data::ImageProcessorOptions read_preprocessor_config(const std::filesystem::path& dir, ModelFamily family) {
  data::ImageProcessorOptions o = data::ImageProcessorOptions::for_family(family);
  const auto path = dir / "preprocessor_config.json";
  if (!std::filesystem::is_regular_file(path)) return o;
  const std::string where = path.string();
  json j;
  try {
    j = json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw EC_USER_ERROR(Input, "{}: malformed JSON ({})", where, e.what());
  }
  EC_USER_CHECK(j.is_object(), Input, "{}: expected a JSON object", where);
  if (j.contains("patch_size")) o.patch_size = positive_int(j, "patch_size", where);
  if (j.contains("merge_size")) o.merge_size = positive_int(j, "merge_size", where);
  if (j.contains("temporal_patch_size")) o.temporal_patch_size = positive_int(j, "temporal_patch_size", where);
  if (j.contains("image_mean")) o.mean = triple(j, "image_mean", where);
  if (j.contains("image_std")) o.stddev = triple(j, "image_std", where);
  // transformers 4.4x writes min/max_pixels at the top level, 4.5x and later a `size` object.
  if (j.contains("size") && j["size"].is_object()) {
    const json& size = j["size"];
    if (size.contains("shortest_edge")) o.min_pixels = positive_int(size, "shortest_edge", where + " size");
    if (size.contains("longest_edge")) o.max_pixels = positive_int(size, "longest_edge", where + " size");
  }
  if (j.contains("min_pixels") && !j["min_pixels"].is_null()) o.min_pixels = positive_int(j, "min_pixels", where);
  if (j.contains("max_pixels") && !j["max_pixels"].is_null()) o.max_pixels = positive_int(j, "max_pixels", where);
  EC_USER_CHECK(o.min_pixels <= o.max_pixels, Input, "{}: min_pixels {} is above max_pixels {}", where, o.min_pixels,
                o.max_pixels);
  return o;
}

}  // namespace ec::train
