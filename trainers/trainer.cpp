#include "trainers/trainer.h"

#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <optional>

#include "editcaption/core/check.h"
#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/ckpt/compat.h"
#include "editcaption/ckpt/discovery.h"
#include "editcaption/ckpt/manager.h"
#include "editcaption/ckpt/rng.h"
#include "editcaption/core/error.h"
#include "editcaption/core/fault.h"
#include "editcaption/core/log.h"
#include "editcaption/core/run.h"
#include "editcaption/core/signals.h"
#include "editcaption/dist/agree.h"
#include "editcaption/dist/coordinator.h"
#include "editcaption/dist/env.h"
#include "editcaption/dist/grad_sync.h"
#include "editcaption/dist/mesh.h"
#include "editcaption/dist/world.h"
#include "models/qwen_vl/tp_shard.h"
#include "trainers/dpo_objective.h"
#include "trainers/init_weights.h"
#include "trainers/optim/clip.h"
#include "trainers/optim/schedule.h"
#include "trainers/sft_objective.h"

namespace ec::train {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const char* stage_name(Stage s) { return s == Stage::Sft ? "sft" : "dpo"; }

ExperimentConfig with_absolute_paths(const ExperimentConfig& in) {
  ExperimentConfig c = in;
  for (fs::path* p : {&c.data.tokenizer, &c.data.train, &c.data.val, &c.data.dataset_root, &c.train.init,
                      &c.model.pretrained, &c.checkpoint.dir, &c.dpo.cache_dir, &c.run.output_dir}) {
    if (!p->empty()) *p = fs::absolute(*p).lexically_normal();
  }
  return c;
}

namespace {

std::shared_ptr<const data::Tokenizer> resolve_tokenizer(const ExperimentConfig& cfg) {
  if (!cfg.data.tokenizer.empty()) return data::load_tokenizer(cfg.data.tokenizer);
  if (!cfg.model.pretrained.empty()) return data::load_tokenizer(cfg.model.pretrained);
  if (!cfg.train.init.empty()) {
    if (auto dir = checkpoint_dir_of(cfg.train.init)) {
      const ExperimentConfig stored = checkpoint_config(*dir);
      EC_USER_CHECK(!stored.data.tokenizer.empty(), Usage,
                    "data.tokenizer: not set, and the checkpoint {} names none either", dir->string());
      return data::load_tokenizer(stored.data.tokenizer);
    }
    return data::load_tokenizer(cfg.train.init);
  }
  throw EC_USER_ERROR(Usage, "data.tokenizer: set a tokenizer (tokenizer.json, tokenizer.model or a directory)");
}

double peak_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

/// Sums of every rank, in key order (all ranks hold the same keys).
void all_reduce_sums(dist::Group& group, std::vector<double>& values) {
  if (group.size() == 1 || values.empty()) return;
  at::Tensor t = at::tensor(values, at::TensorOptions().dtype(at::kDouble)).to(group.device());
  group.all_reduce(t);
  at::Tensor h = t.cpu();
  std::copy(h.data_ptr<double>(), h.data_ptr<double>() + h.numel(), values.begin());
}

nlohmann::ordered_json reduce_metrics(dist::Group& group, const MetricSums& local) {
  std::vector<double> flat;
  for (const auto& [k, v] : local.values()) {
    flat.push_back(v.first);
    flat.push_back(v.second);
  }
  all_reduce_sums(group, flat);
  nlohmann::ordered_json out;
  size_t i = 0;
  for (const auto& [k, v] : local.values()) {
    const double sum = flat[i++], count = flat[i++];
    // count 0 with a non-zero sum: already normalised contributions (the step loss); 0 / 0: no
    // member of that breakdown anywhere, left out.
    if (count > 0) {
      out[k] = sum / count;
    } else if (k == "loss" || k == "val/loss") {
      out[k] = sum;
    }
  }
  return out;
}

class TrainingRun {
 public:
  TrainingRun(const ExperimentConfig& cfg, Stage stage)
      : cfg_(with_absolute_paths(cfg)), stage_(stage), world_(cfg_.dist, dist::read_dist_env()) {}

  StageResult run();

 private:
  void setup();
  void resume(const ckpt::ResumeChoice& choice);
  void save(bool final_save);
  void zero_grads();
  double clip_gradients();
  void log_step(const nlohmann::ordered_json& record);

  ExperimentConfig cfg_;
  Stage stage_;
  dist::World world_;
  std::optional<RunDir> run_;
  nlohmann::ordered_json resolved_;
  std::shared_ptr<ckpt::Coordinator> comm_;
  Policy policy_;
  StageContext ctx_;
  std::unique_ptr<Objective> objective_;
  std::vector<std::pair<std::string, at::Tensor>> trainable_;
  std::unique_ptr<dist::GradSync> sync_;
  std::unique_ptr<optim::Optimizer> optimizer_;
  std::unique_ptr<optim::LrSchedule> schedule_;
  UpdateGuard guard_;
  FaultPlan faults_ = FaultPlan::from_env();
  std::unique_ptr<ckpt::CheckpointManager> checkpoints_;
  int64_t step_ = 0, total_steps_ = 0;
  int64_t consumed_samples_ = 0, consumed_tokens_ = 0;
  double last_loss_ = 0;
  fs::path last_checkpoint_;  ///< the checkpoint resumed from, until this run commits one
};

void TrainingRun::setup() {
  if (cfg_.run.threads > 0) at::set_num_threads(cfg_.run.threads);
  if (cfg_.run.deterministic) at::globalContext().setDeterministicAlgorithms(true, false);
  resolved_ = config::to_json(cfg_);
  run_.emplace(cfg_.run, resolved_, world_.rank(), world_.size());
  log::info("{} stage: run {} ({} rank{}, {}), device {}", stage_name(stage_), run_->path().string(), world_.size(),
            world_.size() == 1 ? "" : "s", world_.env().source, world_.device().str());
  comm_ = std::make_shared<dist::GroupCoordinator>(world_.world_group());

  auto tokenizer = resolve_tokenizer(cfg_);
  policy_ = build_policy(cfg_, world_.device(), world_.tp());
  models::check_tokens(policy_.model->config(), tokenizer->special_tokens(), tokenizer->vocab_size());
  log::info("policy from {} (identity {})", policy_.source, policy_.identity.substr(0, 24));
  // Per-rank streams (LoRA dropout) that do not depend on how the model was initialised.
  at::manual_seed(dist::rank_seed(cfg_.run.seed, world_.dp_rank(), world_.tp_rank(), "torch"));

  ctx_.cfg = &cfg_;
  ctx_.policy = policy_.model;
  ctx_.tokenizer = tokenizer;
  ctx_.device = world_.device();
  ctx_.dp_rank = world_.dp_rank();
  ctx_.dp_size = world_.shape().dp;
  ctx_.init_identity = policy_.identity;
  if (stage_ == Stage::Sft) {
    objective_ = std::make_unique<SftObjective>(ctx_);
  } else {
    objective_ = std::make_unique<DpoObjective>(ctx_, *comm_);
  }

  for (auto& item : policy_.model->named_parameters()) {
    if (item.value().requires_grad()) trainable_.emplace_back(item.key(), item.value());
  }
  EC_USER_CHECK(!trainable_.empty(), Usage, "model.freeze: every parameter is frozen; nothing to train");
  if (world_.shape().dp > 1) {
    dist::GradSyncOptions so;
    so.bucket_bytes = static_cast<int64_t>(cfg_.dist.bucket_mb * (1 << 20));
    so.reduce_dtype = cfg_.dist.reduce_dtype == dist::ReduceDtype::Bf16 ? at::kBFloat16 : at::kFloat;
    so.shard = cfg_.dist.zero1;
    std::vector<at::Tensor> params;
    for (auto& [n, p] : trainable_) params.push_back(p);
    sync_ = std::make_unique<dist::GradSync>(params, world_.dp_group(), so);
  }
  optimizer_ = optim::make_optimizer(cfg_.optim, trainable_, sync_.get());
  total_steps_ = cfg_.train.max_steps > 0 ? cfg_.train.max_steps : cfg_.train.epochs * objective_->steps_per_epoch();
  schedule_ = std::make_unique<optim::LrSchedule>(cfg_.optim.lr, cfg_.optim.schedule, total_steps_);
  guard_ = UpdateGuard(cfg_.train.guard);
  const fs::path root = cfg_.checkpoint.dir.empty() ? run_->path() / "checkpoints" : cfg_.checkpoint.dir;
  checkpoints_ = std::make_unique<ckpt::CheckpointManager>(cfg_.checkpoint, root, comm_);
  const auto mem = optimizer_->memory();
  log::info("{} trainable tensors; {} steps ({} per epoch); optimizer state {:.1f} MiB{}", trainable_.size(),
            total_steps_, objective_->steps_per_epoch(), mem.state_bytes / 1048576.0,
            mem.saved_bytes() > 0 ? fmt::format(" (ZeRO-1 saves {:.1f} MiB)", mem.saved_bytes() / 1048576.0) : "");
  if (auto choice = ckpt::resolve_resume(cfg_.checkpoint.resume, root, cfg_.checkpoint.verify, *comm_)) resume(*choice);
}

void TrainingRun::resume(const ckpt::ResumeChoice& choice) {
  for (const std::string& r : choice.rejected) log::warn("resume: skipped {}", r);
  ckpt::Checkpoint c(choice.dir);
  ckpt::ResumeIdentity stored{c.json(0, "config"), c.header().reference_identity};
  ckpt::ResumeIdentity current{resolved_, objective_->reference_identity()};
  for (const auto& change : ckpt::check_resume_compatible(
           stored, current, {cfg_.checkpoint.allow_config_changes, cfg_.checkpoint.allow_reference_change})) {
    log::info("resume: {} changed from {} to {} (allowed)", change.key, change.stored.dump(), change.current.dump());
  }
  const nlohmann::json layout = c.json(0, "layout");
  EC_USER_CHECK(layout.value("tp", 1) == world_.shape().tp, Checkpoint,
                "{}: saved with dist.tp = {}, resumed with {}: tensor-parallel resharding is not supported",
                choice.dir.string(), layout.value("tp", 1), world_.shape().tp);
  const int src = std::min(world_.rank(), c.world_size() - 1);
  {
    io::SafetensorsFile f = c.tensors(world_.tp_rank(), "model");
    std::map<std::string, at::Tensor> tensors;
    for (const std::string& n : f.names()) tensors[n] = f.view(n);
    load_named_parameters(*policy_.model, tensors, f.path().string());
  }
  {
    io::SafetensorsFile f = c.tensors(world_.tp_rank(), "optimizer");
    optim::OptimizerState st;
    for (const std::string& n : f.names()) st.tensors[n] = f.view(n);
    st.meta = c.json(world_.tp_rank(), "optimizer");
    optimizer_->load_state_dict(st);
  }
  const nlohmann::json trainer = c.json(0, "trainer");
  step_ = trainer.at("step").get<int64_t>();
  consumed_samples_ = trainer.at("consumed_samples").get<int64_t>();
  consumed_tokens_ = trainer.at("consumed_tokens").get<int64_t>();
  guard_.load_state(trainer.at("guard"));
  objective_->load_loader_state(c.json(src, "loader"));
  ckpt::restore_default_rng(c.json(src, "rng"), (choice.dir / ckpt::rank_dir_name(src) / "rng.json").string());
  last_checkpoint_ = choice.dir;
  if (world_.rank() == 0) run_->metrics().drop_after_step(step_);
  log::info("resumed from {} at step {} ({} samples consumed)", choice.dir.string(), step_, consumed_samples_);
}

void TrainingRun::save(bool final_save) {
  ckpt::RankState rs;
  // The full optimizer state is collective under ZeRO-1: every rank takes part, rank 0 writes it.
  optim::OptimizerState os = optimizer_->state_dict();
  // The ranks of data-parallel index 0 (global ranks 0..tp-1) write the model and the optimizer
  // state: with dist.tp > 1 each holds its tensor-parallel part (tp_shard.h), read back by the
  // same tp rank on resume and joined by checkpoint_model.h for a new stage or an export.
  if (world_.dp_rank() == 0) {
    ckpt::TensorFile model;
    for (auto& item : policy_.model->named_parameters()) model.tensors.emplace_back(item.key(), item.value().detach());
    model.metadata = {{"format", "pt"}, {"family", config::enum_name(policy_.model->config().family)}};
    rs.tensors["model"] = std::move(model);
    ckpt::TensorFile opt;
    for (auto& [n, t] : os.tensors) opt.tensors.emplace_back(n, t);
    rs.tensors["optimizer"] = std::move(opt);
    rs.json["optimizer"] = os.meta;
  }
  if (world_.rank() == 0) {
    rs.json["config"] = resolved_;
    rs.json["layout"] = {{"dp", world_.shape().dp}, {"tp", world_.shape().tp}, {"world_size", world_.size()}};
    rs.json["trainer"] = {{"stage", stage_name(stage_)},           {"step", step_},
                          {"total_steps", total_steps_},            {"consumed_samples", consumed_samples_},
                          {"consumed_tokens", consumed_tokens_},    {"guard", guard_.state()},
                          {"policy_source", policy_.source},        {"final", final_save}};
  }
  std::vector<at::Device> cuda;
  if (world_.device().is_cuda()) cuda.push_back(world_.device());
  rs.json["rng"] = ckpt::capture_default_rng(cuda);
  rs.json["loader"] = objective_->loader_state();
  ckpt::CheckpointHeader h;
  h.step = step_;
  h.epoch = objective_->cursor().epoch;
  h.consumed_samples = consumed_samples_;
  h.consumed_tokens = consumed_tokens_;
  h.config_hash = run_->config_hash();
  h.reference_identity = objective_->reference_identity();
  h.extra = {{"stage", stage_name(stage_)}, {"dp", world_.shape().dp}, {"tp", world_.shape().tp}};
  checkpoints_->save(h, rs);
}

void TrainingRun::zero_grads() {
  if (sync_) {
    sync_->zero_grad();
    return;
  }
  for (auto& [n, p] : trainable_) {
    if (p.grad().defined()) p.mutable_grad().zero_();
  }
}

double TrainingRun::clip_gradients() {
  // The norm of the whole model's gradient. Under tensor parallelism each rank holds a part of the
  // sharded parameters and a full copy of the replicated ones (identical on every tp rank): the
  // squares are summed over the tp group with the replicated ones counted on tp rank 0 only.
  std::vector<dist::Group*> groups = optimizer_->grad_norm_groups();
  optim::Optimizer::ParamFilter counted;
  if (world_.shape().tp > 1) {
    groups.push_back(world_.tp_group_ptr().get());
    if (world_.tp_rank() != 0) counted = [](const std::string& name) { return models::tp_sharded(name); };
  }
  const double norm = optim::global_grad_norm(optimizer_->update_grads(counted), groups);
  optim::scale_grads_for_clip(optimizer_->update_grads(), cfg_.optim.clip_grad_norm, norm);
  return norm;
}

void TrainingRun::log_step(const nlohmann::ordered_json& r) {
  if (world_.rank() != 0) return;
  run_->metrics().write(r);
  auto num = [&](const char* k) { return r.contains(k) ? r[k].get<double>() : 0.0; };
  std::string extra;
  if (r.contains("accuracy")) extra += fmt::format(" | acc {:.3f}", num("accuracy"));
  if (r.contains("rewards/accuracies")) {
    extra += fmt::format(" | reward acc {:.3f} margin {:.3f}", num("rewards/accuracies"), num("rewards/margins"));
  }
  log::info("step {}/{} | loss {:.4f} | grad_norm {:.3f} | lr {:.2e}{} | {:.0f} tok/s{}", r["step"].get<int64_t>(),
            total_steps_, num("loss"), num("grad_norm"), num("lr"), extra, num("tokens_per_s"),
            r.value("skipped", false) ? " | SKIPPED" : "");
}

StageResult TrainingRun::run() {
  setup();
  StopSignals signals;
  const auto started = Clock::now();
  dist::Group& dp = *world_.dp_group();
  const int64_t K = cfg_.train.global_batch_size / (cfg_.train.micro_batch_size * world_.shape().dp);
  int exit_code = 0;
  while (step_ < total_steps_) {
    const auto t0 = Clock::now();
    std::vector<std::unique_ptr<MicroBatch>> micro;
    std::vector<double> units{0, 0, 0, 0, 0};  // tokens, pairs, chosen tokens, samples, model tokens
    for (int64_t k = 0; k < K; ++k) {
      micro.push_back(objective_->next());
      const Units u = micro.back()->units();
      units[0] += u.tokens;
      units[1] += u.pairs;
      units[2] += u.chosen_tokens;
      units[3] += static_cast<double>(micro.back()->samples());
      units[4] += static_cast<double>(micro.back()->tokens());
    }
    const std::vector<int64_t> head = micro.front()->head_tokens(4);
    all_reduce_sums(dp, units);
    const Units global{std::max(1.0, units[0]), std::max(1.0, units[1]), std::max(1.0, units[2])};
    policy_.model->train();
    MetricSums sums;
    for (int64_t k = 0; k < K; ++k) {
      if (sync_) sync_->set_sync(k == K - 1);
      objective_->train_micro(*micro[k], global, sums);
    }
    if (sync_) sync_->finish();
    micro.clear();
    // Test point: a non-finite gradient, as a bad batch or an overflow would give.
    if (faults_.hits("train.nan_grad", world_.rank(), step_ + 1)) trainable_.front().second.mutable_grad().fill_(NAN);
    nlohmann::ordered_json metrics = reduce_metrics(dp, sums);
    const double loss = metrics.value("loss", 0.0);
    const double grad_norm = clip_gradients();
    const double lr = schedule_->at(step_);
    UpdateGuard::Decision d{};
    if (cfg_.train.guard.enabled) d = guard_.check(step_, loss, grad_norm);
    if (!d.skip) optimizer_->step(lr);
    if (d.skip) log::warn("step {}: update skipped: {}", step_ + 1, d.reason);
    zero_grads();
    ++step_;
    consumed_samples_ += static_cast<int64_t>(units[3]);
    consumed_tokens_ += static_cast<int64_t>(units[4]);
    last_loss_ = loss;
    if (step_ == 1) world_.first_step_done();

    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    nlohmann::ordered_json record;
    record["step"] = step_;
    record["epoch"] = objective_->cursor().epoch;
    record["loss"] = loss;
    record["grad_norm"] = grad_norm;
    record["lr"] = lr;
    for (auto& [k, v] : metrics.items()) {
      if (k != "loss") record[k] = v;
    }
    record["tokens_per_s"] = units[4] / seconds;
    record["samples_per_s"] = units[3] / seconds;
    record["step_time_s"] = seconds;
    record["peak_rss_mib"] = peak_rss_mib();
    record["consumed_samples"] = consumed_samples_;
    record["first_ids"] = head;
    if (d.skip) record["skipped"] = true;
    if (step_ % cfg_.train.log_every == 0 || step_ == total_steps_ || d.skip) log_step(record);

    const bool eval_due = objective_->has_validation() &&
                          ((cfg_.train.eval_every > 0 && step_ % cfg_.train.eval_every == 0) || step_ == total_steps_);
    if (eval_due) {
      policy_.model->eval();
      nlohmann::ordered_json val = reduce_metrics(dp, objective_->validate(cfg_.train.eval_batches));
      val["step"] = step_;
      if (world_.rank() == 0) {
        run_->metrics().write(val);
        log::info("validation at step {}: {}", step_, val.dump());
      }
    }

    const bool over_budget =
        cfg_.train.time_budget_s > 0 &&
        std::chrono::duration<double>(Clock::now() - started).count() > cfg_.train.time_budget_s;
    const dist::StepVerdict verdict = dist::agree_step(world_.world(), signals.requested() || over_budget, false);
    const bool planned_stop = cfg_.train.stop_at_step > 0 && step_ == cfg_.train.stop_at_step;
    if (checkpoints_->due(step_) || verdict.stop || planned_stop || step_ == total_steps_) save(step_ == total_steps_);
    if (verdict.stop) {
      log::warn("stop requested ({}): saved step {}; exiting with code {}",
                signals.requested() ? signal_name(signals.signal()) : "time budget", step_,
                static_cast<int>(ExitCode::Preempted));
      exit_code = static_cast<int>(ExitCode::Preempted);
      break;
    }
    if (planned_stop) break;
  }
  checkpoints_->finish();
  const std::string bad = objective_->bad_sample_summary();
  if (!bad.empty()) log::info("data: {}", bad);
  world_.finish();
  StageResult out;
  out.exit_code = exit_code;
  out.steps = step_;
  out.total_steps = total_steps_;
  out.run_dir = run_->path();
  out.checkpoint = last_checkpoint_;
  if (auto last = checkpoints_->last_committed_step()) out.checkpoint = checkpoints_->root() / ckpt::step_dir_name(*last);
  out.last_loss = last_loss_;
  return out;
}

}  // namespace

StageResult run_stage(const ExperimentConfig& cfg, Stage stage) {
  TrainingRun run(cfg, stage);
  return run.run();
}

}  // namespace ec::train
