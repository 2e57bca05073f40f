// `editcaption env`: versions of LibTorch, CUDA, cuDNN and NCCL, the visible GPUs and how this
// binary was built. Runs on machines without a GPU or NVIDIA driver and says so.
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/env_info.h"

namespace ec::cli {

void register_env(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("env", "Print LibTorch/CUDA/cuDNN/NCCL versions, devices and build options");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print JSON");
  cmd->callback([&ctx, json] {
    ctx.action = [json] {
      EnvInfo info = collect_env_info();
      std::cout << (*json ? to_json(info).dump(2) + "\n" : format_env_info(info));
      return 0;
    };
  });
}

}  // namespace ec::cli
