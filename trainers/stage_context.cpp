#include "trainers/stage_context.h"

#include <ATen/autocast_mode.h>

namespace ec::train {

data::DatasetOptions dataset_options(const ExperimentConfig& cfg, const models::QwenVLConfig& model) {
  data::DatasetOptions o;
  o.image = data::ImageProcessorOptions::for_family(model.family, cfg.data.image);
  o.budget = cfg.data.budget;
  o.chat = data::make_chat_options(cfg.prompt, model.family);
  o.chat.spatial_merge = model.vision.spatial_merge_size;
  o.manifest = cfg.data.manifest_options();
  return o;
}

data::CollateOptions collate_options(const ExperimentConfig& cfg, const data::Tokenizer& tokenizer,
                                     const models::QwenVLConfig& model) {
  data::CollateOptions o;
  o.special = tokenizer.special_tokens();
  o.merge_size = model.vision.spatial_merge_size;
  o.packed = cfg.data.collate.packed;
  o.pad_to_multiple = cfg.data.collate.pad_to_multiple;
  return o;
}

kernels::LogprobOptions logprob_options(const ExperimentConfig& cfg, std::shared_ptr<const kernels::VocabShard> shard) {
  kernels::LogprobOptions o = cfg.kernels.logprob_options(cfg.run.deterministic);
  o.shard = std::move(shard);
  return o;
}

data::Sampler make_sampler(const StageContext& ctx, const data::EditDataset& train) {
  const ExperimentConfig& cfg = *ctx.cfg;
  data::SamplerLayout layout{cfg.train.micro_batch_size, cfg.train.global_batch_size, ctx.dp_size, ctx.dp_rank};
  layout.validate();
  std::vector<int64_t> lengths;
  if (cfg.data.sampler.bucket_by_length) lengths = train.lengths(std::max(1, cfg.data.loader.num_workers));
  return data::Sampler(train.size(), cfg.data.sampler, cfg.run.seed, layout, std::move(lengths));
}

namespace {
at::Tensor move(const at::Tensor& t, at::Device device) {
  if (!t.defined() || t.device() == device) return t;
  return t.to(device, /*non_blocking=*/t.is_pinned());
}
}  // namespace

data::ModelInputs to_device(const data::ModelInputs& in, at::Device device) {
  data::ModelInputs out = in;
  out.input_ids = move(in.input_ids, device);
  out.position_ids = move(in.position_ids, device);
  out.attention_mask = move(in.attention_mask, device);
  out.cu_seqlens = move(in.cu_seqlens, device);
  out.pixel_values = move(in.pixel_values, device);
  out.image_grid_thw = in.image_grid_thw;  // read on the host by the vision tower's planning
  out.labels = move(in.labels, device);
  return out;
}

data::PairBatch to_device(const data::PairBatch& in, at::Device device) {
  data::PairBatch out = in;
  out.inputs = to_device(in.inputs, device);
  if (in.layout == data::PairLayout::SharedPrefix) {
    out.answers = to_device(in.answers, device);
    out.answer_prompt = move(in.answer_prompt, device);
    out.answer_first_token = move(in.answer_first_token, device);
    out.prompt_last_index = move(in.prompt_last_index, device);
  }
  return out;
}

AutocastScope::AutocastScope(Autocast mode, at::Device device) {
  if (mode == Autocast::None) return;
  active_ = true;
  type_ = device.type();
  prev_enabled_ = at::autocast::is_autocast_enabled(type_);
  prev_dtype_ = at::autocast::get_autocast_dtype(type_);
  at::autocast::set_autocast_enabled(type_, true);
  at::autocast::set_autocast_dtype(type_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Cached casts of the weights are only valid inside the outermost autocast region.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(type_, prev_enabled_);
  at::autocast::set_autocast_dtype(type_, prev_dtype_);
}

at::Tensor head_weight_for(nn::QwenVLImpl& model, const at::Tensor& hidden) {
  at::Tensor w = model.lm_head_weight();
  return w.scalar_type() == hidden.scalar_type() ? w : w.to(hidden.scalar_type());
}

}  // namespace ec::train
