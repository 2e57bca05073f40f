#include "trainers/captioner.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <utility>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/core/progress.h"
#include "editcaption/core/strings.h"
#include "editcaption/data/chat_template.h"
#include "editcaption/data/manifest_check.h"
#include "editcaption/eval/records.h"
#include "models/generation.h"

namespace ec::train {
namespace fs = std::filesystem;

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::span<const uint8_t> as_bytes(const std::string& s) { return {reinterpret_cast<const uint8_t*>(s.data()), s.size()}; }

/// The chat turn ends with <|im_end|>; <|endoftext|> ends base models' text. Both always stop.
models::GenerationConfig with_stop_tokens(models::GenerationConfig c, const SpecialTokenIds& special) {
  for (int64_t id : {int64_t{special.im_end}, int64_t{special.endoftext}}) {
    if (std::find(c.stop_token_ids.begin(), c.stop_token_ids.end(), id) == c.stop_token_ids.end()) {
      c.stop_token_ids.push_back(id);
    }
  }
  return c;
}

/// One manifest line in file order: a usable record or the reason it is not.
struct Entry {
  int64_t line = 0;
  const eval::PairRecord* record = nullptr;
  const eval::ManifestProblem* problem = nullptr;
};

std::vector<Entry> entries_in_order(const eval::PairManifest& m, int64_t limit) {
  std::vector<Entry> out;
  for (const auto& r : m.records) out.push_back({static_cast<int64_t>(r.line), &r, nullptr});
  for (const auto& p : m.problems) out.push_back({static_cast<int64_t>(p.line), nullptr, &p});
  std::sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) { return a.line < b.line; });
  if (limit > 0 && static_cast<int64_t>(out.size()) > limit) out.resize(static_cast<size_t>(limit));
  return out;
}

/// Both images processed the way training processes them (budget plan included) and the prompt.
models::GenerationPrompt build_prompt(const ModelSource& s, const eval::PairRecord& r, int64_t text_tokens,
                                      const data::BudgetConfig& budget) {
  data::ManifestRecord mr;
  mr.line = static_cast<int64_t>(r.line);
  mr.id = r.id;
  mr.source = r.source;
  mr.target = r.target;
  data::RecordImages im = data::read_record_images(mr, s.image);
  data::SamplePlan plan = data::plan_sample(im.source.height(), im.source.width(), im.target.height(),
                                            im.target.width(), text_tokens, s.image, budget);
  data::ImageProcessorOptions planned = data::options_for_plan(s.image, plan);
  models::GenerationPrompt p;
  p.images.push_back(
      data::patchify_image(data::decode_and_resize(as_bytes(im.source_bytes), r.source.string(), planned), planned));
  p.images.push_back(
      data::patchify_image(data::decode_and_resize(as_bytes(im.target_bytes), r.target.string(), planned), planned));
  p.input_ids = data::encode_chat_prompt(*s.tokenizer, s.chat, p.images);
  return p;
}

struct Pending {
  int64_t record = 0;
  std::string id;
  int64_t sample = 0;
  std::shared_ptr<const models::GenerationPrompt> prompt;
};

}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t record, int64_t sample) {
  return splitmix64(splitmix64(splitmix64(seed) ^ static_cast<uint64_t>(record)) ^ static_cast<uint64_t>(sample));
}

CaptionResult caption_manifest(ModelSource& s, const fs::path& manifest, const CaptionOptions& o) {
  EC_USER_CHECK(o.num_samples >= 1, Usage, "--num-samples must be at least 1, got {}", o.num_samples);
  EC_USER_CHECK(o.batch_size >= 1, Usage, "--batch-size must be at least 1, got {}", o.batch_size);
  EC_USER_CHECK(o.limit >= 0, Usage, "--limit must be 0 (all) or positive, got {}", o.limit);
  EC_USER_CHECK(o.num_samples == 1 || o.generation.do_sample, Usage,
                "--num-samples {} needs sampling (--set generation.do_sample=true): greedy decoding writes the same "
                "instruction every time",
                o.num_samples);
  EC_CHECK(s.model && s.tokenizer, "caption_manifest: the model source is not loaded");
  s.model->eval();

  const eval::PairManifest m = eval::read_pair_manifest(manifest);
  const std::vector<Entry> entries = entries_in_order(m, o.limit);
  const models::GenerationConfig gen = with_stop_tokens(o.generation, s.tokenizer->special_tokens());
  // Every token but the image pads (counted once, with one pad per image), plus room for the answer.
  const std::vector<int64_t> one_pad_each{1, 1};
  const int64_t text_tokens =
      static_cast<int64_t>(data::encode_chat_prompt(*s.tokenizer, s.chat, one_pad_each).size()) - 2 + gen.max_new_tokens;

  CaptionResult result;
  result.manifest = manifest;
  result.records = static_cast<int64_t>(entries.size());

  // What an interrupted run finished must be the same records (the journal's header pins the
  // manifest's digest; this catches a journal edited by hand).
  std::map<std::pair<int64_t, int64_t>, const Caption*> done;
  for (const Caption& c : o.done) {
    const bool fits = c.record >= 0 && c.record < result.records && entries[static_cast<size_t>(c.record)].record &&
                      entries[static_cast<size_t>(c.record)].record->id == c.id && c.sample >= 0 &&
                      c.sample < o.num_samples;
    EC_USER_CHECK(fits, Usage, "{}: a finished caption names record {} (id \"{}\", sample {}), which this run does not have",
                  manifest.string(), c.record, c.id, c.sample);
    done.emplace(std::make_pair(c.record, c.sample), &c);
  }

  std::optional<Progress> progress;
  if (o.progress) progress.emplace("caption", result.records * o.num_samples, "captions");
  int64_t batches = 0;

  std::vector<Pending> pending;
  auto flush = [&] {
    if (pending.empty()) return;
    std::vector<models::GenerationPrompt> prompts;
    for (const auto& p : pending) {
      prompts.push_back(*p.prompt);
      if (gen.do_sample) prompts.back().seed = sample_seed(gen.seed, p.record, p.sample);
    }
    models::GenerationResult r = models::generate(*s.model, prompts, gen);
    const size_t first = result.captions.size();
    for (size_t i = 0; i < pending.size(); ++i) {
      Caption c;
      c.id = pending[i].id;
      c.record = pending[i].record;
      c.sample = pending[i].sample;
      c.instruction = std::string(trim(s.tokenizer->decode(r.tokens[i], /*skip_special=*/true)));
      c.stopped = r.stopped[i];
      if (!c.stopped) ++result.truncated;
      result.captions.push_back(std::move(c));
    }
    if (o.on_batch) {
      o.on_batch(std::vector<Caption>(result.captions.begin() + static_cast<std::ptrdiff_t>(first), result.captions.end()));
    }
    if (progress) progress->advance(static_cast<int64_t>(pending.size()));
    pending.clear();
    o.fault.at("caption.after_batch", 0, batches++);
  };
  auto skip = [&](data::ManifestProblem problem, int64_t captions) {
    log::warn("skipped {}", problem.str(manifest));
    result.bad.push_back(std::move(problem));
    if (progress) progress->advance(captions);
  };

  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.problem) {
      skip({e.line, e.problem->id, e.problem->reason}, o.num_samples);
      continue;
    }
    int64_t missing = 0;
    for (int64_t k = 0; k < o.num_samples; ++k) {
      auto it = done.find({static_cast<int64_t>(i), k});
      if (it == done.end()) {
        ++missing;
        continue;
      }
      result.captions.push_back(*it->second);
      if (!it->second->stopped) ++result.truncated;
      if (progress) progress->advance(1);
    }
    if (missing == 0) continue;
    std::shared_ptr<const models::GenerationPrompt> prompt;
    try {
      prompt = std::make_shared<const models::GenerationPrompt>(build_prompt(s, *e.record, text_tokens, o.budget));
    } catch (const UserError& err) {
      skip({e.line, e.record->id, err.what()}, missing);
      continue;
    }
    for (int64_t k = 0; k < o.num_samples; ++k) {
      if (done.count({static_cast<int64_t>(i), k})) continue;
      pending.push_back({static_cast<int64_t>(i), e.record->id, k, prompt});
      if (static_cast<int64_t>(pending.size()) == o.batch_size) flush();
    }
  }
  flush();
  // Captions kept from an interrupted run were placed before the batch still pending then.
  std::stable_sort(result.captions.begin(), result.captions.end(), [](const Caption& a, const Caption& b) {
    return std::make_pair(a.record, a.sample) < std::make_pair(b.record, b.sample);
  });
  if (progress) progress->finish(fmt::format("{} skipped", result.bad.size()));
  if (result.truncated > 0) {
    log::warn("{} of {} instructions were cut at generation.max_new_tokens = {}", result.truncated,
              result.captions.size(), gen.max_new_tokens);
  }
  return result;
}

std::string captions_jsonl(const CaptionResult& result, bool with_sample) {
  std::string out;
  for (const auto& c : result.captions) {
    nlohmann::ordered_json j;
    j["id"] = c.id;
    if (with_sample) j["sample"] = c.sample;
    j["instruction"] = c.instruction;
    // A model can stop inside a multi-byte character: replace rather than fail the whole file.
    out += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  }
  return out;
}

}  // namespace ec::train
