#include "tests/train_dist/train_runs.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "editcaption/io/safetensors.h"
#include "tests/train/train_fixture.h"

namespace ec::test {
namespace fs = std::filesystem;

CommandResult train(const TempDir& tmp, const std::string& command, const std::string& name, int nproc,
                    std::vector<std::string> sets, std::vector<std::string> env) {
  const fs::path cfg = tmp / (name + ".yaml");
  if (!fs::exists(cfg)) write_text(cfg, train_config_yaml(tmp / "runs", name, command == "dpo"));
  std::vector<std::string> argv = {"/usr/bin/env"};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(cli_path().string());
  if (nproc > 1) {
    for (const std::string& a : std::vector<std::string>{"launch", "--nproc-per-node", std::to_string(nproc),
                                                           "--master-port", "0", "--"}) {
      argv.push_back(a);
    }
    argv.push_back(cli_path().string());
  }
  argv.push_back(command);
  argv.push_back(cfg.string());
  for (const std::string& s : sets) {
    argv.push_back("--set");
    argv.push_back(s);
  }
  return run_command(argv);
}

fs::path checkpoint_at(const TempDir& tmp, const std::string& name, int64_t step) {
  return tmp / "runs" / name / "checkpoints" / fmt::format("step_{:08d}", step);
}

fs::path final_model(const TempDir& tmp, const std::string& name, int64_t step) {
  return checkpoint_at(tmp, name, step) / "rank_00000" / "model.safetensors";
}

double max_abs_diff(const std::map<std::string, at::Tensor>& a, const std::map<std::string, at::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (const auto& [n, t] : a) {
    auto it = b.find(n);
    EXPECT_NE(it, b.end()) << n;
    if (it == b.end()) return INFINITY;
    EXPECT_EQ(t.sizes(), it->second.sizes()) << n;
    if (t.sizes() != it->second.sizes()) return INFINITY;
    worst = std::max(worst, (t.to(at::kDouble) - it->second.to(at::kDouble)).abs().max().item<double>());
  }
  return worst;
}

double max_abs_diff(const fs::path& a, const fs::path& b) {
  io::SafetensorsFile fa(a), fb(b);
  std::map<std::string, at::Tensor> ta, tb;
  for (const std::string& n : fa.names()) ta[n] = fa.view(n);
  for (const std::string& n : fb.names()) tb[n] = fb.view(n);
  return max_abs_diff(ta, tb);
}

std::vector<double> step_values(const TempDir& tmp, const std::string& name, const std::string& key) {
  std::vector<double> out;
  for (const auto& r : step_records(tmp / "runs" / name)) {
    auto it = r.find(key);
    out.push_back(it == r.end() ? NAN : std::stod(it->second));
  }
  return out;
}

}  // namespace ec::test
