// Packed datasets (`editcaption data pack MANIFEST OUT_DIR`): every record's two images decoded,
// budget-planned and resized once, stored as uint8 [h, w, 3] tensors in memory-mappable
// safetensors shards, so repeated epochs skip decoding and GPU hosts without OpenCV can train
// (normalize + patchify are plain ATen). Layout of OUT_DIR:
//   manifest.jsonl            the source manifest, byte for byte (ids, texts, metadata)
//   index.json                format version, the image processor the images were sized for,
//                             the manifest's SHA-256, and per record: its problem (a record that
//                             failed validation or decoding keeps it, and stays a bad sample) or
//                             its shard, planned max_pixels and image sizes
//   images-00000.safetensors  tensors "<record index>.source" and "<record index>.target"
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "editcaption/data/image_processor.h"
#include "editcaption/data/manifest.h"
#include "editcaption/data/manifest_check.h"
#include "editcaption/data/sample_budget.h"

namespace ec::io {
class SafetensorsFile;
}

namespace ec::data {

inline constexpr int kPackFormatVersion = 1;

struct PackOptions {
  ImageProcessorOptions image;
  BudgetConfig budget;
  /// Exact text-token counts (a tokenizer); empty: estimate_text_tokens (an upper bound).
  TextTokenCounter count_text;
  int jobs = 2;
  /// A shard is closed once it holds this many bytes of pixels.
  int64_t shard_bytes = int64_t(256) << 20;
  bool progress = true;
};

struct PackReport {
  int64_t records = 0;
  int64_t packed = 0;
  int64_t shards = 0;
  int64_t bytes = 0;
  std::vector<ManifestProblem> problems;
};

/// Packs a manifest into `out_dir` (created; an existing pack there is replaced file by file).
PackReport pack_manifest(const Manifest& manifest, const std::filesystem::path& out_dir, const PackOptions& options);

/// True if `path` is a directory written by pack_manifest.
bool is_packed_dataset(const std::filesystem::path& path);

/// Read side of a packed dataset. Shards are mapped on first use; thread-safe.
class PackedImages {
 public:
  explicit PackedImages(const std::filesystem::path& dir);
  ~PackedImages();

  const std::filesystem::path& dir() const { return dir_; }
  /// The packed manifest.jsonl, read back (paths are not used).
  const Manifest& manifest() const { return manifest_; }
  /// Throws UserError(Usage) unless the images were sized by this family's processor settings.
  void check_compatible(const ImageProcessorOptions& options) const;

  struct Entry {
    std::optional<std::string> problem;
    int64_t shard = -1;
    int64_t max_pixels = 0;
    GridThw source_grid{1, 0, 0}, target_grid{1, 0, 0};
  };
  const Entry& entry(int64_t index) const { return entries_.at(static_cast<size_t>(index)); }
  /// Resized uint8 [h, w, 3] source and target of a record without a problem (zero-copy views).
  std::pair<at::Tensor, at::Tensor> images(int64_t index) const;

 private:
  const io::SafetensorsFile& shard(int64_t k) const;

  std::filesystem::path dir_;
  Manifest manifest_;
  ModelFamily family_ = ModelFamily::Qwen2VL;
  int64_t patch_size_ = 0, merge_size_ = 0, min_pixels_ = 0, max_pixels_ = 0;
  std::vector<Entry> entries_;
  std::vector<std::string> shard_files_;
  mutable std::mutex mu_;
  mutable std::vector<std::shared_ptr<io::SafetensorsFile>> shards_;
};

}  // namespace ec::data
