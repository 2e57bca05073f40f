#include "editcaption/eval/judge_scores.h"

#include <cmath>

namespace ec::eval {
using ojson = nlohmann::ordered_json;

double overall_score(double accuracy, double completeness, double clarity) {
  return 0.4 * accuracy + 0.4 * completeness + 0.2 * clarity;
}

std::vector<SampleJudgeScores> collect_judge_scores(const std::vector<JudgeRequest>& requests, const ResponseStore& store) {
  std::vector<SampleJudgeScores> out;
  std::map<std::string, size_t> index;
  for (const auto& r : requests) {
    auto [it, fresh] = index.emplace(r.id, out.size());
    if (fresh) out.push_back({r.id, r.category, {}});
    if (const JudgeResponse* resp = store.find(r)) out[it->second].dims[static_cast<int>(r.dimension)] = resp->score;
  }
  return out;
}

namespace {

void add(JudgeTableRow& row, const SampleJudgeScores& s) {
  ++row.samples;
  row.S += s.S();
  row.accuracy += *s.dims[0];
  row.completeness += *s.dims[1];
  row.clarity += *s.dims[2];
}

void finish(JudgeTableRow& row) {
  if (row.samples == 0) return;
  double n = static_cast<double>(row.samples);
  row.S /= n;
  row.accuracy /= n;
  row.completeness /= n;
  row.clarity /= n;
}

ojson row_json(const JudgeTableRow& r) {
  return {{"samples", r.samples}, {"S", r.S}, {"accuracy", r.accuracy}, {"completeness", r.completeness}, {"clarity", r.clarity}};
}

}  // namespace

JudgeSummary summarize_judge_scores(const std::vector<SampleJudgeScores>& samples) {
  JudgeSummary s;
  for (const auto& x : samples) {
    if (!x.complete()) {
      ++s.unscored;
      continue;
    }
    add(s.overall, x);
    if (!x.category.empty()) add(s.by_category[x.category], x);
  }
  finish(s.overall);
  for (auto& [name, row] : s.by_category) finish(row);
  return s;
}

ojson JudgeSummary::to_json() const {
  ojson j;
  j["overall"] = row_json(overall);
  ojson cats = ojson::object();
  for (const auto& [name, row] : by_category) cats[name] = row_json(row);
  j["by_category"] = cats;
  j["unscored_samples"] = unscored;
  return j;
}

std::string format_judge_table(const JudgeSummary& summary, const std::string& title) {
  std::string out = fmt::format("{}\n{:<14} {:>7} {:>7} {:>6} {:>6} {:>6}\n", title, "", "samples", "S", "Acc", "Comp", "Clar");
  auto line = [&](const std::string& name, const JudgeTableRow& r) {
    if (r.samples == 0) {
      out += fmt::format("{:<14} {:>7} {:>7} {:>6} {:>6} {:>6}\n", name, 0, "-", "-", "-", "-");
    } else {
      out += fmt::format("{:<14} {:>7} {:>7.3f} {:>6.2f} {:>6.2f} {:>6.2f}\n", name, r.samples, r.S, r.accuracy,
                         r.completeness, r.clarity);
    }
  };
  line("all", summary.overall);
  for (const auto& [name, row] : summary.by_category) line(name, row);
  if (summary.unscored) out += fmt::format("{} sample(s) unscored (a dimension was not answered)\n", summary.unscored);
  return out;
}

}  // namespace ec::eval
