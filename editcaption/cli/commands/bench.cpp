// `editcaption bench`: the benchmark command and what its subcommands share (see bench.h).
#include "editcaption/cli/commands/bench.h"

#include <torch/cuda.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <vector>

#include "editcaption/core/build_info.h"
#include "editcaption/core/env_info.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"

#if EC_TORCH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace ec::cli {

void register_bench(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("bench", "Benchmarks: print fwd+bwd time, TFLOP/s and peak memory as JSON");
  cmd->require_subcommand(1);
  bench::register_bench_loss(cmd, ctx);
}

namespace bench {
namespace {

void synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

/// Resident-set size or its high-water mark from /proc/self/status, in bytes.
int64_t proc_status_bytes(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  }
  return 0;
}

/// Resets the kernel's resident-set high-water mark (VmHWM) to the current size.
void reset_rss_peak() {
  std::ofstream clear("/proc/self/clear_refs");
  clear << "5";
}

}  // namespace

void add_common_args(CLI::App* cmd, CommonArgs& args) {
  cmd->add_option("--device", args.device, "auto, cuda, cuda:N or cpu")->capture_default_str();
  cmd->add_option("--warmup", args.warmup, "Untimed runs first")->capture_default_str()->check(CLI::NonNegativeNumber);
  cmd->add_option("--iters", args.iters, "Timed runs (the median is reported)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  cmd->add_flag("--tiny", args.tiny, "Tiny sizes (CI smoke test on a CPU)");
  cmd->add_option("--json-out", args.json_out, "Also write the JSON document to this file");
}

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  torch::Device device(torch::kCPU);
  try {
    device = torch::Device(name);
  } catch (const std::exception&) {
    throw EC_USER_ERROR(Usage, "--device: '{}' is not a device (auto, cpu, cuda, cuda:N)", name);
  }
  EC_USER_CHECK(device.is_cpu() || device.is_cuda(), Usage, "--device: '{}' is neither a CPU nor a CUDA device", name);
  EC_USER_CHECK(!device.is_cuda() || torch::cuda::is_available(), Usage, "--device {}: no usable CUDA device here",
                name);
  if (device.is_cuda() && !device.has_index()) device = torch::Device(torch::kCUDA, 0);
  return device;
}

std::string command_line(const std::string& subcommand, const CommonArgs& args, const std::string& extra) {
  std::string s = fmt::format("editcaption bench {} --device {} --warmup {} --iters {}", subcommand, args.device,
                              args.warmup, args.iters);
  if (args.tiny) s += " --tiny";
  if (!extra.empty()) s += " " + extra;
  return s;
}

Measurement measure(const std::function<void()>& fn, const torch::Device& device, int warmup, int iters) {
  for (int i = 0; i < warmup; ++i) fn();
  synchronize(device);
  Measurement m;
  if (device.is_cuda()) {
#if EC_TORCH_CUDA
    namespace alloc = c10::cuda::CUDACachingAllocator;
    constexpr auto kAll = static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    const auto index = device.index();
    const int64_t before = alloc::getDeviceStats(index).allocated_bytes[kAll].current;
    alloc::resetPeakStats(index);
    fn();
    synchronize(device);
    m.peak_extra_bytes = alloc::getDeviceStats(index).allocated_bytes[kAll].peak - before;
#endif
  } else {
    const int64_t before = proc_status_bytes("VmRSS");
    reset_rss_peak();
    fn();
    m.peak_extra_bytes = std::max<int64_t>(0, proc_status_bytes("VmHWM") - before);
  }
  std::vector<double> times;
  for (int i = 0; i < iters; ++i) {
    synchronize(device);
    auto t0 = std::chrono::steady_clock::now();
    fn();
    synchronize(device);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  m.median_ms = times[times.size() / 2];
  m.min_ms = times.front();
  return m;
}

nlohmann::ordered_json envelope(const std::string& benchmark, const torch::Device& device, const std::string& command) {
  nlohmann::ordered_json j;
  j["benchmark"] = benchmark;
  j["device"] = device.str();
  std::string name = "cpu";
  if (device.is_cuda()) {
    EnvInfo env = collect_env_info();
    for (const auto& d : env.devices) {
      if (d.index == device.index()) name = d.name;
    }
  }
  j["device_name"] = name;
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  j["date"] = date;
  j["command"] = command;
  j["editcaption"] = build::kVersion;
  j["torch"] = TORCH_VERSION;
  j["cpu_threads"] = at::get_num_threads();
  return j;
}

void emit(const nlohmann::ordered_json& doc, const CommonArgs& args) {
  std::string text = doc.dump(2) + "\n";
  std::cout << text;
  if (!args.json_out.empty()) write_file_atomic(args.json_out, text);
}

}  // namespace bench
}  // namespace ec::cli
