#include "models/qwen_vl/build.h"

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/dist/mesh.h"
#include "models/qwen_vl/hf_config.h"
#include "models/qwen_vl/hf_weights.h"
#include "models/qwen_vl/init.h"
#include "models/qwen_vl/lora.h"
#include "models/qwen_vl/param_count.h"
#include "models/qwen_vl/tp_shard.h"

namespace ec::models {

QwenVLConfig resolve_config(const QwenVLConfig& config) {
  if (config.pretrained.empty()) return config;
  QwenVLConfig arch = load_hf_config(config.pretrained);
  arch.pretrained = config.pretrained;
  arch.dtype = config.dtype;
  arch.attention = config.attention;
  arch.activation_checkpointing = config.activation_checkpointing;
  arch.freeze = config.freeze;
  arch.lora = config.lora;
  arch.init_std = config.init_std;
  return arch;
}

nn::QwenVL build_model(const QwenVLConfig& config, const BuildOptions& o) {
  const QwenVLConfig cfg = resolve_config(config);
  const int tp = dist::tp_size(o.tp);
  if (tp > 1) {
    // Before anything is allocated: the split must be exact, and adapters have no sharded layout.
    dist::check_tp_divides(tp, cfg.text.num_heads, cfg.text.num_kv_heads, cfg.text.intermediate_size,
                           config::enum_name(cfg.family));
    check_tp_vocab(cfg.text.vocab_size, tp);  // the vocab-parallel embedding and LM head (tp_shard.h)
    EC_USER_CHECK(cfg.lora.rank == 0, Usage,
                  "dist.tp = {} with model.lora.rank = {}: LoRA adapters are not tensor parallel yet; train LoRA with "
                  "dist.tp = 1 (data parallel) or set model.lora.rank = 0",
                  tp, cfg.lora.rank);
  }
  nn::QwenVLOptions opts(cfg);
  opts.tp = o.tp;
  nn::QwenVL model(opts);
  if (!cfg.pretrained.empty()) {
    load_hf_weights(*model, cfg.pretrained);  // each rank keeps its part (tp_shard.h)
  } else {
    init_weights(*model, cfg.init_std, o.seed);
  }
  model->to(o.device, to_scalar_type(cfg.dtype));
  apply_lora(*model, cfg.lora);
  apply_freeze(*model, cfg.freeze);
  log::info("model {} ({}):\n{}", config::enum_name(cfg.family),
            cfg.pretrained.empty() ? std::string("from scratch") : cfg.pretrained.string(),
            format_parameter_report(parameter_report(*model)));
  return model;
}

nn::QwenVL load_pretrained(const std::filesystem::path& dir, at::Device device, at::ScalarType dtype) {
  nn::QwenVL model(nn::QwenVLOptions(load_hf_config(dir)));
  load_hf_weights(*model, dir);
  model->to(device, dtype);
  return model;
}

}  // namespace ec::models
