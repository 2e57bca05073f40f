// `editcaption bench <subcommand>`: benchmark programs that print one JSON document. Each
// subcommand lives in commands/bench_<name>.cpp and registers itself from register_bench
// (commands/bench.cpp): loss now; sft-step, dpo-step, vision and generate later. This header holds
// what they share: device choice, timing, peak-memory measurement and the JSON envelope.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "editcaption/cli/command.h"

namespace ec::cli::bench {

/// Options every benchmark takes.
struct CommonArgs {
  std::string device = "auto";  ///< auto (a GPU when there is one), cuda, cuda:N or cpu
  int warmup = 2;
  int iters = 10;
  bool tiny = false;            ///< CI smoke sizes that run in seconds on a CPU
  std::string json_out;         ///< also write the JSON document here
};
void add_common_args(CLI::App* cmd, CommonArgs& args);
torch::Device resolve_device(const std::string& name);
/// The command line that reproduces this run, for the record.
std::string command_line(const std::string& subcommand, const CommonArgs& args, const std::string& extra);

struct Measurement {
  double median_ms = 0;
  double min_ms = 0;
  /// Peak memory above what was allocated before the call (CUDA: the caching allocator's
  /// allocated bytes; CPU: the resident-set high-water mark, approximate).
  int64_t peak_extra_bytes = 0;
};

/// Runs `fn` warmup times, then once for peak memory, then `iters` timed times (the device is
/// synchronised around each run).
Measurement measure(const std::function<void()>& fn, const torch::Device& device, int warmup, int iters);

/// {"benchmark", "device", "device_name", "date", "command", "editcaption", "torch"}.
nlohmann::ordered_json envelope(const std::string& benchmark, const torch::Device& device, const std::string& command);
/// Prints the document on stdout (and to args.json_out when given).
void emit(const nlohmann::ordered_json& doc, const CommonArgs& args);

void register_bench_loss(CLI::App* bench, Context& ctx);

}  // namespace ec::cli::bench
