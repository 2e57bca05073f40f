// caption_manifest: greedy captions do not depend on the batch size; sampled captions repeat for
// a seed whatever the batch size and change with it; bad records are reported with line and id
// and skipped while the others are captioned.
#include <gtest/gtest.h>

#include "tests/infer/infer_fixture.h"
#include "trainers/captioner.h"
#include "trainers/model_source.h"

namespace ec::train {
namespace {

namespace fs = std::filesystem;
using test::InferFixture;

std::vector<std::string> texts(const CaptionResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.captions) out.push_back(c.id + "#" + std::to_string(c.sample) + ": " + c.instruction);
  return out;
}

struct Loaded {
  InferFixture f;
  ModelSource source;
  Loaded() {
    ExperimentConfig cfg = f.config();
    nn::QwenVL m = InferFixture::model(cfg);
    source = load_model_source(InferFixture::save_checkpoint(m, cfg, f.dir / "ckpt"), at::kCPU);
  }
};

CaptionOptions options(int64_t batch) {
  CaptionOptions o;
  o.generation.max_new_tokens = 6;
  o.batch_size = batch;
  o.progress = false;
  return o;
}

TEST(Captioner, GreedyCaptionsDoNotDependOnTheBatchSize) {
  Loaded l;
  const fs::path manifest = l.f.manifest(4);
  CaptionResult one = caption_manifest(l.source, manifest, options(1));
  CaptionResult three = caption_manifest(l.source, manifest, options(3));
  ASSERT_EQ(one.captions.size(), 4u);
  EXPECT_EQ(texts(one), texts(three));
  EXPECT_TRUE(one.bad.empty());
  // A random model may stop at once on some pairs; the comparison still needs real text.
  EXPECT_TRUE(std::any_of(one.captions.begin(), one.captions.end(), [](const Caption& c) { return !c.instruction.empty(); }));
  EXPECT_EQ(one.captions[2].id, "p2");
  EXPECT_EQ(captions_jsonl(one, false).substr(0, 8), R"({"id":"p)");

  CaptionOptions limited = options(2);
  limited.limit = 2;
  EXPECT_EQ(caption_manifest(l.source, manifest, limited).captions.size(), 2u);
}

TEST(Captioner, SamplingRepeatsForASeedWhateverTheBatchSize) {
  Loaded l;
  const fs::path manifest = l.f.manifest(3);
  CaptionOptions a = options(1);
  a.generation.do_sample = true;
  a.generation.seed = 5;
  a.num_samples = 2;
  CaptionOptions b = a;
  b.batch_size = 4;
  CaptionResult ra = caption_manifest(l.source, manifest, a);
  CaptionResult rb = caption_manifest(l.source, manifest, b);
  ASSERT_EQ(ra.captions.size(), 6u);
  EXPECT_EQ(texts(ra), texts(rb));
  EXPECT_EQ(texts(ra), texts(caption_manifest(l.source, manifest, a)));
  EXPECT_NE(ra.captions[0].instruction, ra.captions[1].instruction);  // two samples of one record
  CaptionOptions other = a;
  other.generation.seed = 6;
  EXPECT_NE(texts(ra), texts(caption_manifest(l.source, manifest, other)));
  const std::string jsonl = captions_jsonl(ra, true);
  EXPECT_NE(jsonl.find(R"({"id":"p1","sample":1,"instruction":)"), std::string::npos) << jsonl;

  CaptionOptions greedy = options(1);
  greedy.num_samples = 2;
  EXPECT_THROW(caption_manifest(l.source, manifest, greedy), UserError);
}

TEST(Captioner, BadRecordsAreReportedWithLineAndIdAndSkipped) {
  Loaded l;
  test::write_text(l.f.dir / "not_an_image.png", "hello");
  const fs::path manifest = l.f.manifest(
      2, {R"({"id": "gone", "source": "img/none.png", "target": "img/0_t.png"})",
          R"({"id": "junk", "source": "not_an_image.png", "target": "img/0_t.png"})", R"({"id": 5})",
          R"({"id": "p9", "source": "img/1_s.png", "target": "img/1_t.png"})"});
  CaptionResult r = caption_manifest(l.source, manifest, options(2));
  ASSERT_EQ(r.bad.size(), 3u);
  EXPECT_EQ(r.records, 6);
  EXPECT_EQ(r.bad[0].line, 3);
  EXPECT_EQ(r.bad[0].id, "gone");
  EXPECT_NE(r.bad[0].reason.find("none.png"), std::string::npos) << r.bad[0].reason;
  EXPECT_EQ(r.bad[1].line, 4);
  EXPECT_EQ(r.bad[1].id, "junk");
  EXPECT_EQ(r.bad[2].line, 5);
  EXPECT_NE(r.bad[0].str(manifest).find("pairs.jsonl:3 [id gone]"), std::string::npos) << r.bad[0].str(manifest);
  std::vector<std::string> ids;
  for (const auto& c : r.captions) ids.push_back(c.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"p0", "p1", "p9"}));
}

}  // namespace
}  // namespace ec::train
