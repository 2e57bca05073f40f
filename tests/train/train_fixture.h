// A tiny end-to-end training setup shared by the trainer tests: a synthetic dataset (a few 64x64
// pairs), a sentencepiece tokenizer trained on it, and a tiny Qwen3-VL-shaped model config whose
// special-token ids come from that tokenizer. Built once per build tree (the first test process
// makes it in a temporary directory and renames it into place; others reuse it).
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tests/common/test_util.h"

namespace ec::test {

struct TrainFixture {
  std::filesystem::path dir;        ///< synth/, tokenizer/
  std::filesystem::path synth;      ///< train.jsonl, val.jsonl, test.jsonl, dpo_*.jsonl
  std::filesystem::path tokenizer;  ///< tokenizer.model
  std::map<std::string, int> ids;   ///< vision_start, vision_end, image_pad, video_pad
};

const TrainFixture& train_fixture();

/// A config for a run under `runs_dir` named `name`: SFT on the fixture unless `dpo`. Extra YAML
/// (merged by the caller with --set) is not needed: use overrides.
std::string train_config_yaml(const std::filesystem::path& runs_dir, const std::string& name, bool dpo);

/// metrics.jsonl records that carry a training step (not validation), in order.
std::vector<std::map<std::string, std::string>> step_records(const std::filesystem::path& run_dir);

/// Bytes of a checkpoint's model file.
std::string model_bytes(const std::filesystem::path& checkpoint_dir);

}  // namespace ec::test
