// Running the editcaption binary as one process or as N ranks (`editcaption launch`, Gloo) on the
// tiny training fixture, and comparing what the runs wrote.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <ATen/Tensor.h>

#include "tests/common/test_util.h"

namespace ec::test {

/// `editcaption COMMAND CONFIG --set ...` for the run `name` under tmp/runs (config written on first
/// use: SFT on the fixture, or DPO for command "dpo"), through `launch` when nproc > 1.
CommandResult train(const TempDir& tmp, const std::string& command, const std::string& name, int nproc,
                    std::vector<std::string> sets, std::vector<std::string> env = {});

/// rank_00000/model.safetensors of a run's checkpoint at `step`.
std::filesystem::path final_model(const TempDir& tmp, const std::string& name, int64_t step);
/// The checkpoint directory of a run at `step`.
std::filesystem::path checkpoint_at(const TempDir& tmp, const std::string& name, int64_t step);

/// Largest absolute difference between two safetensors files with the same names.
double max_abs_diff(const std::filesystem::path& a, const std::filesystem::path& b);
/// The same for named tensors (the names must agree).
double max_abs_diff(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b);

/// A numeric field of every training-step record of a run's metrics.jsonl, in order.
std::vector<double> step_values(const TempDir& tmp, const std::string& name, const std::string& key);

}  // namespace ec::test
