// Sharded safetensors checkpoints in the Hugging Face layout: PREFIX-00001-of-0000N.safetensors
// plus PREFIX.safetensors.index.json ({"metadata": {"total_size": bytes}, "weight_map":
// {tensor: shard file}}; other keys are ignored), or a single PREFIX.safetensors.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "editcaption/io/safetensors.h"

namespace ec::io {

/// A model's tensors spread over one or more safetensors files. Shards are opened (mapped and
/// validated) on first use; the object is safe to use from several threads.
class ShardedSafetensors {
 public:
  /// `path`: a directory holding PREFIX.safetensors.index.json or PREFIX.safetensors, an index
  /// file, or a single .safetensors file. Throws UserError(Input) naming the file when the index
  /// is unreadable or invalid (duplicate keys, a shard name that is not a plain file name...).
  explicit ShardedSafetensors(const std::filesystem::path& path, const std::string& prefix = "model");

  /// The index file, or the single .safetensors file.
  const std::filesystem::path& source() const { return source_; }
  /// Sorted.
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return weight_map_.count(name) > 0; }
  /// Shard file names (relative to the directory), sorted.
  std::vector<std::string> shard_files() const;
  /// The shard holding `name`; UserError(Input) naming the tensor and the index if absent.
  const std::string& shard_of(const std::string& name) const;
  /// metadata.total_size from the index, if present.
  std::optional<uint64_t> total_size() const { return total_size_; }

  const TensorInfo& info(const std::string& name) const;
  at::Tensor view(const std::string& name) const;
  at::Tensor load(const std::string& name) const { return view(name).clone(); }
  /// Opens (once) and returns a shard by file name.
  std::shared_ptr<const SafetensorsFile> shard(const std::string& file) const;

  /// Opens every shard and checks the index against them: every listed tensor is in its shard
  /// (missing), no tensor is stored in a shard other than the one the index names (duplicate or
  /// unlisted). Throws one UserError(Input) listing the problems. A total_size differing from the
  /// tensors' bytes only warns (writers disagree on shared tensors).
  void verify() const;

 private:
  std::filesystem::path dir_;
  std::filesystem::path source_;
  std::map<std::string, std::string> weight_map_;
  std::optional<uint64_t> total_size_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::shared_ptr<const SafetensorsFile>> open_;
};

struct ShardedWriteOptions {
  /// Start a new shard before a tensor that would take the current one past this size (a larger
  /// tensor gets a shard of its own).
  uint64_t max_shard_bytes = 5'000'000'000;
  std::string prefix = "model";
  bool sha256 = false;
};

/// Writes `tensors` into `dir` (created if needed): one PREFIX.safetensors when everything fits in
/// one shard, else PREFIX-%05d-of-%05d.safetensors files and then PREFIX.safetensors.index.json,
/// each atomically; `metadata` goes into every shard. Returns the files written, index last.
std::vector<WrittenFile> write_safetensors_sharded(const std::filesystem::path& dir, const NamedTensors& tensors,
                                                   const Metadata& metadata = {},
                                                   const ShardedWriteOptions& options = {});

}  // namespace ec::io
