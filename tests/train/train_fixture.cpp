#include "tests/train/train_fixture.h"

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <fstream>
#include <mutex>

#include "editcaption/data/sentencepiece_tokenizer.h"
#include "editcaption/data/synth/generator.h"
#include "editcaption/data/tokenizer.h"

namespace ec::test {
namespace fs = std::filesystem;

namespace {

TrainFixture make(const fs::path& dir) {
  TrainFixture f;
  f.dir = dir;
  f.synth = dir / "synth";
  f.tokenizer = dir / "tokenizer";
  if (!fs::exists(dir / "ready")) {
    const fs::path tmp = dir.string() + fmt::format(".tmp{}", getpid());
    fs::remove_all(tmp);
    data::synth::SynthConfig sc;
    sc.seed = 11;
    sc.image_size = 64;
    sc.train = 24;
    sc.val = 6;
    sc.test = 6;
    sc.threads = 1;
    data::synth::generate_dataset(sc, tmp / "synth");
    data::SentencePieceTrainOptions to;
    to.manifests = {tmp / "synth/train.jsonl", tmp / "synth/dpo_train.jsonl"};
    to.vocab_size = 400;
    data::train_sentencepiece(to, tmp / "tokenizer");
    write_text(tmp / "ready", "ok\n");
    std::error_code ec;
    fs::rename(tmp, dir, ec);  // another process may have won the race: its copy is identical
    if (ec) fs::remove_all(tmp);
  }
  auto tok = data::load_tokenizer(f.tokenizer);
  for (const char* name : {"vision_start", "vision_end", "image_pad", "video_pad"}) {
    f.ids[name] = *tok->token_to_id(fmt::format("<|{}|>", name));
  }
  return f;
}

}  // namespace

const TrainFixture& train_fixture() {
  static std::once_flag once;
  static TrainFixture f;
  std::call_once(once, [] { f = make(binary_dir() / "test_data" / "train_fixture"); });
  return f;
}

std::string train_config_yaml(const fs::path& runs_dir, const std::string& name, bool dpo) {
  const TrainFixture& f = train_fixture();
  return fmt::format(R"(run: {{name: {name}, output_dir: {runs}, seed: 7, threads: 1}}
data:
  tokenizer: {tok}
  train: {train}
  image: {{min_pixels: 1024, max_pixels: 4096}}
  loader: {{num_workers: 1, prefetch: 2}}
model:
  family: qwen3_vl
  tie_word_embeddings: true
  image_token_id: {image_pad}
  video_token_id: {video_pad}
  vision_start_token_id: {vision_start}
  vision_end_token_id: {vision_end}
  text: {{vocab_size: 512, hidden_size: 64, intermediate_size: 128, num_layers: 2, num_heads: 4, num_kv_heads: 2,
         head_dim: 32, rope_theta: 10000.0, mrope_section: [6, 5, 5], mrope_interleaved: true}}
  vision: {{depth: 1, hidden_size: 32, num_heads: 2, intermediate_size: 64, out_hidden_size: 64, patch_size: 16,
           hidden_act: gelu_pytorch_tanh, num_position_embeddings: 16, deepstack_visual_indexes: [0]}}
train: {{max_steps: 6, micro_batch_size: 2, global_batch_size: 4, log_every: 1}}
optim: {{lr: {lr}, schedule: {{kind: cosine, warmup_steps: 2}}}}
checkpoint: {{interval_steps: 2, keep_last: 10}}
)",
                     fmt::arg("name", name), fmt::arg("runs", runs_dir.string()),
                     fmt::arg("tok", f.tokenizer.string()),
                     fmt::arg("train", (f.synth / (dpo ? "dpo_train.jsonl" : "train.jsonl")).string()),
                     fmt::arg("image_pad", f.ids.at("image_pad")), fmt::arg("video_pad", f.ids.at("video_pad")),
                     fmt::arg("vision_start", f.ids.at("vision_start")), fmt::arg("vision_end", f.ids.at("vision_end")),
                     fmt::arg("lr", dpo ? "1.0e-3" : "3.0e-3"));
}

std::vector<std::map<std::string, std::string>> step_records(const fs::path& run_dir) {
  std::vector<std::map<std::string, std::string>> out;
  std::ifstream in(run_dir / "metrics.jsonl");
  std::string line;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    if (!j.contains("grad_norm")) continue;
    std::map<std::string, std::string> r;
    for (auto& [k, v] : j.items()) r[k] = v.dump();
    out.push_back(std::move(r));
  }
  return out;
}

std::string model_bytes(const fs::path& checkpoint_dir) {
  return read_text(checkpoint_dir / "rank_00000" / "model.safetensors");
}

}  // namespace ec::test
