// Captioning a manifest: for every record (SFT or DPO manifest; only id, source and target are
// read) the chat prompt with both images, generation, and the decoded instruction. Images go
// through the training pipeline (decode, budget planning with the answer's room reserved, resize,
// patchify), so the model sees them as it did in training. Records whose images cannot be read
// are reported with their line and id and skipped.
//
// Sampling is reproducible per (record, sample): each row samples from its own generator seeded
// with sample_seed(generation.seed, record index, sample index), so the instructions do not
// depend on the batch size or on which records precede a record in its batch.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "editcaption/core/fault.h"
#include "editcaption/data/manifest.h"
#include "editcaption/data/sample_budget.h"
#include "models/generation_config.h"
#include "trainers/model_source.h"

namespace ec::train {

struct Caption {
  std::string id;
  int64_t record = 0;  ///< index of the record in the manifest
  int64_t sample = 0;
  std::string instruction;
  /// false: max_new_tokens ran out before a stop token.
  bool stopped = true;
};

struct CaptionOptions {
  models::GenerationConfig generation;
  /// Images are downscaled so that the prompt plus generation.max_new_tokens fits max_seq_len.
  data::BudgetConfig budget;
  /// Instructions per record (more than one needs generation.do_sample).
  int64_t num_samples = 1;
  /// Prompts per generate() call.
  int64_t batch_size = 8;
  /// Records to caption from the top of the manifest (0: all).
  int64_t limit = 0;
  /// Progress bar / lines on stderr.
  bool progress = true;
  /// Captions an interrupted earlier run finished (caption_journal.h): not generated again, kept
  /// as they are. Each must name the record index and id the manifest has there.
  std::vector<Caption> done;
  /// Called with the captions of every generated batch, before the next batch starts.
  std::function<void(const std::vector<Caption>&)> on_batch;
  /// Fault point caption.after_batch (step: the batch index), for the interruption tests.
  FaultPlan fault;
};

struct CaptionResult {
  std::filesystem::path manifest;
  /// Manifest order, then sample order.
  std::vector<Caption> captions;
  /// Records that were skipped (missing, unreadable or undecodable images, malformed lines).
  std::vector<data::ManifestProblem> bad;
  int64_t records = 0;  ///< records considered (after --limit), bad ones included
  int64_t truncated = 0;  ///< captions cut by max_new_tokens
};

/// The seed of sample `sample` of record `record`: a hash of the three, so that neighbouring
/// records and samples get unrelated streams.
uint64_t sample_seed(uint64_t seed, int64_t record, int64_t sample);

/// Captions the manifest with the model. Throws UserError(Usage) for bad options and
/// UserError(Input) when the manifest cannot be read.
CaptionResult caption_manifest(ModelSource& source, const std::filesystem::path& manifest, const CaptionOptions& options);

/// JSONL: {"id", "instruction"} per caption, or {"id", "sample", "instruction"} with `with_sample`.
std::string captions_jsonl(const CaptionResult& result, bool with_sample);

}  // namespace ec::train
