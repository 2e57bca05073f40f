// Plumbing shared by the CLI commands. Each command lives in commands/<name>.cpp and registers
// itself from main.cpp; parsing picks one, main() runs it and maps exceptions to exit codes.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <string>
#include <vector>

#include "editcaption/config/node.h"
#include "trainers/experiment_config.h"

namespace ec::cli {

struct Context {
  /// Set by the chosen subcommand's callback; main() runs it after parsing.
  std::function<int()> action;
  std::string log_level = "info";
};

/// `CONFIG [--set key=value]...`, accepted by every command that reads a config.
struct ConfigArgs {
  std::string file;
  std::vector<std::string> overrides;
};
void add_config_args(CLI::App* cmd, ConfigArgs& args, bool required = true);
/// The config tree (file + overrides), `stages:` included (trainers/stages.h).
config::Node load_config_tree(const ConfigArgs& args);
/// Loads, merges and validates the config and its stages; returns the base (without `stages:`).
ExperimentConfig load_experiment(const ConfigArgs& args);
/// The resolved config as JSON (what run directories and checkpoints record).
nlohmann::ordered_json resolved_json(const ExperimentConfig& cfg);

/// The subcommand `name` of `app`, created (requiring one subcommand) if no command made it yet:
/// lets several files add subcommands to one group (`data filter`, `data check`, ...).
CLI::App* command_group(CLI::App& app, const std::string& name, const std::string& description);

void register_env(CLI::App& app, Context& ctx);
void register_config(CLI::App& app, Context& ctx);
void register_tokenizer(CLI::App& app, Context& ctx);
void register_bench(CLI::App& app, Context& ctx);
void register_synth(CLI::App& app, Context& ctx);
void register_eval(CLI::App& app, Context& ctx);
void register_eval_judge(CLI::App& app, Context& ctx);
void register_eval_table(CLI::App& app, Context& ctx);
void register_caption(CLI::App& app, Context& ctx);
void register_forward(CLI::App& app, Context& ctx);
void register_data_filter(CLI::App& app, Context& ctx);
void register_data_review(CLI::App& app, Context& ctx);
void register_report(CLI::App& app, Context& ctx);
void register_data(CLI::App& app, Context& ctx);
void register_ckpt(CLI::App& app, Context& ctx);
void register_launch(CLI::App& app, Context& ctx);
void register_train(CLI::App& app, Context& ctx);
void register_export(CLI::App& app, Context& ctx);
void register_ablate(CLI::App& app, Context& ctx);

}  // namespace ec::cli
