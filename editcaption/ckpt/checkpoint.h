// Reading a committed checkpoint: the manifest, and any rank's tensor files and JSON documents.
// Any rank may read any other rank's files, which is what resharding to another world size needs.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "editcaption/ckpt/manifest.h"
#include "editcaption/ckpt/state.h"
#include "editcaption/io/safetensors.h"

namespace ec::ckpt {

class Checkpoint {
 public:
  /// Reads and checks the manifest; UserError(Checkpoint) if there is none or it is invalid. File
  /// digests are not checked here (verify_checkpoint / resolve_resume do that once, on rank 0).
  explicit Checkpoint(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }
  const Manifest& manifest() const { return manifest_; }
  const CheckpointHeader& header() const { return manifest_.header; }
  int64_t step() const { return manifest_.step; }
  int world_size() const { return manifest_.world_size; }

  /// Names (without extension) of a rank's tensor files and JSON documents, sorted.
  std::vector<std::string> tensor_names(int rank) const;
  std::vector<std::string> json_names(int rank) const;
  bool has_tensors(int rank, const std::string& name) const;
  bool has_json(int rank, const std::string& name) const;

  /// A rank's tensor file (mapped; see io::SafetensorsFile). UserError(Checkpoint) if the
  /// manifest does not list it.
  io::SafetensorsFile tensors(int rank, const std::string& name) const;
  /// A rank's JSON document, parsed strictly.
  nlohmann::json json(int rank, const std::string& name) const;
  /// Everything one rank saved. Tensors are read-only views over the files (clone to modify).
  RankState load(int rank) const;

 private:
  std::string file_path(int rank, const std::string& name, const char* ext) const;
  std::vector<std::string> names(int rank, const char* ext) const;
  std::filesystem::path dir_;
  Manifest manifest_;
};

}  // namespace ec::ckpt
