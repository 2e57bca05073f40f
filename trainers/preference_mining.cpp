#include "trainers/preference_mining.h"

#include <nlohmann/json.hpp>

#include "editcaption/core/check.h"
#include "editcaption/core/error.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/eval/change.h"
#include "editcaption/eval/records.h"

namespace ec::train {
namespace fs = std::filesystem;

namespace {

/// Image paths absolute, so that the mined manifest can live anywhere.
nlohmann::ordered_json with_absolute_images(nlohmann::ordered_json record, const eval::PairRecord& r) {
  record["source"] = fs::absolute(r.source).lexically_normal().string();
  record["target"] = fs::absolute(r.target).lexically_normal().string();
  return record;
}

}  // namespace

MiningResult mine_preferences(ModelSource& model, const fs::path& sft_manifest, const fs::path& base,
                              const fs::path& out, const eval::StructuredScorer& scorer, const MiningOptions& options) {
  MiningResult result;
  result.manifest = out;
  std::string text;
  if (!base.empty()) {
    eval::PairManifest b = eval::read_pair_manifest(base);
    for (const eval::PairRecord& r : b.records) {
      text += with_absolute_images(r.record, r).dump() + "\n";
      ++result.base_pairs;
    }
  }
  eval::PairManifest sft = eval::read_pair_manifest(sft_manifest);
  std::map<std::string, const eval::PairRecord*> by_id;
  for (const eval::PairRecord& r : sft.records) by_id[r.id] = &r;
  CaptionResult captions = caption_manifest(model, sft_manifest, options.caption);
  for (const Caption& c : captions.captions) {
    ++result.sampled;
    const eval::PairRecord& r = *by_id.at(c.id);
    if (r.gt.is_null() || c.instruction.empty() || c.instruction == r.instruction) continue;
    const eval::GroundTruth gt = eval::gt_from_json(r.gt, fmt::format("{}:{}", sft_manifest.string(), r.line));
    const eval::SampleScore s = scorer.score(gt, c.instruction);
    if (s.verdict == eval::Verdict::Correct) continue;
    const std::string error_type = s.error_type ? config::enum_name(*s.error_type) : "other";
    nlohmann::ordered_json rec;
    rec["id"] = fmt::format("{}-mined{}", r.id, c.sample);
    rec["source"] = r.source.string();
    rec["target"] = r.target.string();
    rec["chosen"] = r.instruction;
    rec["rejected"] = c.instruction;
    rec["error_type"] = error_type;
    rec["severity"] = eval::verdict_name(s.verdict);
    if (!r.category.empty()) rec["category"] = r.category;
    text += with_absolute_images(rec, r).dump() + "\n";
    ++result.mined;
    ++result.by_error_type[error_type];
  }
  EC_USER_CHECK(result.base_pairs + result.mined > 0, Input,
                "preference mining: no pairs (no base manifest and no defective samples in {})", sft_manifest.string());
  fs::create_directories(out.parent_path());
  write_file_atomic(out, text);
  log::info("preference set {}: {} base pairs + {} mined from {} sampled answers", out.string(), result.base_pairs,
            result.mined, result.sampled);
  return result;
}

}  // namespace ec::train
