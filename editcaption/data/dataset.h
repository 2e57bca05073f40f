// Datasets: manifest record -> tokenized example for the loader. SftDataset::get(i) gives a Sample,
// DpoDataset::get(i) a PairSample: read both images, plan the token budget (exact text-token
// counts from the tokenizer, visual tokens from the image headers), decode and process the images
// at the planned size, and encode with the chat template (sample_encoding.h).
//
// The source is a JSONL manifest (images decoded with OpenCV) or a directory written by
// `editcaption data pack` (resized pixels read from safetensors shards; no OpenCV). A record that
// cannot become a sample throws UserError(Input) "manifest:LINE [id ID]: reason", which the
// loader's bad-sample policy counts and replaces. get() is thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <vector>

#include "editcaption/data/chat_template.h"
#include "editcaption/data/image_processor.h"
#include "editcaption/data/manifest.h"
#include "editcaption/data/manifest_check.h"
#include "editcaption/data/packed_images.h"
#include "editcaption/data/sample.h"
#include "editcaption/data/sample_budget.h"
#include "editcaption/data/tokenizer.h"

namespace ec::data {

struct DatasetOptions {
  ImageProcessorOptions image;
  BudgetConfig budget;
  ChatOptions chat;
  /// Image path rules for JSONL manifests.
  ManifestOptions manifest;
};

/// What SftDataset and DpoDataset share: the records, their images, the text-token counts.
class EditDataset {
 public:
  /// `path`: a JSONL manifest or a packed directory. Throws UserError(Input) when it cannot be
  /// read, has no records, or is of the other kind.
  EditDataset(const std::filesystem::path& path, ManifestKind kind, std::shared_ptr<const Tokenizer> tokenizer,
              DatasetOptions options);
  virtual ~EditDataset() = default;

  int64_t size() const { return manifest_.size(); }
  const Manifest& manifest() const { return manifest_; }
  bool packed() const { return packed_ != nullptr; }
  /// Tokens of every sample (its longest sequence), from image headers or the pack index and the
  /// tokenizer, without decoding: the sampler's bucketing lengths. Bad records get length 0.
  std::vector<int64_t> lengths(int jobs = 2) const;
  /// SHA-256 of the manifest: the dataset identity checkpoints record.
  const std::string& fingerprint() const { return manifest_.fingerprint; }

 protected:
  /// Non-image tokens of the record's longest sequence.
  int64_t text_tokens(const ManifestRecord& r) const;
  /// Source and target processed at the budget-planned size; throws UserError naming the record.
  std::vector<ProcessedImage> images(int64_t index, int64_t text_tokens) const;
  /// The record at `index`, or a UserError for a bad one.
  const ManifestRecord& record(int64_t index) const;
  [[noreturn]] void fail(const ManifestRecord& r, const std::string& reason) const;

  Manifest manifest_;
  std::shared_ptr<const Tokenizer> tokenizer_;
  DatasetOptions options_;
  std::unique_ptr<PackedImages> packed_;
  TextTokenCounter count_text_;
};

class SftDataset : public EditDataset {
 public:
  SftDataset(const std::filesystem::path& path, std::shared_ptr<const Tokenizer> tokenizer, DatasetOptions options)
      : EditDataset(path, ManifestKind::Sft, std::move(tokenizer), std::move(options)) {}
  Sample get(int64_t index) const;
};

class DpoDataset : public EditDataset {
 public:
  DpoDataset(const std::filesystem::path& path, std::shared_ptr<const Tokenizer> tokenizer, DatasetOptions options)
      : EditDataset(path, ManifestKind::Dpo, std::move(tokenizer), std::move(options)) {}
  PairSample get(int64_t index) const;
};

/// Text-token counter for `data check` / `data pack` with a tokenizer: exact counts.
TextTokenCounter tokenizer_text_counter(std::shared_ptr<const Tokenizer> tokenizer, const ChatOptions& chat);

}  // namespace ec::data
