// `editcaption sft CONFIG`, `editcaption dpo CONFIG` and `editcaption pipeline CONFIG`: the
// training stages (trainers/trainer.h). With a `stages:` map in the config each command runs its
// stage's merged config (trainers/stages.h); the pipeline pins the DPO stage's starting weights, and
// so its frozen reference, to the checkpoint the SFT stage ended with.
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/log.h"
#include "trainers/stages.h"
#include "trainers/trainer.h"

namespace ec::cli {
namespace {

int report(const train::StageResult& r, train::Stage stage) {
  std::cout << fmt::format("{}: {} of {} steps, last loss {:.4f}; run {}; checkpoint {}\n", train::stage_name(stage),
                           r.steps, r.total_steps, r.last_loss, r.run_dir.string(), r.checkpoint.string());
  return r.exit_code;
}

void add_stage_command(CLI::App& app, Context& ctx, train::Stage stage, const std::string& description) {
  auto* cmd = app.add_subcommand(train::stage_name(stage), description);
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(cmd, *args);
  cmd->callback([&ctx, args, stage] {
    ctx.action = [args, stage] {
      config::Node root = load_config_tree(*args);
      train::check_stages(root);
      return report(train::run_stage(train::stage_config(root, train::stage_name(stage)), stage), stage);
    };
  });
}

}  // namespace

void register_train(CLI::App& app, Context& ctx) {
  add_stage_command(app, ctx, train::Stage::Sft, "Supervised fine-tuning on instruction manifests (SFT)");
  add_stage_command(app, ctx, train::Stage::Dpo, "Direct Preference Optimization against the frozen starting model (DPO)");

  auto* cmd = app.add_subcommand("pipeline", "SFT, then DPO from the SFT result (its reference pinned to it)");
  auto args = std::make_shared<ConfigArgs>();
  add_config_args(cmd, *args);
  cmd->callback([&ctx, args] {
    ctx.action = [args] {
      config::Node root = load_config_tree(*args);
      train::check_stages(root);
      train::StageResult sft = train::run_stage(train::stage_config(root, "sft"), train::Stage::Sft);
      if (int code = report(sft, train::Stage::Sft); code != 0) return code;
      ExperimentConfig dpo = train::stage_config(root, "dpo");
      dpo.train.init = sft.checkpoint;
      return report(train::run_stage(dpo, train::Stage::Dpo), train::Stage::Dpo);
    };
  });
}

}  // namespace ec::cli
