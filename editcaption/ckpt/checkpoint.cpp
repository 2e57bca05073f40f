#include "editcaption/ckpt/checkpoint.h"

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/io/json_strict.h"

namespace ec::ckpt {
namespace fs = std::filesystem;

Checkpoint::Checkpoint(fs::path dir) : dir_(std::move(dir)), manifest_(read_manifest(dir_)) {}

std::string Checkpoint::file_path(int rank, const std::string& name, const char* ext) const {
  return rank_dir_name(rank) + "/" + name + ext;
}

std::vector<std::string> Checkpoint::names(int rank, const char* ext) const {
  std::string prefix = rank_dir_name(rank) + "/";
  std::string_view suffix(ext);
  std::vector<std::string> out;
  for (const auto& [path, _] : manifest_.files) {
    if (path.starts_with(prefix) && path.ends_with(suffix)) {
      out.push_back(path.substr(prefix.size(), path.size() - prefix.size() - suffix.size()));
    }
  }
  return out;
}

std::vector<std::string> Checkpoint::tensor_names(int rank) const { return names(rank, ".safetensors"); }
std::vector<std::string> Checkpoint::json_names(int rank) const { return names(rank, ".json"); }

bool Checkpoint::has_tensors(int rank, const std::string& name) const {
  return manifest_.files.count(file_path(rank, name, ".safetensors")) > 0;
}
bool Checkpoint::has_json(int rank, const std::string& name) const {
  return manifest_.files.count(file_path(rank, name, ".json")) > 0;
}

io::SafetensorsFile Checkpoint::tensors(int rank, const std::string& name) const {
  std::string rel = file_path(rank, name, ".safetensors");
  EC_USER_CHECK(manifest_.files.count(rel), Checkpoint, "checkpoint '{}' has no tensor file '{}' (step {}, {} ranks)",
                dir_.string(), rel, step(), world_size());
  return io::SafetensorsFile(dir_ / rel);
}

nlohmann::json Checkpoint::json(int rank, const std::string& name) const {
  std::string rel = file_path(rank, name, ".json");
  EC_USER_CHECK(manifest_.files.count(rel), Checkpoint, "checkpoint '{}' has no JSON document '{}' (step {}, {} ranks)",
                dir_.string(), rel, step(), world_size());
  fs::path p = dir_ / rel;
  return io::parse_json_strict(read_file(p), p.string());
}

RankState Checkpoint::load(int rank) const {
  EC_USER_CHECK(rank >= 0 && rank < world_size(), Checkpoint, "checkpoint '{}' has ranks 0..{}, not {}",
                dir_.string(), world_size() - 1, rank);
  RankState state;
  for (const std::string& name : tensor_names(rank)) {
    io::SafetensorsFile f = tensors(rank, name);
    TensorFile tf;
    tf.metadata = f.metadata();
    for (const auto& info : f.tensors()) tf.tensors.emplace_back(info.name, f.view(info.name));
    state.tensors.emplace(name, std::move(tf));
  }
  for (const std::string& name : json_names(rank)) state.json.emplace(name, json(rank, name));
  return state;
}

}  // namespace ec::ckpt
