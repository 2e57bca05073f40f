// `editcaption eval table --out DIR NAME=REPORT.json...`: the paper's table-4 ablation table from
// existing `eval --out` reports, as ablation.md, ablation.csv and ablation.json (the file
// `editcaption report` renders). See editcaption/eval/ablation_table.h.
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/eval/ablation_table.h"

namespace ec::cli {

namespace {

struct TableArgs {
  std::string out;
  std::vector<std::string> variants;
  eval::AblationTableOptions options;
};

int run_table(const TableArgs& a) {
  std::vector<eval::AblationInput> inputs;
  for (const auto& v : a.variants) {
    const size_t eq = v.find('=');
    EC_USER_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < v.size(), Usage,
                  "eval table: '{}' is not NAME=REPORT.json", v);
    inputs.push_back(eval::read_ablation_input(v.substr(0, eq), v.substr(eq + 1)));
  }
  eval::AblationTableFiles files = eval::write_ablation_table(inputs, a.out, a.options);
  std::cout << read_file(files.markdown);
  std::cout << fmt::format("\nwrote {}, {}, {} ({} per-sample file(s))\n", files.markdown.string(), files.csv.string(),
                           files.json.string(), files.per_sample.size());
  return 0;
}

}  // namespace

void register_eval_table(CLI::App& app, Context& ctx) {
  auto* group = command_group(app, "eval", "Score instructions against structured ground truth (the paper's protocol)");
  auto* cmd = group->add_subcommand("table", "Build the ablation table (paper table 4) from eval reports");
  auto a = std::make_shared<TableArgs>();
  cmd->add_option("variants", a->variants, "NAME=REPORT.json per variant, in table order (reports of `eval --out`)")
      ->required();
  cmd->add_option("--out", a->out, "Directory for ablation.md, ablation.csv, ablation.json")->required();
  cmd->add_option("--title", a->options.title, "Table title")->capture_default_str();
  cmd->add_option("--model", a->options.model, "Model name shown with the table");
  cmd->add_option("--test-set", a->options.test_set, "Name of the test set every variant was evaluated on");
  cmd->callback([&ctx, a] { ctx.action = [a] { return run_table(*a); }; });
}

}  // namespace ec::cli
