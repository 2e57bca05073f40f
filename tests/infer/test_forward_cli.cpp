// `editcaption forward`: on the inputs transformers ran (tools/reference/qwen_vl_reference.py) it
// dumps the same position ids and rope deltas and logits within 1e-4 for all three families; a
// .json input with image files gives a dump that transformers (tools/reference/qwen_vl_run_hf.py)
// runs to the same logits and that reads back as a .safetensors input; bad inputs are refused
// naming the file and the tensor or key.
#include <gtest/gtest.h>

#include "models/qwen_vl/hf_config.h"
#include "tests/infer/infer_fixture.h"

namespace ec::train {
namespace {

namespace fs = std::filesystem;
using test::InferFixture;
using test::load_tensors;
using test::max_abs_diff;
using test::run_cli;

class ForwardParity : public ::testing::TestWithParam<std::string> {};

TEST_P(ForwardParity, DumpMatchesTransformers) {
  const fs::path ref = test::fixture_dir("qwen_vl_reference");
  test::TempDir tmp{"ec-forward"};
  for (const char* name : {"text", "image2", "batch"}) {
    const fs::path in = ref / "cases" / (GetParam() + "." + name + ".safetensors");
    const fs::path out = tmp / (std::string(name) + ".safetensors");
    auto r = run_cli({"forward", "--model", (ref / GetParam()).string(), "--inputs", in.string(), "--dump", out.string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto want = load_tensors(in);
    auto got = load_tensors(out);
    EXPECT_TRUE(got["position_ids"].equal(want["position_ids"])) << name;
    EXPECT_TRUE(got["rope_deltas"].equal(want["rope_deltas"])) << name;
    at::Tensor real = want["attention_mask"].to(at::kBool).unsqueeze(-1).expand_as(want["logits"]);
    EXPECT_LT(max_abs_diff(got["logits"].masked_select(real), want["logits"].masked_select(real)), 1e-4) << name;
    if (want.count("image_embeds")) EXPECT_LT(max_abs_diff(got["image_embeds"], want["image_embeds"]), 1e-5) << name;
    EXPECT_TRUE(got["input_ids"].equal(want["input_ids"])) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, ForwardParity, ::testing::Values("qwen2_vl", "qwen2_5_vl", "qwen3_vl"));

TEST(ForwardCli, JsonWithImagesRunsInTransformersAndReadsBack) {
  InferFixture f;
  ExperimentConfig cfg = f.config();
  nn::QwenVL m = InferFixture::model(cfg);
  models::ExportOptions eo;
  eo.dtype = at::kFloat;
  eo.assets = {f.tokenizer_dir};
  const fs::path hf = f.dir / "hf";
  models::export_hf(*m, hf, eo);

  test::write_png(f.dir / "a.png", 56, 84, 1);
  test::write_png(f.dir / "b.png", 84, 56, 2);
  const SpecialTokenIds t = f.tokenizer->special_tokens();
  const int64_t pad = t.image_pad;
  // Row 0: both images as single tokens (expanded); row 1: shorter, text only (right-padded).
  nlohmann::json j;
  j["input_ids"] = {{5, t.vision_start, pad, t.vision_end, 7, t.vision_start, pad, t.vision_end, 9}, {5, 6, 7}};
  j["images"] = {"a.png", "b.png"};
  test::write_text(f.dir / "in.json", j.dump());

  const fs::path dump = f.dir / "dump.safetensors";
  auto r = run_cli({"forward", "--model", hf.string(), "--inputs", (f.dir / "in.json").string(), "--dump", dump.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto got = load_tensors(dump);
  const at::Tensor grid = got["image_grid_thw"];
  ASSERT_EQ(grid.size(0), 2);
  const int64_t merge = cfg.model.vision.spatial_merge_size;
  const int64_t tokens = grid.prod(1).sum().item<int64_t>() / (merge * merge);
  EXPECT_EQ((got["input_ids"] == pad).sum().item<int64_t>(), tokens);
  EXPECT_EQ(got["attention_mask"][1].sum().item<int64_t>(), 3);
  EXPECT_EQ(got["input_ids"].size(1), 7 + tokens);

  // transformers runs the dump itself (it is a valid qwen_vl_run_hf.py input).
  const fs::path hf_out = f.dir / "hf_out.safetensors";
  auto py = test::run_command({test::python(), (test::source_dir() / "tools/reference/qwen_vl_run_hf.py").string(), "--job",
                               hf.string(), dump.string(), hf_out.string()});
  ASSERT_EQ(py.exit_code, 0) << py.err;
  auto theirs = load_tensors(hf_out);
  at::Tensor real = got["attention_mask"].to(at::kBool).unsqueeze(-1).expand_as(got["logits"]);
  EXPECT_LT(max_abs_diff(got["logits"].masked_select(real), theirs["logits"].masked_select(real)), 1e-4);
  // Padding positions carry no meaning in either; compare the real ones.
  at::Tensor real3 = got["attention_mask"].to(at::kBool).unsqueeze(0).expand_as(got["position_ids"]);
  EXPECT_TRUE(got["position_ids"].masked_select(real3).equal(theirs["position_ids"].masked_select(real3)));

  // The dump reads back as a .safetensors input and gives the same logits.
  const fs::path again = f.dir / "again.safetensors";
  r = run_cli({"forward", "--model", hf.string(), "--inputs", dump.string(), "--dump", again.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(load_tensors(again)["logits"].equal(got["logits"]));
}

TEST(ForwardCli, BadInputsNameTheFileAndTheTensorOrKey) {
  const fs::path ref = test::fixture_dir("qwen_vl_reference");
  const std::string model = (ref / "qwen2_vl").string();
  test::TempDir tmp{"ec-forward-bad"};
  auto expect_refused = [&](const fs::path& in, const std::vector<std::string>& words) {
    auto r = run_cli({"forward", "--model", model, "--inputs", in.string(), "--dump", (tmp / "out.safetensors").string()});
    EXPECT_NE(r.exit_code, 0) << in;
    for (const auto& w : words) EXPECT_NE(r.err.find(w), std::string::npos) << "missing \"" << w << "\" in: " << r.err;
    EXPECT_FALSE(fs::exists(tmp / "out.safetensors"));
  };
  auto in = load_tensors(ref / "cases" / "qwen2_vl.image1.safetensors");

  io::write_safetensors(tmp / "no_ids.safetensors", {{"attention_mask", in["attention_mask"]}});
  expect_refused(tmp / "no_ids.safetensors", {"no_ids.safetensors", "input_ids"});

  // One image token too few for the grid.
  at::Tensor ids = in["input_ids"].clone();
  const int64_t image_token = models::load_hf_config(ref / "qwen2_vl").image_token_id;
  at::Tensor at_image = (ids == image_token).nonzero();
  ids.index_put_({at_image[0][0], at_image[0][1]}, 1);
  io::write_safetensors(tmp / "short.safetensors", {{"input_ids", ids},
                                                     {"attention_mask", in["attention_mask"]},
                                                     {"pixel_values", in["pixel_values"]},
                                                     {"image_grid_thw", in["image_grid_thw"]}});
  expect_refused(tmp / "short.safetensors", {"short.safetensors", "image token", "image_grid_thw"});

  io::write_safetensors(tmp / "oov.safetensors", {{"input_ids", at::full({1, 3}, 1 << 20, at::kLong)}});
  expect_refused(tmp / "oov.safetensors", {"oov.safetensors", "vocabulary"});

  test::write_text(tmp / "typo.json", R"({"input_ids": [1, 2], "image": ["a.png"]})");
  expect_refused(tmp / "typo.json", {"typo.json", "\"image\""});
  test::write_text(tmp / "more.json", R"({"input_ids": [1, 2], "images": ["a.png"]})");
  test::write_png(tmp / "a.png", 56, 56, 3);
  expect_refused(tmp / "more.json", {"more.json", "1 image(s) listed"});
}

}  // namespace
}  // namespace ec::train
