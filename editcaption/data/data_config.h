// `data:`: the data pipeline's configuration, one subsection per component.
#pragma once

#include <filesystem>

#include "editcaption/config/visitor.h"
#include "editcaption/data/bad_sample_policy.h"
#include "editcaption/data/collate.h"
#include "editcaption/data/image_processor.h"
#include "editcaption/data/loader.h"
#include "editcaption/data/manifest.h"
#include "editcaption/data/sample_budget.h"
#include "editcaption/data/sampler.h"

namespace ec::data {

struct DataConfig {
  using is_config_section = void;
  std::filesystem::path tokenizer;
  std::filesystem::path train;
  std::filesystem::path val;
  std::filesystem::path dataset_root;
  bool allow_outside_root = false;
  ImageConfig image;
  BudgetConfig budget;
  SamplerConfig sampler;
  LoaderConfig loader;
  BadSampleConfig bad_samples;
  CollateConfig collate;

  template <class V>
  void visit(V& v) {
    v("tokenizer", tokenizer, "tokenizer.json, tokenizer.model or a directory holding one; empty: model.pretrained");
    v("train", train, "Training manifest (JSONL, docs/data.md), or a directory written by `editcaption data pack`.");
    v("val", val, "Validation manifest (optional).");
    v("dataset_root", dataset_root,
      "Image paths must resolve inside this directory (empty: the directory of each manifest).");
    v("allow_outside_root", allow_outside_root, "Accept image paths that escape the dataset root ('..', absolute paths).");
    v("image", image, "Image decoding and resizing limits.");
    v("budget", budget, "Token budget per sequence and what happens to longer samples.");
    v("sampler", sampler, "Sample order: shuffling, length bucketing, the last partial step.");
    v("loader", loader, "Background loading threads, prefetch depth, pinned memory.");
    v("bad_samples", bad_samples, "Reporting, deterministic replacement and stop thresholds for bad samples.");
    v("collate", collate, "Batch layout: padded or packed, DPO pair layout.");
  }

  ManifestOptions manifest_options() const {
    ManifestOptions o;
    o.dataset_root = dataset_root;
    o.allow_outside_root = allow_outside_root;
    return o;
  }
};

}  // namespace ec::data
