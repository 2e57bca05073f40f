// Fixtures of the inference tests: a sentencepiece tokenizer trained on the spot, a tiny random
// Qwen2.5-VL-shaped model whose special-token ids and vocabulary are that tokenizer's, written as
// an editcaption checkpoint (CheckpointManager, like the trainers) or a Hugging Face directory
// (export_hf), and small PNG pairs with a manifest.
#pragma once

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "editcaption/ckpt/coordinator.h"
#include "editcaption/ckpt/manifest.h"
#include "editcaption/ckpt/manager.h"
#include "editcaption/config/node.h"
#include "editcaption/data/chat_template.h"
#include "editcaption/data/sentencepiece_tokenizer.h"
#include "models/qwen_vl/export.h"
#include "tests/models/model_test_util.h"

namespace ec::test {

namespace fs = std::filesystem;

inline void write_png(const fs::path& p, int h, int w, int seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  ASSERT_TRUE(cv::imwrite(p.string(), m));
}

struct InferFixture {
  TempDir dir{"ec-infer"};
  fs::path tokenizer_dir;
  std::shared_ptr<const data::Tokenizer> tokenizer;

  InferFixture() {
    std::string corpus;
    for (int i = 0; i < 200; ++i) {
      corpus += fmt::format("Move the red mug {} pixels to the left and make the blue box larger number {}.\n", i, i * 7);
    }
    corpus += std::string(data::kDefaultInstructionPrompt) + "\n" + std::string(data::kQwen2DefaultSystemPrompt) + "\n";
    write_text(dir / "corpus.txt", corpus);
    data::SentencePieceTrainOptions t;
    t.inputs = {dir / "corpus.txt"};
    t.vocab_size = 400;
    tokenizer_dir = dir / "tok";
    data::train_sentencepiece(t, tokenizer_dir);
    tokenizer = data::load_tokenizer(tokenizer_dir);
  }

  /// The tiny preset with this tokenizer's vocabulary and ids, `extra` overrides on top.
  ExperimentConfig config(const std::vector<std::string>& extra = {}) const {
    const SpecialTokenIds t = tokenizer->special_tokens();
    std::vector<std::string> o{
        fmt::format("model.text.vocab_size={}", tokenizer->vocab_size()),
        fmt::format("model.image_token_id={}", t.image_pad),
        fmt::format("model.video_token_id={}", t.video_pad),
        fmt::format("model.vision_start_token_id={}", t.vision_start),
        fmt::format("model.vision_end_token_id={}", t.vision_end),
        "model.init_std=0.1",
        fmt::format("data.tokenizer={}", tokenizer_dir.string()),
        "generation.max_new_tokens=6",
    };
    o.insert(o.end(), extra.begin(), extra.end());
    return load_preset("tiny.yaml", o);
  }

  /// A model of `cfg` whose LoRA B matrices (zero at init) are random, so that merging matters.
  static nn::QwenVL model(const ExperimentConfig& cfg, uint64_t seed = 3) {
    models::BuildOptions b;
    b.seed = seed;
    nn::QwenVL m = models::build_model(cfg.model, b);
    at::NoGradGuard ng;
    at::manual_seed(static_cast<int64_t>(seed));
    for (auto& p : m->named_parameters()) {
      if (p.key().find("lora_b") != std::string::npos) p.value().normal_(0, 0.1);
    }
    m->eval();
    return m;
  }

  /// Saves `m` and `cfg` the way a trainer does: rank 0's "model" tensors and "config" JSON.
  static fs::path save_checkpoint(nn::QwenVL& m, const ExperimentConfig& cfg, const fs::path& root, int64_t step = 7,
                                  const std::function<void(io::NamedTensors&)>& edit = {}) {
    ckpt::CheckpointConfig cc;
    ckpt::CheckpointManager mgr(cc, root, std::make_shared<ckpt::SingleProcessCoordinator>(), FaultPlan{});
    ckpt::RankState state;
    io::NamedTensors& tensors = state.tensors["model"].tensors;
    for (const auto& p : m->named_parameters()) tensors.emplace_back(p.key(), p.value().detach());
    if (edit) edit(tensors);
    state.json["config"] = nlohmann::json::parse(config::to_json(cfg).dump());
    ckpt::CheckpointHeader h;
    h.step = step;
    mgr.save(h, state);
    return root / ckpt::step_dir_name(step);
  }

  /// `n` source/target PNG pairs of varied sizes under dir/img and a manifest of them; `extra`
  /// lines are appended as written.
  fs::path manifest(int n, const std::vector<std::string>& extra = {}) const {
    fs::create_directories(dir / "img");
    std::string text;
    for (int i = 0; i < n; ++i) {
      write_png(dir / fmt::format("img/{}_s.png", i), 56 + 28 * (i % 2), 56, 2 * i);
      write_png(dir / fmt::format("img/{}_t.png", i), 56, 56 + 28 * (i % 3), 2 * i + 1);
      text += fmt::format(R"({{"id": "p{}", "source": "img/{}_s.png", "target": "img/{}_t.png", "instruction": "Move the red mug."}})",
                          i, i, i) +
              "\n";
    }
    for (const auto& e : extra) text += e + "\n";
    write_text(dir / "pairs.jsonl", text);
    return dir / "pairs.jsonl";
  }
};

/// Logits of `m` on the chat prompt with two random images.
inline at::Tensor probe_logits(nn::QwenVLImpl& m, const data::Tokenizer& tokenizer) {
  const models::QwenVLConfig& c = m.config();
  const std::vector<GridThw> grids{{1, 4, 4}, {1, 4, 6}};
  const std::vector<int64_t> pads{4, 6};
  data::ModelInputs in;
  in.input_ids = ids_tensor(data::encode_chat_prompt(tokenizer, data::make_chat_options({}, c.family), pads));
  in.pixel_values = pixels(c, grids, 12);
  in.image_grid_thw = grid_tensor(grids);
  at::NoGradGuard ng;
  return m.forward(in).logits;
}

}  // namespace ec::test
