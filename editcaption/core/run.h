// The run: its options (`run:` section) and its directory runs/<name>/ holding the resolved
// config and its hash, the human log, metrics.jsonl and (later) checkpoints.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>

#include "editcaption/config/visitor.h"

namespace ec {

struct RunConfig {
  using is_config_section = void;
  /// Directory name under output_dir.
  std::string name = "default";
  std::filesystem::path output_dir = "runs";
  uint64_t seed = 1234;
  std::string log_level = "info";
  /// Deterministic kernels and algorithms (bitwise-reproducible runs; slower on GPU).
  bool deterministic = false;
  /// Intra-op CPU threads (0: LibTorch's default).
  int threads = 0;

  template <class V>
  void visit(V& v) {
    v("name", name, "Run name; the run directory is <output_dir>/<name>.", config::non_empty());
    v("output_dir", output_dir, "Parent directory of run directories.");
    v("seed", seed, "Seed of every random stream (data order, init, sampling).");
    v("log_level", log_level, "Console log level: trace, debug, info, warn, error.");
    v("deterministic", deterministic, "Use deterministic algorithms so that runs repeat bit for bit.");
    v("threads", threads, "Intra-op CPU threads (0: LibTorch default).", config::at_least(0));
  }
  void validate(config::Validation& v) const;
};

/// Appends one JSON object per line. Each rank writes its own file; records carry step and rank.
class MetricsWriter {
 public:
  MetricsWriter(const std::filesystem::path& path, int rank);
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;
  void write(nlohmann::ordered_json record);
  /// Removes the records of steps after `step` (and a torn last line): a resumed run rewrites
  /// them, so the file never holds a step twice.
  void drop_after_step(int64_t step);
  bool is_open() const { return out_.is_open(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  int rank_ = 0;
  std::ofstream out_;
  std::mutex mutex_;
};

/// A run directory. Creating it writes config.yaml and config.sha256 (rank 0) and points the
/// log sink at log.txt (rank 0) or log.rank<k>.txt.
class RunDir {
 public:
  RunDir(const RunConfig& run, const nlohmann::ordered_json& resolved_config, int rank = 0, int world_size = 1);
  const std::filesystem::path& path() const { return path_; }
  const std::string& config_hash() const { return config_hash_; }
  MetricsWriter& metrics() { return *metrics_; }

 private:
  std::filesystem::path path_;
  std::string config_hash_;
  std::unique_ptr<MetricsWriter> metrics_;
};

/// Seconds since the Unix epoch, with milliseconds.
double unix_time();

}  // namespace ec
