#include "editcaption/data/synth/generator.h"

#include <fmt/format.h>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <exception>
#include <fstream>
#include <mutex>
#include <numeric>
#include <thread>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/core/progress.h"
#include "editcaption/data/synth/render.h"
#include "editcaption/eval/grammar.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::data::synth {
namespace fs = std::filesystem;

namespace {

constexpr std::array<Split, 3> kSplits = {Split::Train, Split::Val, Split::Test};
constexpr const char* kSummaryFile = "synth.json";

double edit_weight(const SynthConfig& c, EditKind k) {
  static const auto kDefaults = default_edit_weights();
  auto it = c.edits.find(edit_name(k));
  return it != c.edits.end() ? it->second : kDefaults.at(edit_name(k));
}

double failure_weight(const SynthConfig& c, Failure f) {
  static const auto kDefaults = default_failure_weights();
  auto it = c.failures.find(failure_name(f));
  return it != c.failures.end() ? it->second : kDefaults.at(failure_name(f));
}

/// Splits `total` into integers proportional to `weights` (largest remainder, ties to the first).
std::vector<int64_t> apportion(const std::vector<double>& weights, int64_t total) {
  std::vector<int64_t> out(weights.size(), 0);
  double sum = std::accumulate(weights.begin(), weights.end(), 0.0);
  if (sum <= 0 || total <= 0) return out;
  std::vector<std::pair<double, size_t>> rem;
  int64_t assigned = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    double exact = static_cast<double>(total) * weights[i] / sum;
    out[i] = static_cast<int64_t>(std::floor(exact));
    assigned += out[i];
    rem.emplace_back(exact - static_cast<double>(out[i]), i);
  }
  std::stable_sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (int64_t k = 0; k < total - assigned; ++k) ++out[rem[static_cast<size_t>(k) % rem.size()].second];
  return out;
}

int64_t split_count(const SynthConfig& c, Split s) { return s == Split::Train ? c.train : s == Split::Val ? c.val : c.test; }

std::string image_path(Split s, int64_t index, const char* which) {
  return fmt::format("images/{}/{:06d}_{}.png", split_name(s), index, which);
}

void write_png(const fs::path& path, const cv::Mat& img) {
  std::vector<uchar> buf;
  if (!cv::imencode(".png", img, buf, {cv::IMWRITE_PNG_COMPRESSION, 3})) {
    throw EC_USER_ERROR(Input, "{}: PNG encoding failed", path.string());
  }
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(buf.data()), static_cast<std::streamsize>(buf.size()));
  if (!out) throw EC_USER_ERROR(Input, "{}: cannot write (disk full or no permission?)", path.string());
}

/// Everything one pair contributes to the output files and the summary.
struct PairOutput {
  std::string sft_line;
  std::vector<std::string> dpo_lines;
  std::string category, subcategory;
  std::vector<Negative> negatives;
};

PairOutput make_pair(const SynthConfig& config, const std::set<std::string>& holdout, Split split, int64_t index,
                     EditKind kind, const fs::path& out) {
  SynthSample s = generate_sample(config, holdout, split, index, kind);
  RenderOptions ro;
  ro.size = config.image_size;
  std::string src = image_path(split, index, "source"), tgt = image_path(split, index, "target");
  write_png(out / src, render(s.source, ro));
  write_png(out / tgt, render(s.edit.target, ro));

  PairOutput p;
  p.category = config::enum_name(category_of(kind));
  p.subcategory = edit_name(kind);
  nlohmann::ordered_json j;
  j["id"] = s.id;
  j["source"] = src;
  j["target"] = tgt;
  j["instruction"] = s.instruction;
  j["category"] = p.category;
  j["subcategory"] = p.subcategory;
  j["gt"] = eval::to_json(s.edit.gt);
  p.sft_line = j.dump();
  for (size_t k = 0; k < s.negatives.size(); ++k) {
    const Negative& n = s.negatives[k];
    nlohmann::ordered_json d;
    d["id"] = fmt::format("{}-r{}", s.id, k);
    d["source"] = src;
    d["target"] = tgt;
    d["chosen"] = s.instruction;
    d["rejected"] = n.instruction;
    d["error_type"] = config::enum_name(n.error_type);
    d["severity"] = config::enum_name(n.severity);
    // Only the manifest schema's fields (docs/data.md); the failure kinds are counted in synth.json.
    p.dpo_lines.push_back(d.dump());
  }
  p.negatives = std::move(s.negatives);
  return p;
}

/// A fresh output directory: created if missing; an earlier synth output is replaced; anything
/// else that is not empty is refused rather than mixed with.
void prepare_output(const fs::path& out) {
  std::error_code ec;
  if (fs::exists(out, ec) && !fs::is_directory(out, ec)) {
    throw EC_USER_ERROR(Usage, "{}: exists and is not a directory", out.string());
  }
  if (fs::exists(out, ec) && !fs::is_empty(out, ec)) {
    if (!fs::exists(out / kSummaryFile)) {
      throw EC_USER_ERROR(Usage,
                          "{}: is not empty and holds no earlier synth output ({}); choose another --out or empty it",
                          out.string(), kSummaryFile);
    }
    fs::remove_all(out / "images", ec);
    for (Split s : kSplits) {
      fs::remove(out / fmt::format("{}.jsonl", split_name(s)), ec);
      fs::remove(out / fmt::format("dpo_{}.jsonl", split_name(s)), ec);
    }
    fs::remove(out / kSummaryFile, ec);
  }
  for (Split s : kSplits) {
    fs::create_directories(out / "images" / split_name(s), ec);
    if (ec) throw EC_USER_ERROR(Usage, "{}: cannot create directory: {}", (out / "images" / split_name(s)).string(), ec.message());
  }
}

}  // namespace

const char* split_name(Split s) {
  switch (s) {
    case Split::Train: return "train";
    case Split::Val: return "val";
    case Split::Test: return "test";
  }
  return "?";
}

std::set<std::string> choose_holdout(const SynthConfig& config) {
  std::set<std::string> out;
  if (config.holdout_fraction <= 0) return out;
  for (EditKind k : kEditKinds) {
    std::vector<std::string> all = all_combinations(k);
    Rng rng(derive_seed(config.seed, "holdout", static_cast<uint64_t>(k)));
    rng.shuffle(all);
    auto n = static_cast<size_t>(std::ceil(config.holdout_fraction * static_cast<double>(all.size())));
    n = std::clamp<size_t>(n, 1, all.size() - 1);
    out.insert(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

std::vector<EditKind> edit_schedule(const SynthConfig& config, Split split, int64_t count) {
  const std::array<EditCategory, 3> cats = {EditCategory::Semantic, EditCategory::Stylistic, EditCategory::Structural};
  std::vector<int64_t> per_cat =
      apportion({config.mix.semantic, config.mix.stylistic, config.mix.structural}, count);
  std::vector<EditKind> out;
  for (size_t c = 0; c < cats.size(); ++c) {
    std::vector<EditKind> kinds;
    std::vector<double> weights;
    for (EditKind k : kEditKinds) {
      if (category_of(k) != cats[c]) continue;
      kinds.push_back(k);
      weights.push_back(edit_weight(config, k));
    }
    std::vector<int64_t> n = apportion(weights, per_cat[c]);
    for (size_t i = 0; i < kinds.size(); ++i) out.insert(out.end(), static_cast<size_t>(n[i]), kinds[i]);
  }
  Rng rng(derive_seed(config.seed, std::string("schedule-") + split_name(split)));
  rng.shuffle(out);
  return out;
}

SynthSample generate_sample(const SynthConfig& config, const std::set<std::string>& holdout, Split split,
                            int64_t index, EditKind kind) {
  Rng rng(derive_seed(config.seed, split_name(split), static_cast<uint64_t>(index)));
  SceneOptions so;
  so.min_objects = config.min_objects;
  so.max_objects = config.max_objects;
  so.sign_prob = config.sign_prob;
  so.force_sign = kind == EditKind::Text;
  EditOptions eo;
  eo.secondary_prob = config.secondary_prob;
  eo.multi_change_prob = config.multi_change_prob;
  for (int attempt = 0; attempt < 100000; ++attempt) {
    Scene src = random_scene(rng, so);
    std::optional<Edit> e = make_edit(kind, src, rng, eo);
    if (!e) continue;
    // The test split holds exactly the held-out combinations; train and val never see them.
    // Without a hold-out every split is drawn alike (an i.i.d. test split).
    bool held = holdout.count(e->combo) > 0;
    if (!holdout.empty() && (split == Split::Test) != held) continue;
    SynthSample s;
    s.id = fmt::format("synth-{}-{:06d}", split_name(split), index);
    s.split = split;
    s.source = std::move(src);
    s.edit = std::move(*e);
    s.instruction = eval::render_instruction(s.edit.gt.primary, s.edit.gt.secondary, eval::synthetic_vocabulary());
    std::vector<Failure> options = applicable_failures(s.edit, s.source);
    for (int k = 0; k < config.negatives_per_sample && !options.empty(); ++k) {
      std::vector<double> w;
      for (Failure f : options) w.push_back(failure_weight(config, f));
      if (std::accumulate(w.begin(), w.end(), 0.0) <= 0) break;
      int pick = rng.weighted(w);
      s.negatives.push_back(make_negative(options[pick], s.edit, s.source, rng));
      options.erase(options.begin() + pick);
    }
    return s;
  }
  throw EC_USER_ERROR(Usage, "synth: could not generate a {} pair for split {} (index {}) within 100000 attempts; "
                             "check min_objects/max_objects and holdout_fraction",
                      edit_name(kind), split_name(split), index);
}

SynthResult generate_dataset(const SynthConfig& config, const fs::path& out) {
  config::Validation v;
  config.validate(v);
  if (!v.problems().empty()) {
    std::vector<std::string> msgs;
    for (const auto& p : v.problems()) msgs.push_back("synth." + p.key + ": " + p.message);
    throw EC_USER_ERROR(Usage, "invalid synth config:\n{}", join(msgs, "\n"));
  }
  prepare_output(out);
  std::set<std::string> holdout = choose_holdout(config);

  struct Job {
    Split split;
    int64_t index;
    EditKind kind;
  };
  std::vector<Job> jobs;
  for (Split s : kSplits) {
    std::vector<EditKind> schedule = edit_schedule(config, s, split_count(config, s));
    for (size_t i = 0; i < schedule.size(); ++i) jobs.push_back({s, static_cast<int64_t>(i), schedule[i]});
  }

  std::vector<PairOutput> results(jobs.size());
  std::atomic<size_t> next{0}, done{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      try {
        results[i] = make_pair(config, holdout, jobs[i].split, jobs[i].index, jobs[i].kind, out);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = jobs.size();
      }
      ++done;
    }
  };
  int threads = config.threads > 0 ? config.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(jobs.size(), 1)));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);
  {
    Progress progress("synth", static_cast<int64_t>(jobs.size()), "pairs");
    size_t shown = 0;
    while (shown < jobs.size()) {
      size_t now = done.load();
      if (now > shown) {
        progress.advance(static_cast<int64_t>(now - shown));
        shown = now;
      }
      if (shown >= jobs.size() || error) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    for (auto& t : pool) t.join();
    progress.finish();
  }
  if (error) std::rethrow_exception(error);

  SynthResult result;
  result.dir = out;
  nlohmann::ordered_json counts = nlohmann::ordered_json::object();
  size_t j = 0;
  for (Split s : kSplits) {
    std::string sft, dpo;
    std::map<std::string, int64_t> cats, subs, errors, severities, failures;
    int64_t n = split_count(config, s), ndpo = 0;
    for (int64_t i = 0; i < n; ++i, ++j) {
      const PairOutput& p = results[j];
      sft += p.sft_line + "\n";
      for (const auto& line : p.dpo_lines) dpo += line + "\n";
      ++cats[p.category];
      ++subs[p.subcategory];
      for (const auto& neg : p.negatives) {
        ++errors[config::enum_name(neg.error_type)];
        ++severities[config::enum_name(neg.severity)];
        ++failures[failure_name(neg.failure)];
        ++ndpo;
      }
    }
    write_file_atomic(out / fmt::format("{}.jsonl", split_name(s)), sft);
    write_file_atomic(out / fmt::format("dpo_{}.jsonl", split_name(s)), dpo);
    result.pairs += n;
    result.dpo_pairs += ndpo;
    counts[split_name(s)] = {{"pairs", n},
                             {"categories", cats},
                             {"subcategories", subs},
                             {"dpo_pairs", ndpo},
                             {"dpo_error_types", errors},
                             {"dpo_severities", severities},
                             {"dpo_failures", failures}};
  }
  SynthConfig recorded = config;
  recorded.out = out;
  nlohmann::ordered_json summary;
  summary["generator"] = "editcaption synth";
  summary["config"] = config::to_json(recorded);
  summary["counts"] = counts;
  summary["heldout_combinations"] = std::vector<std::string>(holdout.begin(), holdout.end());
  summary["combination_key"] = "attribute|object|edit: subject hue|noun|edit for object edits; "
                               "background|camera|zoom-<dir> or pan-<dir>; background|image|tone-<dir>; "
                               "new background|background|background";
  write_file_atomic(out / kSummaryFile, summary.dump(2) + "\n");
  result.summary = std::move(summary);
  return result;
}

}  // namespace ec::data::synth
