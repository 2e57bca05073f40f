#include "editcaption/eval/report_html.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <set>

#include "editcaption/core/build_info.h"
#include "editcaption/core/error.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/eval/media.h"
#include "editcaption/eval/records.h"
#include "editcaption/eval/svg_chart.h"

namespace ec::eval {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

constexpr std::string_view kStyle = R"(
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#263238;color:#fff;padding:16px 24px}
header h1{margin:0 0 4px 0;font-size:24px}
header p{margin:0;color:#cfd8dc}
nav a{color:#80cbc4;margin-right:16px}
section{background:#fff;margin:16px 24px;padding:12px 20px;border:1px solid #ddd;border-radius:6px}
h2{margin:4px 0 12px 0;font-size:20px}
.grid{display:flex;flex-wrap:wrap;gap:12px}
table{border-collapse:collapse;font-size:14px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}
th{background:#f3f5f7}
td.l,th.l{text-align:left}
td.best{font-weight:bold}
.note{color:#777;font-size:13px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:8px;width:560px;background:#fff}
.card h3{font-size:14px;margin:0 0 6px 0}
.pair{display:flex;gap:8px}
.pair figure{margin:0}.pair figcaption{font-size:11px;color:#666;text-align:center}
.pair img{width:160px;height:auto;border:1px solid #ccc}
.noimg{width:160px;height:120px;background:#eee;color:#888;display:flex;align-items:center;justify-content:center}
.gt{white-space:pre-wrap;font-size:12px;background:#f6f8fa;padding:6px;margin:6px 0}
.card table{width:100%;font-size:12px}
.card td{text-align:left;vertical-align:top}
.chip{display:inline-block;border-radius:3px;padding:0 4px;margin:1px;font-size:11px;background:#eceff1}
.chip.P0{background:#ffcdd2}.chip.P1{background:#ffe0b2}.chip.P2{background:#fff9c4}.chip.correct{background:#c8e6c9}
)";

struct Group {
  const char* id;
  const char* title;
  const char* y_label;
  std::function<bool(const std::string&)> match;
};

const std::vector<Group>& chart_groups() {
  static const std::vector<Group> groups = {
      {"chart-loss", "Loss", "loss",
       [](const std::string& k) { return k == "loss" || k.ends_with("/loss") || k.ends_with("_loss"); }},
      {"chart-rewards", "Rewards (chosen, rejected)", "reward",
       [](const std::string& k) { return k == "rewards/chosen" || k == "rewards/rejected"; }},
      {"chart-margins", "Reward margin", "margin", [](const std::string& k) { return k == "rewards/margins"; }},
      {"chart-reward-accuracy", "Reward accuracy", "accuracy",
       [](const std::string& k) { return k == "rewards/accuracies"; }},
      {"chart-logps", "Log-probabilities (chosen, rejected)", "log p",
       [](const std::string& k) { return k.starts_with("logps/"); }},
      {"chart-lr", "Learning rate", "lr", [](const std::string& k) { return k == "lr" || k == "learning_rate"; }},
      {"chart-throughput", "Throughput", "per second",
       [](const std::string& k) { return k == "tokens_per_s" || k == "samples_per_s" || k.ends_with("_per_s"); }},
      {"chart-grad-norm", "Gradient norm", "grad norm", [](const std::string& k) { return k == "grad_norm"; }},
  };
  return groups;
}

bool is_axis_key(const std::string& k) { return k == "step" || k == "time" || k == "rank" || k == "epoch"; }

std::string fmt_value(const std::string& column, double v) {
  if (column == "S") return fmt::format("{:.3f}", v);
  if (column == "Acc" || column == "Comp" || column == "Clar") return fmt::format("{:.2f}", v);
  return fmt::format("{:.1f}%", v * 100);
}

// --------------------------------------------------------------------------------------------
// Curves

std::string curves_section(const std::vector<RunMetrics>& runs) {
  std::string s = "<section id=\"curves\"><h2>Training curves</h2>\n";
  if (runs.empty()) return s + "<p class=\"note\">No run directories with metrics.jsonl were given.</p></section>\n";
  s += "<table id=\"runs-table\"><tr><th class=\"l\">run</th><th class=\"l\">directory</th><th>records</th>"
       "<th>last step</th></tr>\n";
  for (const auto& r : runs) {
    std::string last = r.records.empty() ? "-" : r.records.back()["step"].dump();
    s += fmt::format("<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{}</td></tr>\n",
                     html_escape(r.name), html_escape(r.dir.string()), r.records.size(), last);
  }
  s += "</table>\n<div class=\"grid\">\n";
  // Numeric keys in order of first appearance across runs.
  std::vector<std::string> keys;
  std::set<std::string> seen;
  for (const auto& r : runs) {
    for (const auto& rec : r.records) {
      for (const auto& [k, v] : rec.items()) {
        if (is_axis_key(k) || !v.is_number() || v.is_boolean()) continue;
        if (seen.insert(k).second) keys.push_back(k);
      }
    }
  }
  std::vector<bool> used(keys.size(), false);
  auto series_for = [&](const std::vector<std::string>& group_keys) {
    std::vector<LineSeries> out;
    for (const auto& r : runs) {
      for (const auto& k : group_keys) {
        LineSeries ls;
        ls.name = runs.size() > 1 ? (group_keys.size() > 1 ? r.name + " " + k : r.name) : k;
        for (const auto& rec : r.records) {
          auto it = rec.find(k);
          if (it == rec.end() || !it->is_number()) continue;
          ls.points.emplace_back(rec["step"].get<double>(), it->get<double>());
        }
        if (!ls.points.empty()) out.push_back(std::move(ls));
      }
    }
    return out;
  };
  size_t charts = 0;
  for (const auto& g : chart_groups()) {
    std::vector<std::string> group_keys;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!used[i] && g.match(keys[i])) {
        group_keys.push_back(keys[i]);
        used[i] = true;
      }
    }
    if (group_keys.empty()) continue;
    ChartOptions o;
    o.y_label = g.y_label;
    s += svg_line_chart(g.id, g.title, series_for(group_keys), o);
    ++charts;
  }
  size_t other = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (used[i]) continue;
    ChartOptions o;
    o.y_label = keys[i];
    o.width = 420;
    o.height = 240;
    s += svg_line_chart(fmt::format("chart-other-{}", other++), keys[i], series_for({keys[i]}), o);
    ++charts;
  }
  if (charts == 0) s += "<p class=\"note\">The metrics files hold no numeric series.</p>\n";
  return s + "</div></section>\n";
}

// --------------------------------------------------------------------------------------------
// Ablation table and failure modes

std::vector<std::string> failure_mode_names(const Ablation& a) {
  std::vector<std::string> names;
  for (const char* preferred : {"orientation", "viewpoint", "attribute"}) {
    for (const auto& v : a.variants) {
      bool has = std::any_of(v.failure_modes.begin(), v.failure_modes.end(), [&](const auto& p) { return p.first == preferred; });
      if (has) {
        names.push_back(preferred);
        break;
      }
    }
  }
  for (const auto& v : a.variants) {
    for (const auto& [m, r] : v.failure_modes) {
      if (std::find(names.begin(), names.end(), m) == names.end()) names.push_back(m);
    }
  }
  return names;
}

std::optional<double> failure_rate(const AblationVariant& v, const std::string& mode) {
  for (const auto& [m, r] : v.failure_modes) {
    if (m == mode) return r;
  }
  return std::nullopt;
}

std::string ablation_table(const Ablation& a, size_t index) {
  auto modes = failure_mode_names(a);
  std::string s = fmt::format("<table id=\"ablation-table{}\" class=\"ablation\">\n<tr><th class=\"l\">Test set</th>"
                              "<th class=\"l\">Training</th><th>n</th>",
                              index == 0 ? std::string() : fmt::format("-{}", index));
  for (const auto& c : kScoreColumns) s += "<th>" + c + "</th>";
  for (const auto& c : kRateColumns) s += "<th>" + c + "</th>";
  for (const auto& m : modes) s += "<th>" + html_escape(m) + " err.</th>";
  s += "</tr>\n";
  // Test sets in order of appearance; best value per test set and column in bold.
  std::vector<std::string> sets;
  for (const auto& v : a.variants) {
    if (std::find(sets.begin(), sets.end(), v.test_set) == sets.end()) sets.push_back(v.test_set);
  }
  for (const auto& set : sets) {
    std::vector<const AblationVariant*> rows;
    for (const auto& v : a.variants) {
      if (v.test_set == set) rows.push_back(&v);
    }
    auto best = [&](std::function<std::optional<double>(const AblationVariant&)> get, bool higher) {
      std::optional<double> b, worst;
      for (auto* v : rows) {
        if (auto x = get(*v)) {
          if (!b || (higher ? *x > *b : *x < *b)) b = x;
          if (!worst || (higher ? *x < *worst : *x > *worst)) worst = x;
        }
      }
      // Nothing to highlight when all variants tie (or only one has a value).
      return b && worst && *b != *worst ? b : std::nullopt;
    };
    auto cell = [&](std::optional<double> x, std::optional<double> b, const std::string& column) {
      if (!x) return std::string("<td>-</td>");
      bool is_best = b && std::fabs(*x - *b) < 1e-12;
      return fmt::format("<td{}>{}</td>", is_best ? " class=\"best\"" : "", fmt_value(column, *x));
    };
    for (size_t r = 0; r < rows.size(); ++r) {
      const AblationVariant& v = *rows[r];
      s += "<tr>";
      if (r == 0) s += fmt::format("<td class=\"l\" rowspan=\"{}\">{}</td>", rows.size(), html_escape(set.empty() ? "test" : set));
      s += fmt::format("<td class=\"l\">{}</td><td>{}</td>", html_escape(v.name),
                       v.samples ? fmt::format("{:g}", *v.samples) : "-");
      for (const auto& c : kScoreColumns) {
        auto get = [&](const AblationVariant& x) -> std::optional<double> {
          auto it = x.values.find(c);
          return it == x.values.end() ? std::nullopt : std::optional<double>(it->second);
        };
        s += cell(get(v), best(get, true), c);
      }
      for (const auto& c : kRateColumns) {
        auto get = [&](const AblationVariant& x) -> std::optional<double> {
          auto it = x.values.find(c);
          return it == x.values.end() ? std::nullopt : std::optional<double>(it->second);
        };
        s += cell(get(v), best(get, c == "Correct"), c);
      }
      for (const auto& m : modes) {
        auto get = [&](const AblationVariant& x) { return failure_rate(x, m); };
        s += cell(get(v), best(get, false), "rate");
      }
      s += "</tr>\n";
    }
  }
  return s + "</table>\n";
}

std::string failure_chart(const Ablation& a, size_t index) {
  auto modes = failure_mode_names(a);
  if (modes.empty()) return "<p class=\"note\">No failure-mode rates in " + html_escape(a.path.string()) + ".</p>\n";
  std::set<std::string> sets;
  for (const auto& v : a.variants) sets.insert(v.test_set);
  std::vector<std::string> names;
  for (const auto& v : a.variants) names.push_back(sets.size() > 1 ? v.name + " (" + v.test_set + ")" : v.name);
  std::vector<BarGroup> groups;
  for (const auto& m : modes) {
    BarGroup g{m, {}};
    for (const auto& v : a.variants) g.values.push_back(failure_rate(v, m).value_or(NAN));
    groups.push_back(std::move(g));
  }
  ChartOptions o;
  o.width = std::max<int>(560, static_cast<int>(modes.size() * a.variants.size()) * 36 + 120);
  o.y_label = "rate";
  return svg_bar_chart(index == 0 ? "chart-failure-modes" : fmt::format("chart-failure-modes-{}", index),
                       "Failure-mode rates per variant (lower is better)", names, groups, true, o);
}

// --------------------------------------------------------------------------------------------
// Gallery

struct VariantOutputs {
  std::map<std::string, std::string> predictions;
  std::map<std::string, ojson> per_sample;
};

std::string chip(const std::string& text, const std::string& cls) {
  return fmt::format("<span class=\"chip {}\">{}</span>", html_escape(cls), html_escape(text));
}

std::string defect_chips(const ojson& rec) {
  std::string s;
  if (auto sev = rec.find("severity"); sev != rec.end() && sev->is_string()) {
    std::string v = sev->get<std::string>();
    s += chip(v, v == "P0" || v == "P1" || v == "P2" ? v : (v == "correct" || v == "none" ? "correct" : ""));
  }
  if (auto d = rec.find("defects"); d != rec.end() && d->is_array()) {
    for (const auto& x : *d) {
      if (x.is_string()) {
        s += chip(x.get<std::string>(), "");
      } else if (x.is_object()) {
        std::string type;
        for (const char* k : {"type", "error_type", "code", "category"}) {
          if (x.contains(k) && x[k].is_string()) {
            type = x[k].get<std::string>();
            break;
          }
        }
        std::string sev = x.contains("severity") && x["severity"].is_string() ? x["severity"].get<std::string>() : "";
        std::string text = sev.empty() ? type : sev + " " + type;
        for (const char* k : {"detail", "text", "message"}) {
          if (x.contains(k) && x[k].is_string()) {
            text += ": " + x[k].get<std::string>();
            break;
          }
        }
        s += chip(text, sev);
      }
    }
  }
  return s;
}

std::optional<double> sample_S(const ojson& rec) {
  auto it = rec.find("S");
  if (it != rec.end() && it->is_number()) return it->get<double>();
  return std::nullopt;
}

std::string figure(const fs::path& path, const char* caption, int px) {
  std::string url = thumbnail_data_url(path, px);
  std::string img = url.empty() ? "<div class=\"noimg\">missing image</div>"
                                : fmt::format("<img alt=\"{}\" src=\"{}\">", caption, url);
  return fmt::format("<figure>{}<figcaption>{}</figcaption></figure>", img, caption);
}

std::string gallery_section_part(const Ablation& a, const ReportOptions& opt, std::vector<std::string>& notes) {
  if (a.manifest.empty()) {
    notes.push_back(a.path.string() + ": no 'manifest', so no gallery");
    return "";
  }
  if (!fs::exists(a.manifest)) {
    notes.push_back(a.path.string() + ": manifest " + a.manifest.string() + " not found, so no gallery");
    return "";
  }
  PairManifest manifest = read_pair_manifest(a.manifest);
  std::vector<VariantOutputs> outs(a.variants.size());
  for (size_t i = 0; i < a.variants.size(); ++i) {
    const auto& v = a.variants[i];
    try {
      if (!v.predictions.empty()) outs[i].predictions = read_prediction_map(v.predictions);
      if (!v.per_sample.empty()) {
        for (auto& l : read_jsonl(v.per_sample)) {
          if (l.error.empty() && l.value.contains("id") && l.value["id"].is_string()) {
            std::string id = l.value["id"].get<std::string>();
            outs[i].per_sample[id] = std::move(l.value);
          }
        }
      }
    } catch (const UserError& e) {
      notes.push_back(fmt::format("variant '{}': {}", v.name, e.what()));
    }
  }
  struct Pick {
    size_t index;
    double spread;
  };
  std::vector<Pick> picks;
  for (size_t r = 0; r < manifest.records.size(); ++r) {
    const auto& id = manifest.records[r].id;
    bool any = false;
    double lo = INFINITY, hi = -INFINITY;
    for (const auto& o : outs) {
      any = any || o.predictions.count(id);
      if (auto it = o.per_sample.find(id); it != o.per_sample.end()) {
        if (auto s = sample_S(it->second)) {
          lo = std::min(lo, *s);
          hi = std::max(hi, *s);
        }
      }
    }
    if (any) picks.push_back({r, hi > lo ? hi - lo : 0.0});
  }
  // The pairs on which the variants disagree most come first; ties keep manifest order.
  std::stable_sort(picks.begin(), picks.end(), [](const Pick& x, const Pick& y) { return x.spread > y.spread; });
  if (picks.size() > opt.gallery) picks.resize(opt.gallery);
  if (picks.empty()) {
    notes.push_back(a.path.string() + ": no variant has predictions for the manifest's records, so no gallery");
    return "";
  }
  std::string s = "<div class=\"cards\">\n";
  for (const auto& p : picks) {
    const PairRecord& rec = manifest.records[p.index];
    s += fmt::format("<div class=\"card\" data-id=\"{}\"><h3>{}{}</h3>\n<div class=\"pair\">{}{}</div>\n",
                     html_escape(rec.id), html_escape(rec.id),
                     rec.category.empty() ? "" : " <span class=\"chip\">" + html_escape(rec.category) + "</span>",
                     figure(rec.source, "A: source", opt.thumb_px), figure(rec.target, "B: target", opt.thumb_px));
    s += "<div class=\"gt\"><b>Ground truth</b>\n" + html_escape(ground_truth_text(rec.gt, rec.instruction)) + "</div>\n";
    s += "<table><tr><th>variant</th><th>instruction</th><th>S</th><th>defects</th></tr>\n";
    for (size_t i = 0; i < a.variants.size(); ++i) {
      auto pred = outs[i].predictions.find(rec.id);
      auto ps = outs[i].per_sample.find(rec.id);
      std::optional<double> S = ps != outs[i].per_sample.end() ? sample_S(ps->second) : std::nullopt;
      s += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", html_escape(a.variants[i].name),
                       pred == outs[i].predictions.end() ? "<i>no prediction</i>" : html_escape(pred->second),
                       S ? fmt::format("{:.2f}", *S) : "-",
                       ps == outs[i].per_sample.end() ? "" : defect_chips(ps->second));
    }
    s += "</table></div>\n";
  }
  return s + "</div>\n";
}

}  // namespace

std::string render_report(const std::vector<RunMetrics>& runs, const std::vector<Ablation>& ablations,
                          const ReportOptions& opt) {
  std::vector<std::string> notes;
  for (const auto& r : runs) {
    if (r.bad_lines) notes.push_back(fmt::format("{}: {} unreadable metrics line(s) skipped", r.dir.string(), r.bad_lines));
  }
  std::string page = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
                     html_escape(opt.title) + "</title>\n<style>" + std::string(kStyle) + "</style></head><body>\n";
  page += fmt::format("<header><h1>{}</h1><p>editcaption {} &middot; {} run(s), {} ablation file(s)</p>\n"
                      "<nav><a href=\"#curves\">Curves</a><a href=\"#ablation\">Ablation</a>"
                      "<a href=\"#failure-modes\">Failure modes</a><a href=\"#gallery\">Gallery</a></nav></header>\n",
                      html_escape(opt.title), build::kVersion, runs.size(), ablations.size());
  page += curves_section(runs);

  page += "<section id=\"ablation\"><h2>Ablation</h2>\n";
  if (ablations.empty()) page += "<p class=\"note\">No ablation.json found in the given directories.</p>\n";
  for (size_t i = 0; i < ablations.size(); ++i) {
    const auto& a = ablations[i];
    page += fmt::format("<h3>{}</h3><p class=\"note\">{}{}. S = 0.4 Acc + 0.4 Comp + 0.2 Clar (scale 1-5); "
                        "Correct/P0/P1/P2 and error rates are fractions of the test pairs; best per test set in bold.</p>\n",
                        html_escape(a.title.empty() ? "Ablation on training strategy" : a.title),
                        html_escape(a.path.string()), a.model.empty() ? "" : ", model " + html_escape(a.model));
    page += ablation_table(a, i);
  }
  page += "</section>\n<section id=\"failure-modes\"><h2>Failure-mode rates</h2>\n";
  if (ablations.empty()) page += "<p class=\"note\">No ablation.json found.</p>\n";
  for (size_t i = 0; i < ablations.size(); ++i) page += failure_chart(ablations[i], i);
  page += "</section>\n<section id=\"gallery\"><h2>Gallery of test pairs</h2>\n";
  std::string gallery;
  for (const auto& a : ablations) gallery += gallery_section_part(a, opt, notes);
  page += gallery.empty() ? "<p class=\"note\">No gallery: it needs an ablation.json with a test manifest and "
                            "per-variant predictions.</p>\n"
                          : gallery;
  page += "</section>\n";
  if (!notes.empty()) {
    page += "<section id=\"notes\"><h2>Notes</h2><ul>\n";
    for (const auto& n : notes) {
      page += "<li>" + html_escape(n) + "</li>\n";
      log::warn("report: {}", n);
    }
    page += "</ul></section>\n";
  }
  return page + "</body></html>\n";
}

}  // namespace ec::eval
