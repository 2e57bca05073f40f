// `editcaption export --hf RUN_OR_CHECKPOINT DIR`: a trained model as a Hugging Face directory
// (config.json, safetensors, tokenizer and processor files) that transformers loads.
#include <iostream>

#include "editcaption/core/check.h"
#include "editcaption/cli/command.h"
#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/core/log.h"
#include "models/qwen_vl/build.h"
#include "models/qwen_vl/export.h"
#include "models/qwen_vl/lora.h"
#include "trainers/checkpoint_model.h"
#include "trainers/init_weights.h"

namespace ec::cli {

void register_export(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("export", "Export a trained model (run or checkpoint directory) to a Hugging Face directory");
  struct Args {
    std::string source, out, dtype = "bfloat16";
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("--hf", a->source, "Run directory (its newest checkpoint) or checkpoint directory")->required();
  cmd->add_option("out", a->out, "Output directory")->required();
  cmd->add_option("--dtype", a->dtype, "Weight dtype: bfloat16, float16 or float32")->capture_default_str();
  cmd->callback([&ctx, a] {
    ctx.action = [a] {
      auto dir = train::checkpoint_dir_of(a->source);
      EC_USER_CHECK(dir.has_value(), Input, "{}: not a run directory or checkpoint (no manifest.json or latest)",
                    a->source);
      ckpt::Checkpoint c(*dir);
      ExperimentConfig cfg = train::checkpoint_config(*dir);
      models::QwenVLConfig arch = cfg.model;
      arch.pretrained.clear();
      arch.freeze = {};
      nn::QwenVL model = models::build_model(arch, {});
      // A tensor-parallel run saved one part per tp rank: joined here into the full tensors.
      train::load_named_parameters(*model, train::read_checkpoint_model(c), train::checkpoint_model_files(c));
      if (models::has_lora(*model)) models::merge_lora(*model);
      models::ExportOptions eo;
      eo.dtype = models::to_scalar_type(config::parse_enum<models::ParamDtype>(a->dtype, "--dtype"));
      if (!cfg.data.tokenizer.empty()) eo.assets.push_back(cfg.data.tokenizer);
      if (!cfg.model.pretrained.empty()) eo.assets.push_back(cfg.model.pretrained);
      std::vector<std::string> assets = models::export_hf(*model, a->out, eo);
      std::cout << fmt::format("exported {} (step {}) to {} with {} asset file(s)\n", dir->string(), c.step(), a->out,
                               assets.size());
      return 0;
    };
  });
}

}  // namespace ec::cli
