// What this binary was built with and what the machine offers: `editcaption env`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ec {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;
  double memory_gib = 0;
  int multiprocessors = 0;
};

struct EnvInfo {
  std::string editcaption_version;
  std::string torch_version;
  bool torch_cuda = false;       ///< LibTorch built with CUDA
  bool cuda_kernels = false;     ///< our CUDA kernels compiled in
  std::string cuda_archs;
  std::string cuda_compiler;
  bool cuda_driver = false;      ///< libcuda.so.1 could be loaded
  bool cuda_available = false;   ///< at least one usable GPU
  long cuda_runtime = 0;         ///< cudart version, e.g. 13000
  long cudnn = 0;
  std::string nccl;
  std::vector<DeviceInfo> devices;
  std::string build_type;
  std::string compiler;
  std::string opencv;
  std::string torch_prefix;
  int cpu_threads = 0;
  std::string notes;             ///< e.g. why no GPU is usable
};

EnvInfo collect_env_info();
nlohmann::ordered_json to_json(const EnvInfo& info);
std::string format_env_info(const EnvInfo& info);

}  // namespace ec
