// `editcaption ablate CONFIG` (trainers/ablation.h) and `editcaption demo [CONFIG]`
// (trainers/demo.h; default configs/demo.yaml).
#include <iostream>

#include "editcaption/core/check.h"
#include "editcaption/cli/command.h"
#include "trainers/ablation.h"
#include "trainers/demo.h"

namespace ec::cli {
namespace {

void print_outcome(const train::AblationOutcome& a) {
  std::cout << "\n" << a.markdown << "\n";
  std::cout << "table: " << a.table.markdown.string() << ", " << a.table.csv.string() << ", " << a.table.json.string()
            << "\n";
}

}  // namespace

void register_ablate(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("ablate", "Train and evaluate SFT only, DPO only, SFT+DPO and SFT+HAE-DPO (table 4)");
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(cmd, *args);
  cmd->callback([&ctx, args] {
    ctx.action = [args] {
      train::AblationOutcome a = train::run_ablation(load_config_tree(*args));
      if (a.exit_code != 0) return a.exit_code;
      print_outcome(a);
      return 0;
    };
  });

  auto* demo = app.add_subcommand("demo", "The end-to-end demo: synthetic data, tokenizer, SFT, DPO, ablation, report");
  auto dargs = std::make_shared<ConfigArgs>();
  add_config_args(demo, *dargs, /*required=*/false);
  demo->callback([&ctx, dargs] {
    ctx.action = [dargs] {
      ConfigArgs a = *dargs;
      if (a.file.empty()) a.file = "configs/demo.yaml";
      EC_USER_CHECK(std::filesystem::exists(a.file), Usage,
                    "{}: no such config (run from the repository root or name a config)", a.file);
      train::DemoOutcome d = train::run_demo(load_config_tree(a));
      if (d.ablation.exit_code != 0) return d.ablation.exit_code;
      print_outcome(d.ablation);
      std::cout << "report: " << d.report.string() << "\n";
      return 0;
    };
  });
}

}  // namespace ec::cli
