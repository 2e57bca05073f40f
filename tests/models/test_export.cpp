// Weights and export: a model exported by editcaption loads in transformers with the same logits
// (tools/reference/qwen_vl_run_hf.py), both tensor layouts and sharded directories load back, and
// broken checkpoints are refused with the tensor named.
#include <gtest/gtest.h>

#include <fstream>

#include "editcaption/io/safetensors.h"
#include "editcaption/io/safetensors_index.h"
#include "models/qwen_vl/export.h"
#include "models/qwen_vl/hf_config.h"
#include "models/qwen_vl/hf_weights.h"
#include "models/qwen_vl/lora.h"
#include "models/qwen_vl/positions.h"
#include "tests/models/model_test_util.h"

namespace ec::test {
namespace {

namespace fs = std::filesystem;
using models::QwenVLConfig;

data::ModelInputs two_row_batch(const QwenVLConfig& c) {
  auto a = prompt_ids(c, 3, {{1, 4, 6}}, 2, 1);
  auto b = prompt_ids(c, 2, {{1, 6, 4}, {1, 4, 4}}, 4, 2);
  const int64_t L = std::max(a.size(), b.size());
  data::ModelInputs in;
  in.input_ids = at::zeros({2, L}, at::kLong);
  in.attention_mask = at::zeros({2, L}, at::kLong);
  in.input_ids[0].narrow(0, L - a.size(), a.size()).copy_(ids_tensor(a)[0]);
  in.attention_mask[0].narrow(0, L - a.size(), a.size()).fill_(1);
  in.input_ids[1].narrow(0, L - b.size(), b.size()).copy_(ids_tensor(b)[0]);
  in.attention_mask[1].narrow(0, L - b.size(), b.size()).fill_(1);
  in.pixel_values = at::cat({pixels(c, {{1, 4, 6}}, 3), pixels(c, {{1, 6, 4}, {1, 4, 4}}, 4)});
  in.image_grid_thw = grid_tensor({{1, 4, 6}, {1, 6, 4}, {1, 4, 4}});
  return in;
}

TEST(Export, TransformersLoadsExportedModelsWithTheSameLogits) {
  const ModelFamily families[] = {ModelFamily::Qwen2VL, ModelFamily::Qwen25VL, ModelFamily::Qwen3VL};
  TempDir tmp;
  std::vector<std::string> argv{python(), (source_dir() / "tools/reference/qwen_vl_run_hf.py").string()};
  std::vector<at::Tensor> mine;
  std::vector<data::ModelInputs> inputs;
  std::vector<QwenVLConfig> configs;
  for (auto f : families) {
    QwenVLConfig c;
    nn::QwenVL m = tiny_model(f, 7, &c);
    if (f == ModelFamily::Qwen3VL) {
      // Adapters are folded into the exported weights.
      models::LoraConfig lc;
      lc.rank = 2;
      lc.targets = {"q_proj", "gate_proj"};
      models::apply_lora(*m, lc);
      at::NoGradGuard ng;
      for (auto& p : m->named_parameters())
        if (p.key().find("lora_b") != std::string::npos) p.value().normal_(0, 0.2);
    }
    const std::string name = config::enum_name(f);
    models::ExportOptions eo;
    eo.dtype = at::kFloat;
    models::export_hf(*m, tmp / name, eo);
    EXPECT_TRUE(fs::exists(tmp / name / "config.json"));
    EXPECT_TRUE(fs::exists(tmp / name / "preprocessor_config.json"));

    data::ModelInputs in = two_row_batch(c);
    {
      at::NoGradGuard ng;
      data::ModelInputs bin = in;
      bin.attention_mask = in.attention_mask.to(at::kBool);
      mine.push_back(m->forward(bin).logits);
    }
    io::write_safetensors(tmp / (name + ".in.safetensors"), {{"input_ids", in.input_ids},
                                                             {"attention_mask", in.attention_mask},
                                                             {"pixel_values", in.pixel_values},
                                                             {"image_grid_thw", in.image_grid_thw}});
    argv.insert(argv.end(), {"--job", (tmp / name).string(), (tmp / (name + ".in.safetensors")).string(),
                             (tmp / (name + ".out.safetensors")).string()});
    inputs.push_back(in);
    configs.push_back(c);
  }
  // One Python process for the three models (importing transformers dominates its run time).
  auto r = run_command(argv);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = config::enum_name(families[i]);
    SCOPED_TRACE(name);
    auto ref = load_tensors(tmp / (name + ".out.safetensors"));
    at::Tensor real = inputs[i].attention_mask.to(at::kBool).unsqueeze(-1).expand_as(mine[i]);
    EXPECT_LT(max_abs_diff(mine[i].masked_select(real), ref["logits"].masked_select(real)), 1e-4);
    auto pos = models::batch_positions(inputs[i].input_ids, inputs[i].attention_mask, inputs[i].image_grid_thw, configs[i]);
    EXPECT_TRUE(pos.position_ids.equal(ref["position_ids"]));
  }
}

TEST(Export, LayoutsShardsAndDtypesLoadBack) {
  QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen25VL, 8, &c);
  TempDir tmp;
  for (auto layout : {models::HfLayout::Legacy, models::HfLayout::Nested}) {
    models::SaveOptions so;
    so.dtype = at::kBFloat16;
    so.layout = layout;
    so.max_shard_bytes = 100'000;  // several shards and an index
    fs::path dir = tmp / config::enum_name(layout);
    fs::create_directories(dir);
    models::save_hf_weights(*m, dir, so);
    write_text(dir / "config.json", models::config_to_hf(c, at::kBFloat16).dump());
    EXPECT_TRUE(fs::exists(dir / "model.safetensors.index.json"));
    io::ShardedSafetensors st(dir);
    const std::string probe = layout == models::HfLayout::Nested ? "model.language_model.norm.weight" : "model.norm.weight";
    EXPECT_TRUE(st.contains(probe));
    const std::string patch = layout == models::HfLayout::Nested ? "model.visual.patch_embed.proj.weight"
                                                                 : "visual.patch_embed.proj.weight";
    EXPECT_EQ(st.info(patch).shape.size(), 5u);  // Conv3d layout on disk
    nn::QwenVL back = models::load_pretrained(dir);
    auto src = m->named_parameters();
    for (const auto& p : back->named_parameters()) {
      EXPECT_TRUE(p.value().equal(src[p.key()].to(at::kBFloat16).to(at::kFloat))) << p.key();
    }
  }
}

TEST(Export, BrokenCheckpointsNameTheTensor) {
  QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen2VL, 9, &c);  // untied
  TempDir tmp;
  auto params = m->named_parameters();
  io::NamedTensors good;
  for (const auto& p : params) good.emplace_back(models::hf_name(p.key(), models::HfLayout::Nested), p.value().detach());
  auto write = [&](const std::string& dir, io::NamedTensors t) {
    fs::create_directories(tmp / dir);
    write_text(tmp / dir / "config.json", models::config_to_hf(c, at::kFloat).dump());
    io::write_safetensors(tmp / dir / "model.safetensors", t);
    return tmp / dir;
  };
  auto expect_error = [](const fs::path& dir, const std::string& needle) {
    try {
      models::load_pretrained(dir);
      ADD_FAILURE() << "expected a UserError for " << dir;
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      EXPECT_EQ(e.code(), ExitCode::Input);
    }
  };
  // Missing tensor.
  io::NamedTensors missing(good.begin() + 1, good.end());
  expect_error(write("missing", missing), good.front().first.substr(6));
  // Unexpected tensor.
  io::NamedTensors extra = good;
  extra.emplace_back("model.visual.extra.weight", at::zeros({2}));
  expect_error(write("extra", extra), "model.visual.extra.weight");
  // Wrong shape.
  io::NamedTensors wrong = good;
  wrong[3].second = at::zeros({7});
  expect_error(write("shape", wrong), wrong[3].first);
  // Untied config without lm_head.weight.
  io::NamedTensors headless;
  for (const auto& t : good)
    if (t.first != "lm_head.weight") headless.push_back(t);
  expect_error(write("headless", headless), "tie_word_embeddings");
  // Extra rotary buffers some exporters write are ignored.
  io::NamedTensors rotary = good;
  rotary.emplace_back("model.language_model.rotary_emb.inv_freq", at::zeros({8}));
  EXPECT_NO_THROW(models::load_pretrained(write("rotary", rotary)));
}

TEST(Export, AssetsAreCopied) {
  QwenVLConfig c;
  nn::QwenVL m = tiny_model(ModelFamily::Qwen3VL, 10, &c);
  TempDir tmp;
  fs::create_directories(tmp / "src");
  write_text(tmp / "src" / "tokenizer.json", "{\"t\": 1}");
  write_text(tmp / "src" / "chat_template.jinja", "{{ messages }}");
  write_text(tmp / "src" / "preprocessor_config.json", "{\"p\": 1}");
  models::ExportOptions eo;
  eo.assets = {tmp / "src"};
  auto copied = models::export_hf(*m, tmp / "out", eo);
  EXPECT_EQ(copied.size(), 3u);
  EXPECT_EQ(read_text(tmp / "out" / "preprocessor_config.json"), "{\"p\": 1}");
  EXPECT_EQ(read_text(tmp / "out" / "chat_template.jinja"), "{{ messages }}");
  EXPECT_TRUE(fs::exists(tmp / "out" / "model.safetensors"));
}

}  // namespace
}  // namespace ec::test
