// Datasets and packed datasets: a record becomes the Sample / PairSample that the image processor
// and the chat template give on their own; bad records raise UserError with line and id; the
// token budget holds; `data pack` shards give the same samples without decoding; the loader runs
// end to end with a bad record replaced.
#include <gtest/gtest.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <set>

#include "editcaption/core/error.h"
#include "editcaption/data/collate.h"
#include "editcaption/data/dataset.h"
#include "editcaption/data/loader.h"
#include "editcaption/data/packed_images.h"
#include "editcaption/data/sample_encoding.h"
#include "editcaption/data/sentencepiece_tokenizer.h"
#include "tests/common/test_util.h"

namespace ec::data {
namespace {

namespace fs = std::filesystem;

void write_image(const fs::path& p, int h, int w, int seed) {
  cv::Mat m(h, w, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(m, cv::RNG::UNIFORM, 0, 256);
  ASSERT_TRUE(cv::imwrite(p.string(), m));
}

/// A small dataset: 6 good records (PNG and JPEG), one with a missing image, one with an empty instruction.
struct Fixture {
  test::TempDir dir{"ec-dataset"};
  std::shared_ptr<const Tokenizer> tokenizer;
  DatasetOptions options;

  Fixture() {
    fs::create_directories(dir / "img");
    for (int i = 0; i < 6; ++i) {
      write_image(dir / fmt::format("img/{}_s.png", i), 60 + 10 * i, 90, 2 * i);
      write_image(dir / fmt::format("img/{}_t.jpg", i), 90, 70 + 5 * i, 2 * i + 1);
    }
    std::string corpus;
    for (int i = 0; i < 200; ++i) {
      corpus += fmt::format("Move the red mug {} pixels to the left and make the blue box larger number {}.\n", i, i * 7);
    }
    corpus += std::string(kDefaultInstructionPrompt) + "\n" + std::string(kQwen2DefaultSystemPrompt) + "\n";
    test::write_text(dir / "corpus.txt", corpus);
    SentencePieceTrainOptions t;
    t.inputs = {dir / "corpus.txt"};
    t.vocab_size = 800;
    train_sentencepiece(t, dir / "tok");
    tokenizer = load_tokenizer(dir / "tok");
    options.image = ImageProcessorOptions::for_family(ModelFamily::Qwen2VL);
    options.chat = make_chat_options(PromptConfig{}, ModelFamily::Qwen2VL);
  }

  fs::path sft_manifest() {
    std::string text;
    for (int i = 0; i < 6; ++i) {
      text += fmt::format(R"({{"id": "s{}", "source": "img/{}_s.png", "target": "img/{}_t.jpg", "instruction": "Move the red mug {} pixels to the left.", "category": "structural"}})",
                          i, i, i, i) +
              "\n";
      if (i == 2) text += R"({"id": "missing", "source": "img/none.png", "target": "img/0_t.jpg", "instruction": "x"})" "\n";
      if (i == 4) text += R"({"id": "empty", "source": "img/0_s.png", "target": "img/0_t.jpg", "instruction": ""})" "\n";
    }
    test::write_text(dir / "sft.jsonl", text);
    return dir / "sft.jsonl";
  }

  fs::path dpo_manifest() {
    std::string text;
    for (int i = 0; i < 3; ++i) {
      text += fmt::format(R"({{"id": "d{}", "source": "img/{}_s.png", "target": "img/{}_t.jpg", "chosen": "Move the red mug to the left.", "rejected": "Move the blue box larger.", "error_type": "orientation", "severity": "P1", "margin": 0.25, "weight": 1.5}})",
                          i, i, i) +
              "\n";
    }
    test::write_text(dir / "dpo.jsonl", text);
    return dir / "dpo.jsonl";
  }
};

template <class F>
void expect_input_error(F&& f, const std::vector<std::string>& parts) {
  try {
    f();
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_EQ(e.code(), ExitCode::Input);
    for (const auto& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

TEST(Dataset, SftSampleEqualsProcessorPlusChatTemplate) {
  Fixture f;
  SftDataset ds(f.sft_manifest(), f.tokenizer, f.options);
  ASSERT_EQ(ds.size(), 8);
  Sample s = ds.get(0);
  // The same sample built directly from the parts.
  std::vector<ProcessedImage> images{load_and_process_image(f.dir / "img/0_s.png", f.options.image),
                                     load_and_process_image(f.dir / "img/0_t.jpg", f.options.image)};
  Sample ref = make_sft_sample(*f.tokenizer, f.options.chat, "s0", images, "Move the red mug 0 pixels to the left.");
  EXPECT_EQ(s.input_ids, ref.input_ids);
  EXPECT_EQ(s.labels, ref.labels);
  ASSERT_EQ(s.images.size(), 2u);
  EXPECT_TRUE(s.images[0].pixel_values.equal(images[0].pixel_values));
  EXPECT_TRUE(s.images[1].pixel_values.equal(images[1].pixel_values));
  EXPECT_EQ(s.category, EditCategory::Structural);
  // lengths() (headers only) agrees with the real sample.
  auto lengths = ds.lengths();
  EXPECT_EQ(lengths[0], static_cast<int64_t>(s.input_ids.size()));
  EXPECT_EQ(lengths[3], 0);  // the missing image
  // Bad records: line and id in the message.
  expect_input_error([&] { ds.get(3); }, {"sft.jsonl:4 [id missing]", "none.png: file not found"});
  expect_input_error([&] { ds.get(6); }, {"sft.jsonl:7 [id empty]", "empty 'instruction'"});
}

TEST(Dataset, BudgetDownscalesImagesToFit) {
  Fixture f;
  f.options.budget.max_seq_len = 0;
  SftDataset unlimited(f.sft_manifest(), f.tokenizer, f.options);
  Sample full = unlimited.get(7);  // s5: 110x90 and 90x95 pixels, 12 + 9 image tokens
  const int64_t image_tokens = full.images[0].num_tokens() + full.images[1].num_tokens();
  const int64_t text = static_cast<int64_t>(full.input_ids.size()) - image_tokens;
  EXPECT_EQ(tokenizer_text_counter(f.tokenizer, f.options.chat)(unlimited.manifest().records[7]), text);
  f.options.budget.max_seq_len = text + 12;
  SftDataset ds(f.sft_manifest(), f.tokenizer, f.options);
  Sample s = ds.get(7);
  EXPECT_LE(static_cast<int64_t>(s.input_ids.size()), text + 12);
  EXPECT_LT(s.images[0].num_tokens() + s.images[1].num_tokens(), image_tokens);
  f.options.budget.max_seq_len = text + 2;  // not even at min_pixels (2 + 2 tokens)
  SftDataset tight(f.sft_manifest(), f.tokenizer, f.options);
  expect_input_error([&] { tight.get(7); }, {"[id s5]", "over the token budget"});
}

TEST(Dataset, DpoPairCarriesTheMetadata) {
  Fixture f;
  DpoDataset ds(f.dpo_manifest(), f.tokenizer, f.options);
  PairSample p = ds.get(1);
  EXPECT_EQ(p.id, "d1");
  EXPECT_EQ(p.error_type, ErrorType::Orientation);
  EXPECT_EQ(p.severity, Severity::P1);
  EXPECT_EQ(p.margin, 0.25);
  EXPECT_EQ(p.weight, 1.5);
  EXPECT_EQ(p.images.size(), 2u);
  EXPECT_EQ(p.chosen_ids.back(), f.tokenizer->special_tokens().im_end);
  // An SFT dataset refuses a DPO manifest.
  expect_input_error([&] { SftDataset(f.dpo_manifest(), f.tokenizer, f.options); }, {"this run needs sft"});
}

TEST(Dataset, PackedShardsGiveTheSameSamples) {
  Fixture f;
  fs::path manifest = f.sft_manifest();
  PackOptions po;
  po.image = f.options.image;
  po.count_text = tokenizer_text_counter(f.tokenizer, f.options.chat);
  po.progress = false;
  po.shard_bytes = 40000;  // several shards
  PackReport r = pack_manifest(read_manifest(manifest), f.dir / "packed", po);
  EXPECT_EQ(r.records, 8);
  EXPECT_EQ(r.packed, 6);
  EXPECT_GT(r.shards, 1);
  ASSERT_EQ(r.problems.size(), 2u);
  EXPECT_TRUE(is_packed_dataset(f.dir / "packed"));

  SftDataset files(manifest, f.tokenizer, f.options);
  SftDataset packed(f.dir / "packed", f.tokenizer, f.options);
  EXPECT_TRUE(packed.packed());
  EXPECT_EQ(packed.fingerprint(), files.fingerprint());
  for (int64_t i : {0, 1, 2, 4, 5, 7}) {
    Sample a = files.get(i), b = packed.get(i);
    EXPECT_EQ(a.input_ids, b.input_ids) << i;
    ASSERT_EQ(b.images.size(), 2u);
    EXPECT_TRUE(a.images[0].pixel_values.equal(b.images[0].pixel_values)) << i;
    EXPECT_TRUE(a.images[1].pixel_values.equal(b.images[1].pixel_values)) << i;
  }
  EXPECT_EQ(packed.lengths(), files.lengths());
  expect_input_error([&] { packed.get(3); }, {"[id missing]", "file not found"});
  // Packed for Qwen2-VL (patch 14): a Qwen3-VL model cannot use it.
  DatasetOptions q3 = f.options;
  q3.image = ImageProcessorOptions::for_family(ModelFamily::Qwen3VL);
  EXPECT_THROW(SftDataset(f.dir / "packed", f.tokenizer, q3), UserError);
  // A damaged index is refused with the file named.
  test::write_text(f.dir / "packed" / "index.json", "{");
  expect_input_error([&] { SftDataset(f.dir / "packed", f.tokenizer, f.options); }, {"index.json"});
}

TEST(Dataset, LoaderEndToEndReplacesBadRecords) {
  Fixture f;
  auto ds = std::make_shared<SftDataset>(f.sft_manifest(), f.tokenizer, f.options);
  BadSampleConfig bc;
  bc.max_fraction = 0.5;
  CollateOptions co;
  co.special = f.tokenizer->special_tokens();
  co.packed = true;
  Loader<Sample, SftBatch> loader(
      Sampler(ds->size(), {}, 3, SamplerLayout{2, 4, 1, 0}), BadSamplePolicy(bc, 3, ds->size()),
      [ds](int64_t i) { return ds->get(i); }, [co](std::vector<Sample>& s) { return collate_sft(s, co); });
  std::set<std::string> ids;
  for (int i = 0; i < 4; ++i) {  // one epoch: 8 samples
    auto b = loader.next();
    EXPECT_EQ(b.batch.ids.size(), 2u);
    EXPECT_EQ(b.batch.inputs.image_grid_thw.size(0), 4);
    ids.insert(b.batch.ids.begin(), b.batch.ids.end());
  }
  EXPECT_GE(loader.policy().total_failures(), 2);
  EXPECT_EQ(ids.count("missing"), 0u);
  EXPECT_EQ(ids.count("empty"), 0u);
}

}  // namespace
}  // namespace ec::data
