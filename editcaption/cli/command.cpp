#include "editcaption/cli/command.h"

#include "editcaption/config/node.h"
#include "trainers/stages.h"

namespace ec::cli {

void add_config_args(CLI::App* cmd, ConfigArgs& args, bool required) {
  auto* opt = cmd->add_option("config", args.file, "YAML config file (may name a base with `base:`)");
  if (required) opt->required();
  cmd->add_option("--set", args.overrides, "Override a key: --set optim.lr=2e-5 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);
}

config::Node load_config_tree(const ConfigArgs& args) { return config::load_config(args.file, args.overrides); }

ExperimentConfig load_experiment(const ConfigArgs& args) {
  config::Node root = load_config_tree(args);
  train::check_stages(root);
  return config::read<ExperimentConfig>(train::without_stages(root));
}

CLI::App* command_group(CLI::App& app, const std::string& name, const std::string& description) {
  auto found = app.get_subcommands([&](CLI::App* sub) { return sub->get_name() == name; });
  if (!found.empty()) return found.front();
  auto* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

nlohmann::ordered_json resolved_json(const ExperimentConfig& cfg) { return config::to_json(cfg); }

}  // namespace ec::cli
