#include "editcaption/cli/commands/model_args.h"

#include "editcaption/cli/commands/bench.h"
#include "editcaption/config/visitor.h"
#include "editcaption/core/check.h"
#include "trainers/inference_config.h"

namespace ec::cli {

void add_model_args(CLI::App* cmd, ModelArgs& a, bool required) {
  auto* opt = cmd->add_option("--model", a.model,
                              "Hugging Face model directory, checkpoint (step_XXXXXXXX/) or run directory (its latest "
                              "checkpoint)");
  if (required) opt->required();
  add_device_args(cmd, a);
  cmd->add_option("--batch-size", a.batch_size, "Prompts generated together")->capture_default_str();
  cmd->add_option("--limit", a.limit, "Only the first N manifest records (0: all)")->capture_default_str();
}

void add_device_args(CLI::App* cmd, ModelArgs& a) {
  cmd->add_option("--device", a.device, "auto (a GPU when there is one), cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option("--dtype", a.dtype, "Parameter dtype: float32, bfloat16 or float16 (default: the checkpoint's; "
                                      "HF dirs: float32 on CPU, bfloat16 on CUDA)");
}

at::Device model_device(const ModelArgs& a) { return bench::resolve_device(a.device); }

std::optional<at::ScalarType> model_dtype(const ModelArgs& a) {
  if (a.dtype.empty()) return std::nullopt;
  return models::to_scalar_type(config::parse_enum<models::ParamDtype>(a.dtype, "--dtype"));
}

LoadedModel load_model(const ModelArgs& m, const ConfigArgs& c) {
  LoadedModel out{train::load_model_source(m.model, model_device(m), model_dtype(m)), {}, {}};
  out.config = train::inference_config(out.source, c.file, c.overrides);
  train::apply_inference_config(out.source, out.config);
  out.options = train::caption_options(out.config);
  out.options.batch_size = m.batch_size;
  out.options.limit = m.limit;
  return out;
}

}  // namespace ec::cli
