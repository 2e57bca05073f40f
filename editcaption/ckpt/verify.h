// Checking a checkpoint directory before trusting it: the manifest (the commit record) parses,
// every file it lists exists with the recorded size and, at VerifyLevel::Full, the recorded SHA-256.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "editcaption/ckpt/config.h"
#include "editcaption/ckpt/manifest.h"

namespace ec::ckpt {

struct FileCheck {
  std::string path;  ///< relative to the checkpoint directory
  uint64_t expected_size = 0;
  std::optional<uint64_t> actual_size;  ///< nothing: missing
  std::string expected_sha256;
  std::string actual_sha256;  ///< empty unless hashed
  std::string problem;        ///< empty: fine
};

struct VerifyReport {
  std::filesystem::path dir;
  VerifyLevel level = VerifyLevel::Full;
  std::optional<Manifest> manifest;
  std::vector<FileCheck> files;
  /// Why the checkpoint cannot be used; empty when it can.
  std::vector<std::string> problems;
  /// Harmless observations (files the manifest does not list).
  std::vector<std::string> notes;
  bool ok() const { return problems.empty(); }
  /// "manifest missing; rank_00001/model.safetensors: SHA-256 mismatch" (first few problems).
  std::string summary() const;
};

/// Never throws for a bad checkpoint: every problem goes into the report.
VerifyReport verify_checkpoint(const std::filesystem::path& dir, VerifyLevel level);

}  // namespace ec::ckpt
