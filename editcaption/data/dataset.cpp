#include "editcaption/data/dataset.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "editcaption/core/check.h"
#include "editcaption/data/image_header.h"
#include "editcaption/data/manifest_check.h"
#include "editcaption/data/sample_encoding.h"

namespace ec::data {
namespace fs = std::filesystem;

namespace {

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

/// Prompt tokens other than image pads: the prompt is linear in the pad counts.
int64_t prompt_text_tokens(const Tokenizer& tokenizer, const ChatOptions& chat) {
  const std::vector<int64_t> one_each{1, 1};
  return static_cast<int64_t>(encode_chat_prompt(tokenizer, chat, one_each).size()) - 2;
}

}  // namespace

TextTokenCounter tokenizer_text_counter(std::shared_ptr<const Tokenizer> tokenizer, const ChatOptions& chat) {
  const int64_t prompt = prompt_text_tokens(*tokenizer, chat);
  const int64_t newline = static_cast<int64_t>(tokenizer->encode("\n").size());
  return [tokenizer, prompt, newline](const ManifestRecord& r) -> int64_t {
    auto answer = [&](const std::string& text, const char* which) {
      return static_cast<int64_t>(encode_chat_answer(*tokenizer, text, fmt::format("'{}' of record '{}'", which, r.id)).size());
    };
    if (!r.instruction.empty()) return prompt + answer(r.instruction, "instruction") + newline;
    return prompt + std::max(answer(r.chosen, "chosen"), answer(r.rejected, "rejected"));
  };
}

EditDataset::EditDataset(const fs::path& path, ManifestKind kind, std::shared_ptr<const Tokenizer> tokenizer,
                         DatasetOptions options)
    : tokenizer_(std::move(tokenizer)), options_(std::move(options)) {
  EC_CHECK(tokenizer_, "dataset without a tokenizer");
  if (is_packed_dataset(path)) {
    packed_ = std::make_unique<PackedImages>(path);
    packed_->check_compatible(options_.image);
    manifest_ = packed_->manifest();
  } else {
    manifest_ = read_manifest(path, options_.manifest);
  }
  EC_USER_CHECK(manifest_.kind == kind, Input, "{}: a {} manifest, this run needs {} records", path.string(),
                config::enum_name(manifest_.kind), config::enum_name(kind));
  EC_USER_CHECK(manifest_.num_bad() < manifest_.size(), Input,
                "{}: every record is bad (run `editcaption data check` on it)", path.string());
  count_text_ = tokenizer_text_counter(tokenizer_, options_.chat);
}

void EditDataset::fail(const ManifestRecord& r, const std::string& reason) const {
  throw EC_USER_ERROR(Input, "{}", ManifestProblem{r.line, r.id, reason}.str(manifest_.path));
}

const ManifestRecord& EditDataset::record(int64_t index) const {
  EC_CHECK(index >= 0 && index < size(), "dataset index {} out of range [0, {})", index, size());
  const ManifestRecord& r = manifest_.records[static_cast<size_t>(index)];
  if (!r.ok()) fail(r, *r.problem);
  return r;
}

int64_t EditDataset::text_tokens(const ManifestRecord& r) const {
  try {
    return count_text_(r);
  } catch (const UserError& e) {
    fail(r, e.what());
  }
}

std::vector<ProcessedImage> EditDataset::images(int64_t index, int64_t text) const {
  const ManifestRecord& r = record(index);
  const ImageProcessorOptions& o = options_.image;
  const int64_t limit = options_.budget.max_seq_len;
  try {
    if (packed_) {
      const PackedImages::Entry& e = packed_->entry(index);
      const int64_t m2 = o.merge_size * o.merge_size;
      const int64_t image_tokens =
          (e.source_grid[1] * e.source_grid[2] + e.target_grid[1] * e.target_grid[2]) / m2;
      if (limit > 0 && text + image_tokens > limit) {
        fail(r, fmt::format("over the token budget: the packed images need {} tokens and the text {}, "
                            "data.budget.max_seq_len is {} (re-pack with this budget)",
                            image_tokens, text, limit));
      }
      auto [src, tgt] = packed_->images(index);
      return {patchify_image(src, o), patchify_image(tgt, o)};
    }
    RecordImages im = read_record_images(r, o);
    SamplePlan plan =
        plan_sample(im.source.height(), im.source.width(), im.target.height(), im.target.width(), text, o, options_.budget);
    ImageProcessorOptions planned = options_for_plan(o, plan);
    std::vector<ProcessedImage> out;
    out.push_back(patchify_image(decode_and_resize(as_bytes(im.source_bytes), r.source.string(), planned), planned));
    out.push_back(patchify_image(decode_and_resize(as_bytes(im.target_bytes), r.target.string(), planned), planned));
    EC_CHECK(out[0].grid_thw == plan.source_grid && out[1].grid_thw == plan.target_grid,
             "record {}: processed grids differ from the plan", r.id);
    return out;
  } catch (const UserError& e) {
    if (std::string_view(e.what()).starts_with(manifest_.path.string() + ":")) throw;
    fail(r, e.what());
  }
}

std::vector<int64_t> EditDataset::lengths(int jobs) const {
  std::vector<int64_t> out(manifest_.records.size(), 0);
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < out.size(); i = next++) {
      const ManifestRecord& r = manifest_.records[i];
      if (!r.ok()) continue;
      try {
        const int64_t text = count_text_(r);
        if (packed_) {
          const auto& e = packed_->entry(static_cast<int64_t>(i));
          if (e.problem) continue;
          const int64_t m2 = options_.image.merge_size * options_.image.merge_size;
          out[i] = text + (e.source_grid[1] * e.source_grid[2] + e.target_grid[1] * e.target_grid[2]) / m2;
        } else {
          ImageHeader s = probe_image_file(r.source), t = probe_image_file(r.target);
          out[i] = plan_sample(s.height(), s.width(), t.height(), t.width(), text, options_.image, options_.budget)
                       .total_tokens();
        }
      } catch (const UserError&) {
        out[i] = 0;  // get() will report it as a bad sample
      }
    }
  };
  std::vector<std::jthread> workers;
  for (int j = 0; j < std::max(1, jobs); ++j) workers.emplace_back(work);
  return out;
}

Sample SftDataset::get(int64_t index) const {
  const ManifestRecord& r = record(index);
  const int64_t text = text_tokens(r);
  std::vector<ProcessedImage> imgs = images(index, text);
  Sample s;
  try {
    s = make_sft_sample(*tokenizer_, options_.chat, r.id, std::move(imgs), r.instruction);
  } catch (const UserError& e) {
    fail(r, e.what());
  }
  s.category = r.category;
  const int64_t limit = options_.budget.max_seq_len;
  EC_CHECK(limit <= 0 || static_cast<int64_t>(s.input_ids.size()) <= limit,
           "record {}: {} tokens after planning for at most {}", r.id, s.input_ids.size(), limit);
  return s;
}

PairSample DpoDataset::get(int64_t index) const {
  const ManifestRecord& r = record(index);
  const int64_t text = text_tokens(r);
  std::vector<ProcessedImage> imgs = images(index, text);
  PairSample p;
  try {
    p = make_pair_sample(*tokenizer_, options_.chat, r.id, std::move(imgs), r.chosen, r.rejected);
  } catch (const UserError& e) {
    fail(r, e.what());
  }
  p.error_type = r.error_type;
  p.severity = r.severity;
  p.margin = r.margin;
  p.weight = r.weight;
  const int64_t limit = options_.budget.max_seq_len;
  const size_t longest = p.prompt_ids.size() + std::max(p.chosen_ids.size(), p.rejected_ids.size());
  EC_CHECK(limit <= 0 || static_cast<int64_t>(longest) <= limit, "record {}: {} tokens after planning for at most {}",
           r.id, longest, limit);
  return p;
}

}  // namespace ec::data
