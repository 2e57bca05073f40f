#include "editcaption/core/env_info.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <opencv2/core/version.hpp>

#include "editcaption/core/build_info.h"
#include "editcaption/core/strings.h"

#if EC_TORCH_CUDA
#include <ATen/cuda/CUDAContext.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/cuda/nccl.h>
#endif

namespace ec {

EnvInfo collect_env_info() {
  EnvInfo info;
  info.editcaption_version = build::kVersion;
  info.torch_version = TORCH_VERSION;
  info.torch_cuda = build::kTorchCuda;
  info.cuda_kernels = build::kCudaKernels;
  info.cuda_archs = build::kCudaArchs;
  info.cuda_compiler = build::kCudaCompilerVersion;
  info.build_type = build::kBuildType;
  info.compiler = build::kCompiler;
  info.opencv = CV_VERSION;
  info.torch_prefix = build::kTorchPrefix;
  info.cpu_threads = at::get_num_threads();
  // The driver library is what a CPU machine with the CUDA toolkit lacks; say so plainly.
  if (void* h = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
    info.cuda_driver = true;
    ::dlclose(h);
  }
#if EC_TORCH_CUDA
  const auto& hooks = at::detail::getCUDAHooks();
  info.cuda_runtime = hooks.versionCUDART();
  if (hooks.compiledWithCuDNN()) info.cudnn = hooks.versionCuDNN();
  // LibTorch packs the version as major << 32 | minor << 16 | patch.
  uint64_t v = torch::cuda::nccl::version();
  info.nccl = fmt::format("{}.{}.{}", v >> 32, (v >> 16) & 0xFFFF, v & 0xFFFF);
  info.cuda_available = info.cuda_driver && torch::cuda::is_available();
  if (info.cuda_available) {
    for (int i = 0; i < static_cast<int>(torch::cuda::device_count()); ++i) {
      const cudaDeviceProp* p = at::cuda::getDeviceProperties(i);
      info.devices.push_back({i, p->name, p->major, p->minor, p->totalGlobalMem / double(1 << 30), p->multiProcessorCount});
    }
  }
#endif
  if (!info.cuda_driver) {
    info.notes = "no GPU present: the NVIDIA driver (libcuda.so.1) is not installed; everything runs on CPU";
  } else if (!info.cuda_available) {
    info.notes = "the NVIDIA driver is present but no usable GPU was found; everything runs on CPU";
  }
  return info;
}

nlohmann::ordered_json to_json(const EnvInfo& i) {
  nlohmann::ordered_json j;
  j["editcaption"] = i.editcaption_version;
  j["libtorch"] = i.torch_version;
  j["libtorch_cuda"] = i.torch_cuda;
  j["cuda_kernels"] = i.cuda_kernels;
  j["cuda_archs"] = i.cuda_archs;
  j["nvcc"] = i.cuda_compiler;
  j["cuda_runtime"] = i.cuda_runtime;
  j["cudnn"] = i.cudnn;
  j["nccl"] = i.nccl;
  j["cuda_driver"] = i.cuda_driver;
  j["cuda_available"] = i.cuda_available;
  auto devs = nlohmann::ordered_json::array();
  for (const auto& d : i.devices) {
    devs.push_back({{"index", d.index}, {"name", d.name}, {"capability", fmt::format("{}.{}", d.major, d.minor)},
                    {"memory_gib", d.memory_gib}, {"sms", d.multiprocessors}});
  }
  j["devices"] = devs;
  j["build_type"] = i.build_type;
  j["compiler"] = i.compiler;
  j["opencv"] = i.opencv;
  j["torch_prefix"] = i.torch_prefix;
  j["cpu_threads"] = i.cpu_threads;
  if (!i.notes.empty()) j["notes"] = i.notes;
  return j;
}

std::string format_env_info(const EnvInfo& i) {
  auto version = [](long v) { return v ? fmt::format("{}.{}", v / 1000, (v % 1000) / 10) : std::string("-"); };
  std::string out;
  out += fmt::format("editcaption   {}\n", i.editcaption_version);
  out += fmt::format("LibTorch      {} ({}), {}\n", i.torch_version, i.torch_cuda ? "CUDA build" : "CPU build", i.torch_prefix);
  out += fmt::format("CUDA kernels  {}{}\n", i.cuda_kernels ? "compiled for sm_" : "not compiled",
                     i.cuda_kernels ? join(split(i.cuda_archs, ';'), ", sm_") + " (nvcc " + i.cuda_compiler + ")" : "");
  out += fmt::format("CUDA runtime  {}\n", version(i.cuda_runtime));
  out += fmt::format("cuDNN         {}\n", i.cudnn ? fmt::format("{}.{}.{}", i.cudnn / 10000, (i.cudnn / 100) % 100, i.cudnn % 100) : "-");
  out += fmt::format("NCCL          {}\n", i.nccl.empty() ? "-" : i.nccl);
  out += fmt::format("CUDA driver   {}\n", i.cuda_driver ? "found" : "not found (libcuda.so.1)");
  if (i.devices.empty()) {
    out += "GPUs          none\n";
  } else {
    for (const auto& d : i.devices) {
      out += fmt::format("GPU {}         {} (sm_{}{}, {:.1f} GiB, {} SMs)\n", d.index, d.name, d.major, d.minor, d.memory_gib,
                         d.multiprocessors);
    }
  }
  out += fmt::format("OpenCV        {}\n", i.opencv);
  out += fmt::format("CPU threads   {}\n", i.cpu_threads);
  out += fmt::format("build         {}, {}\n", i.build_type, i.compiler);
  if (!i.notes.empty()) out += fmt::format("note          {}\n", i.notes);
  return out;
}

}  // namespace ec
