#include "editcaption/eval/report.h"

#include <fmt/format.h>

#include <fstream>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"

namespace ec::eval {
namespace {

/// Calls fn(line_number, json) for every non-blank line of a JSONL file.
template <class Fn>
void for_each_jsonl(const std::filesystem::path& path, Fn&& fn) {
  std::ifstream in(path);
  if (!in) throw EC_USER_ERROR(Input, "{}: cannot open (missing or unreadable)", path.string());
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (trim(line).empty()) continue;
    if (!is_valid_utf8(line)) throw EC_USER_ERROR(Input, "{}:{}: not valid UTF-8", path.string(), number);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      throw EC_USER_ERROR(Input, "{}:{}: malformed JSON: {}", path.string(), number, e.what());
    }
    if (!j.is_object()) throw EC_USER_ERROR(Input, "{}:{}: each line must be a JSON object", path.string(), number);
    fn(number, j);
  }
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) throw EC_USER_ERROR(Input, "{}: missing '{}'", where, key);
    return "";
  }
  if (!it->is_string()) throw EC_USER_ERROR(Input, "{}: '{}' must be a string", where, key);
  return it->get<std::string>();
}

double mean(const std::vector<const ScoredSample*>& v, double SampleScore::*field) {
  if (v.empty()) return 0;
  double s = 0;
  for (const auto* x : v) s += x->score.*field;
  return s / static_cast<double>(v.size());
}

template <class Pred>
double rate(const std::vector<const ScoredSample*>& v, Pred&& pred) {
  if (v.empty()) return 0;
  double n = 0;
  for (const auto* x : v) n += pred(x->score) ? 1 : 0;
  return n / static_cast<double>(v.size());
}

}  // namespace

std::vector<EvalRecord> read_eval_manifest(const std::filesystem::path& path) {
  std::vector<EvalRecord> out;
  std::set<std::string> seen;
  for_each_jsonl(path, [&](int line, const nlohmann::json& j) {
    std::string where = fmt::format("{}:{}", path.string(), line);
    EvalRecord r;
    r.line = line;
    r.id = string_field(j, "id", where, true);
    where += fmt::format(" (id {})", r.id);
    if (!seen.insert(r.id).second) throw EC_USER_ERROR(Input, "{}: duplicate id", where);
    r.category = string_field(j, "category", where, false);
    r.subcategory = string_field(j, "subcategory", where, false);
    auto gt = j.find("gt");
    if (gt == j.end() || gt->is_null()) {
      throw EC_USER_ERROR(Input,
                          "{}: no structured ground truth ('gt'); the structured scorer needs it (judge mode "
                          "scores records without it)",
                          where);
    }
    r.gt = gt_from_json(*gt, where);
    out.push_back(std::move(r));
  });
  return out;
}

std::vector<Prediction> read_predictions(const std::filesystem::path& path) {
  std::vector<Prediction> out;
  for_each_jsonl(path, [&](int line, const nlohmann::json& j) {
    std::string where = fmt::format("{}:{}", path.string(), line);
    Prediction p;
    p.line = line;
    p.id = string_field(j, "id", where, true);
    where += fmt::format(" (id {})", p.id);
    p.instruction = string_field(j, "instruction", where, true);
    out.push_back(std::move(p));
  });
  return out;
}

GroupSummary summarize(const std::string& name, const std::vector<const ScoredSample*>& v) {
  GroupSummary g;
  g.name = name;
  g.n = static_cast<int64_t>(v.size());
  g.s = mean(v, &SampleScore::s);
  g.accuracy = mean(v, &SampleScore::accuracy);
  g.completeness = mean(v, &SampleScore::completeness);
  g.clarity = mean(v, &SampleScore::clarity);
  g.correct = rate(v, [](const SampleScore& s) { return s.verdict == Verdict::Correct; });
  g.p0 = rate(v, [](const SampleScore& s) { return s.verdict == Verdict::P0; });
  g.p1 = rate(v, [](const SampleScore& s) { return s.verdict == Verdict::P1; });
  g.p2 = rate(v, [](const SampleScore& s) { return s.verdict == Verdict::P2; });
  g.orientation = rate(v, [](const SampleScore& s) { return s.orientation_error; });
  g.viewpoint = rate(v, [](const SampleScore& s) { return s.viewpoint_error; });
  g.attribute_error = rate(v, [](const SampleScore& s) { return s.attribute_error; });
  g.missing_attribute = rate(v, [](const SampleScore& s) { return s.missing_attribute; });
  for (const auto& name : config::enum_names<ErrorType>()) {
    g.error_types[name] = rate(v, [&](const SampleScore& s) { return s.error_type && config::enum_name(*s.error_type) == name; });
  }
  return g;
}

EvalReport build_report(std::vector<ScoredSample> samples) {
  EvalReport r;
  r.samples = std::move(samples);
  std::vector<const ScoredSample*> all;
  std::map<std::string, std::vector<const ScoredSample*>> by_cat, by_sub;
  for (const auto& s : r.samples) {
    all.push_back(&s);
    if (!s.category.empty()) by_cat[s.category].push_back(&s);
    if (!s.subcategory.empty()) by_sub[s.subcategory].push_back(&s);
  }
  r.overall = summarize("overall", all);
  // Categories in the paper's order, then any others.
  for (const auto& name : config::enum_names<EditCategory>()) {
    if (auto it = by_cat.find(name); it != by_cat.end()) r.categories.push_back(summarize(name, it->second));
  }
  for (const auto& [name, v] : by_cat) {
    auto known = config::enum_names<EditCategory>();
    if (std::find(known.begin(), known.end(), name) == known.end()) r.categories.push_back(summarize(name, v));
  }
  for (const auto& [name, v] : by_sub) r.subcategories.push_back(summarize(name, v));
  return r;
}

EvalReport evaluate(const std::vector<EvalRecord>& records, const std::vector<Prediction>& predictions,
                    const StructuredScorer& scorer) {
  std::map<std::string, const Prediction*> by_id;
  std::vector<std::string> duplicates;
  for (const auto& p : predictions) {
    if (!by_id.emplace(p.id, &p).second) duplicates.push_back(p.id);
  }
  std::vector<ScoredSample> scored;
  std::vector<std::string> missing;
  std::set<std::string> manifest_ids;
  for (const auto& rec : records) {
    manifest_ids.insert(rec.id);
    auto it = by_id.find(rec.id);
    if (it == by_id.end()) {
      missing.push_back(rec.id);
      continue;
    }
    scored.push_back({rec.id, rec.category, rec.subcategory, it->second->instruction,
                      scorer.score(rec.gt, it->second->instruction)});
  }
  EvalReport report = build_report(std::move(scored));
  report.missing_predictions = std::move(missing);
  report.duplicate_predictions = std::move(duplicates);
  for (const auto& p : predictions) {
    if (!manifest_ids.count(p.id)) report.unknown_predictions.push_back(p.id);
  }
  return report;
}

nlohmann::ordered_json to_json(const GroupSummary& g) {
  nlohmann::ordered_json j;
  j["name"] = g.name;
  j["n"] = g.n;
  j["S"] = g.s;
  j["accuracy"] = g.accuracy;
  j["completeness"] = g.completeness;
  j["clarity"] = g.clarity;
  j["correct_rate"] = g.correct;
  j["p0_rate"] = g.p0;
  j["p1_rate"] = g.p1;
  j["p2_rate"] = g.p2;
  j["orientation_error_rate"] = g.orientation;
  j["viewpoint_error_rate"] = g.viewpoint;
  j["attribute_error_rate"] = g.attribute_error;
  j["missing_attribute_rate"] = g.missing_attribute;
  j["error_type_rates"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : g.error_types) j["error_type_rates"][k] = v;
  return j;
}

nlohmann::ordered_json to_json(const EvalReport& r, bool with_samples) {
  nlohmann::ordered_json j;
  j["overall"] = to_json(r.overall);
  j["categories"] = nlohmann::ordered_json::array();
  for (const auto& g : r.categories) j["categories"].push_back(to_json(g));
  j["subcategories"] = nlohmann::ordered_json::array();
  for (const auto& g : r.subcategories) j["subcategories"].push_back(to_json(g));
  j["missing_predictions"] = r.missing_predictions;
  j["unknown_predictions"] = r.unknown_predictions;
  j["duplicate_predictions"] = r.duplicate_predictions;
  if (with_samples) {
    j["samples"] = nlohmann::ordered_json::array();
    for (const auto& s : r.samples) {
      nlohmann::ordered_json e;
      e["id"] = s.id;
      e["category"] = s.category;
      e["subcategory"] = s.subcategory;
      e["instruction"] = s.instruction;
      nlohmann::ordered_json score = to_json(s.score);
      for (auto& [k, v] : score.items()) e[k] = v;
      j["samples"].push_back(std::move(e));
    }
  }
  return j;
}

std::string format_report(const EvalReport& r) {
  std::string out;
  out += fmt::format("Structured evaluation: {} sample(s) scored", r.overall.n);
  if (!r.missing_predictions.empty()) out += fmt::format(", {} without a prediction (not scored)", r.missing_predictions.size());
  out += "\n\n";
  out += fmt::format("{:<14} {:>5} | {:>6} {:>5} {:>5} {:>5} | {:>7} {:>6} {:>6} {:>6} | {:>7} {:>7} {:>7} {:>7}\n", "group",
                     "n", "S", "Acc", "Comp", "Clar", "Correct", "P0", "P1", "P2", "orient", "viewpt", "attr", "missing");
  auto row = [&](const GroupSummary& g) {
    auto pct = [](double x) { return fmt::format("{:.1f}%", 100 * x); };
    out += fmt::format("{:<14} {:>5} | {:>6.3f} {:>5.2f} {:>5.2f} {:>5.2f} | {:>7} {:>6} {:>6} {:>6} | {:>7} {:>7} {:>7} {:>7}\n",
                       g.name, g.n, g.s, g.accuracy, g.completeness, g.clarity, pct(g.correct), pct(g.p0), pct(g.p1),
                       pct(g.p2), pct(g.orientation), pct(g.viewpoint), pct(g.attribute_error), pct(g.missing_attribute));
  };
  row(r.overall);
  for (const auto& g : r.categories) row(g);
  if (!r.subcategories.empty()) {
    out += "\n";
    for (const auto& g : r.subcategories) row(g);
  }
  out += "\nS = 0.4 Acc + 0.4 Comp + 0.2 Clar (scale 1-5). orient/viewpt/attr/missing: share of samples with an\n"
         "orientation, viewpoint or wrong-attribute error, or a missing fine-grained attribute.\n";
  auto list = [&](const char* what, const std::vector<std::string>& ids) {
    if (ids.empty()) return;
    std::vector<std::string> head(ids.begin(), ids.begin() + std::min<size_t>(ids.size(), 10));
    out += fmt::format("{} ({}): {}{}\n", what, ids.size(), join(head, ", "), ids.size() > 10 ? ", ..." : "");
  };
  list("missing predictions", r.missing_predictions);
  list("predictions for unknown ids (ignored)", r.unknown_predictions);
  list("duplicate predictions (first one used)", r.duplicate_predictions);
  return out;
}

}  // namespace ec::eval
