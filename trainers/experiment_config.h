// The root of the configuration: one section per component. Each component receives only its own
// section; nothing below the CLI sees this struct.
#pragma once

#include "editcaption/ckpt/config.h"
#include "editcaption/config/visitor.h"
#include "editcaption/core/run.h"
#include "editcaption/data/chat_template.h"
#include "kernels/kernels_config.h"
#include "editcaption/data/synth/config.h"
#include "editcaption/eval/config.h"
#include "editcaption/eval/judge_config.h"
#include "editcaption/data/data_config.h"
#include "editcaption/dist/config.h"
#include "trainers/optim/config.h"
#include "models/generation_config.h"
#include "models/qwen_vl/config.h"
#include "trainers/ablation_config.h"
#include "trainers/train_config.h"

namespace ec {

struct ExperimentConfig {
  using is_config_section = void;
  RunConfig run;
  data::PromptConfig prompt;
  kernels::KernelsConfig kernels;
  data::synth::SynthConfig synth;
  eval::EvalConfig eval;
  eval::JudgeConfig judge;
  data::DataConfig data;
  ckpt::CheckpointConfig checkpoint;
  dist::DistConfig dist;
  optim::OptimConfig optim;
  models::QwenVLConfig model;
  models::GenerationConfig generation;
  train::TrainConfig train;
  train::DpoConfig dpo;
  train::AblationConfig ablate;
  train::DemoConfig demo;

  template <class V>
  void visit(V& v) {
    v("run", run, "Run name, output directory, seed, logging and determinism.");
    v("prompt", prompt, "Chat prompt: the instruction-writing prompt and the system prompt (docs/tokenizers.md).");
    v("kernels", kernels, "Fused loss kernels: implementation and tile sizes.");
    v("synth", synth, "The built-in synthetic edit-pair dataset (`editcaption synth`).");
    v("eval", eval, "Evaluation (`editcaption eval`).");
    v("judge", judge, "Judge-mode evaluation: endpoint, model, concurrency, timeouts, retries (`editcaption eval judge`).");
    v("data", data, "Manifests, image processing, token budget, sampling and loading (docs/data.md).");
    v("checkpoint", checkpoint, "Checkpoint directory, cadence, retention and resume (docs/checkpoints.md).");
    v("dist", dist, "Distributed training: data x tensor parallel sizes, backend, timeouts, gradient reduction.");
    v("optim", optim, "AdamW, parameter groups, gradient clipping and the learning-rate schedule.");
    v("model", model, "The Qwen-VL model: family and shape (presets in configs/models/), weights, LoRA, freezing (docs/models.md).");
    v("generation", generation, "Decoding for captioning and sampling answers (docs/models.md).");
    v("train", train, "The training loop: steps, batch sizes, logging, validation, mixed precision, the update guard (docs/training.md).");
    v("dpo", dpo, "The DPO stage: loss variant, beta, the frozen reference, HAE-style margins (docs/training.md).");
    v("ablate", ablate, "The SFT-only / DPO-only / SFT+DPO / SFT+HAE-DPO comparison and preference mining (docs/training.md).");
    v("demo", demo, "The end-to-end demo job (`editcaption demo`, docs/results.md).");
  }
};

}  // namespace ec
