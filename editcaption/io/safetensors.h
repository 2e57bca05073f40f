// Reading and writing safetensors files with LibTorch tensors.
//
//   io::SafetensorsFile f("model.safetensors");       // mmap + full header validation
//   at::Tensor w = f.view("lm_head.weight");            // zero-copy, read-only memory
//   io::write_safetensors("out.safetensors", {{"w", w}}, {{"format", "pt"}});
//
// Reading treats the file as hostile (safetensors_header.h lists the checks); every problem is a
// UserError(Input) naming the file and the tensor. Writing is atomic (temp + fsync + rename) and
// byte-compatible with the Python `safetensors` package. Sharded directories: safetensors_index.h.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "editcaption/core/fs.h"
#include "editcaption/io/atomic_file.h"
#include "editcaption/io/safetensors_header.h"

namespace ec::io {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;
using Metadata = std::map<std::string, std::string>;

at::ScalarType to_scalar_type(Dtype dtype);
/// Throws UserError(Usage) for types safetensors cannot hold (complex, quantized...).
Dtype to_dtype(at::ScalarType type);

/// A validated, memory-mapped safetensors file. Cheap to share: tensors returned by view() keep
/// the mapping alive on their own, after this object is gone.
class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return map_->path(); }
  /// In data order.
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  /// Sorted by name.
  std::vector<std::string> names() const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  const TensorInfo* find(std::string_view name) const;
  /// Throws UserError(Input) naming the file when `name` is absent.
  const TensorInfo& info(std::string_view name) const;
  const Metadata& metadata() const { return header_.metadata; }
  uint64_t file_size() const { return map_->size(); }

  /// The raw little-endian bytes of a tensor, inside the mapping.
  std::span<const uint8_t> bytes(std::string_view name) const;
  /// A CPU tensor over the mapping when its address suits the dtype's alignment, else a copy.
  /// The mapping is read-only: clone() before modifying in place (writing to it faults).
  /// BOOL tensors are checked to hold only 0 and 1.
  at::Tensor view(std::string_view name) const;
  /// An owned, writable copy.
  at::Tensor load(std::string_view name) const { return view(name).clone(); }
  /// True if view(name) is zero-copy.
  bool is_zero_copy(std::string_view name) const;

 private:
  std::shared_ptr<const MappedFile> map_;
  SafetensorsHeader header_;
  std::unordered_map<std::string_view, size_t> by_name_;  // views into header_.tensors[i].name
};

struct SafetensorsWriteOptions {
  /// Compute the file's SHA-256 while writing (WrittenFile::sha256).
  bool sha256 = false;
};

/// Writes `tensors` (any device, layout contiguous or not; copied to the CPU one at a time) and
/// `metadata` to `path` atomically. Throws UserError(Usage) for duplicate names, unsupported dtypes
/// or sparse tensors, UserError(Input) for I/O failures.
WrittenFile write_safetensors(const std::filesystem::path& path, const NamedTensors& tensors,
                              const Metadata& metadata = {}, const SafetensorsWriteOptions& options = {});

}  // namespace ec::io
