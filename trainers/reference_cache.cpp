#include "trainers/reference_cache.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "editcaption/core/check.h"
#include "editcaption/core/error.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/hash.h"

namespace ec::train {

std::string pair_content_key(const data::PairSample& p) {
  Sha256 h;
  auto ids = [&](const std::vector<int32_t>& v) {
    h.update_field(std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t)));
  };
  ids(p.prompt_ids);
  ids(p.chosen_ids);
  ids(p.rejected_ids);
  for (const data::ProcessedImage& img : p.images) {
    at::Tensor px = img.pixel_values.contiguous().to(at::kFloat);
    h.update_field(fmt::format("{}x{}x{}", img.grid_thw[0], img.grid_thw[1], img.grid_thw[2]));
    h.update_field(std::string_view(static_cast<const char*>(px.data_ptr()), px.numel() * sizeof(float)));
  }
  return h.hex_digest();
}

ReferenceCache::ReferenceCache(std::filesystem::path dir, std::string reference_identity, std::string settings)
    : identity_(std::move(reference_identity)), settings_(std::move(settings)) {
  Sha256 h;
  h.update_field(identity_).update_field(settings_);
  path_ = dir / ("ref_" + h.hex_digest().substr(0, 32) + ".json");
  if (!std::filesystem::exists(path_)) return;
  std::ifstream in(path_);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const std::exception& e) {
    throw EC_USER_ERROR(Input, "{}: the reference cache is not valid JSON ({}); delete it to rebuild", path_.string(),
                        e.what());
  }
  EC_USER_CHECK(j.value("reference", "") == identity_ && j.value("settings", "") == settings_, Input,
                "{}: the reference cache belongs to another reference or settings; delete it to rebuild",
                path_.string());
  for (const auto& [k, v] : j.at("entries").items()) entries_[k] = {v.at(0).get<double>(), v.at(1).get<double>()};
}

std::pair<double, double> ReferenceCache::get(const std::string& key, const std::string& pair_id) const {
  auto it = entries_.find(key);
  EC_USER_CHECK(it != entries_.end(), Input, "{}: no cached reference log-probs for pair '{}' (key {})", path_.string(),
                pair_id, key.substr(0, 16));
  return it->second;
}

std::string ReferenceCache::encode() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : entries_) j[k] = {v.first, v.second};
  return j.dump();
}

void ReferenceCache::merge_encoded(const std::string& encoded) {
  const nlohmann::json j = nlohmann::json::parse(encoded);  // items() must not outlive it
  for (const auto& [k, v] : j.items()) entries_[k] = {v.at(0).get<double>(), v.at(1).get<double>()};
}

void ReferenceCache::save() const {
  nlohmann::ordered_json j;
  j["format"] = "editcaption.reference_cache/1";
  j["reference"] = identity_;
  j["settings"] = settings_;
  nlohmann::ordered_json e = nlohmann::ordered_json::object();
  for (const auto& [k, v] : entries_) e[k] = {v.first, v.second};
  j["entries"] = std::move(e);
  std::filesystem::create_directories(path_.parent_path());
  write_file_atomic(path_, j.dump());
}

}  // namespace ec::train
