#include "editcaption/eval/ablation_table.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/eval/records.h"
#include "editcaption/eval/report_inputs.h"
#include "editcaption/io/csv.h"

namespace ec::eval {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

double number(const ojson& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  EC_USER_CHECK(it != obj.end(), Input, "{}: '{}' is missing (expected an `editcaption eval --out` report)", where, key);
  EC_USER_CHECK(it->is_number() && !it->is_boolean() && std::isfinite(it->get<double>()), Input,
                "{}: '{}' must be a number, got {}", where, key, it->dump());
  return it->get<double>();
}

/// Eval reports record paths as given on the command line: relative to where eval ran (usually
/// here), else to the report's directory.
fs::path resolve_path(const ojson& obj, const char* key, const fs::path& report) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string() || it->get<std::string>().empty()) return {};
  fs::path p(it->get<std::string>());
  if (p.is_absolute()) return p;
  if (fs::exists(p)) return fs::absolute(p).lexically_normal();
  return (report.parent_path() / p).lexically_normal();
}

std::string pct(double x) { return fmt::format("{:.1f}%", 100 * x); }

std::string markdown_cell(const std::string& text) {
  std::string s;
  for (char c : text) s += c == '|' ? std::string("\\|") : std::string(1, c);
  return s;
}

/// A file name for a variant: lower case, runs of anything but letters and digits as one '-'.
std::string slug(const std::string& name) {
  std::string s;
  for (unsigned char c : name) {
    if (std::isalnum(c)) {
      s += static_cast<char>(std::tolower(c));
    } else if (!s.empty() && s.back() != '-') {
      s += '-';
    }
  }
  while (!s.empty() && s.back() == '-') s.pop_back();
  return s.empty() ? "variant" : s;
}

struct Column {
  const char* header;
  double AblationRow::*field;
  bool higher_is_better;
  bool rate;
};

const std::vector<Column>& columns() {
  static const std::vector<Column> c = {
      {"S", &AblationRow::s, true, false},
      {"Acc", &AblationRow::accuracy, true, false},
      {"Comp", &AblationRow::completeness, true, false},
      {"Clar", &AblationRow::clarity, true, false},
      {"Correct", &AblationRow::correct, true, true},
      {"P0", &AblationRow::p0, false, true},
      {"P1", &AblationRow::p1, false, true},
      {"P2", &AblationRow::p2, false, true},
      {"Orientation", &AblationRow::orientation, false, true},
      {"Viewpoint", &AblationRow::viewpoint, false, true},
      {"Missing attr.", &AblationRow::missing_attribute, false, true},
      {"Wrong attr.", &AblationRow::attribute_error, false, true},
  };
  return c;
}

}  // namespace

AblationInput read_ablation_input(const std::string& name, const fs::path& report) {
  AblationInput in{name, report, {}};
  try {
    in.json = ojson::parse(read_file(report));
  } catch (const ojson::parse_error& e) {
    throw EC_USER_ERROR(Input, "{}: malformed JSON ({})", report.string(), e.what());
  }
  EC_USER_CHECK(in.json.is_object(), Input, "{}: expected a JSON object (an `editcaption eval --out` report)",
                report.string());
  return in;
}

AblationRow ablation_row(const AblationInput& in) {
  const std::string file = in.report.empty() ? in.name : in.report.string();
  const bool full = in.json.contains("overall");
  const ojson& g = full ? in.json["overall"] : in.json;
  const std::string where = full ? file + ": overall" : file;
  EC_USER_CHECK(g.is_object(), Input, "{}: expected an object of summary values", where);
  AblationRow r;
  r.name = in.name;
  r.n = static_cast<int64_t>(number(g, "n", where));
  r.s = number(g, "S", where);
  r.accuracy = number(g, "accuracy", where);
  r.completeness = number(g, "completeness", where);
  r.clarity = number(g, "clarity", where);
  r.correct = number(g, "correct_rate", where);
  r.p0 = number(g, "p0_rate", where);
  r.p1 = number(g, "p1_rate", where);
  r.p2 = number(g, "p2_rate", where);
  r.orientation = number(g, "orientation_error_rate", where);
  r.viewpoint = number(g, "viewpoint_error_rate", where);
  r.missing_attribute = number(g, "missing_attribute_rate", where);
  r.attribute_error = number(g, "attribute_error_rate", where);
  if (full) {
    r.predictions = resolve_path(in.json, "predictions", in.report);
    r.manifest = resolve_path(in.json, "manifest", in.report);
    if (auto it = in.json.find("samples"); it != in.json.end() && it->is_array()) r.samples = *it;
  }
  return r;
}

std::string ablation_markdown(const std::vector<AblationRow>& rows, const AblationTableOptions& o) {
  std::string out = "# " + o.title + "\n\n";
  if (!o.model.empty()) out += "Model: " + o.model + "\n\n";
  if (!o.test_set.empty()) out += "Test set: " + o.test_set + "\n\n";
  out += "| Training | n |";
  std::string rule = "|---|---:|";
  for (const auto& c : columns()) {
    out += fmt::format(" {} |", c.header);
    rule += "---:|";
  }
  out += "\n" + rule + "\n";
  for (const auto& r : rows) {
    out += fmt::format("| {} | {} |", markdown_cell(r.name), r.n);
    for (const auto& c : columns()) {
      const double v = r.*c.field;
      std::string text = c.rate                        ? pct(v)
                         : c.field == &AblationRow::s ? fmt::format("{:.3f}", v)
                                                      : fmt::format("{:.2f}", v);
      // Bold the best value of a column, as the paper's table does (every tie is bold).
      bool best = rows.size() > 1 && std::all_of(rows.begin(), rows.end(), [&](const AblationRow& o2) {
                    return c.higher_is_better ? o2.*c.field <= v : o2.*c.field >= v;
                  });
      out += fmt::format(" {} |", best ? "**" + text + "**" : text);
    }
    out += "\n";
  }
  out += "\nS = 0.4 Acc + 0.4 Comp + 0.2 Clar (scale 1-5). Correct/P0/P1/P2: share of test pairs by their most severe "
         "defect. Orientation, Viewpoint, Missing attr., Wrong attr.: share of test pairs with such an error (lower is "
         "better).\n";
  return out;
}

std::string ablation_csv(const std::vector<AblationRow>& rows, const AblationTableOptions& o) {
  std::string out = io::csv_row({"variant", "test_set", "n", "S", "accuracy", "completeness", "clarity", "correct",
                                 "p0", "p1", "p2", "orientation", "viewpoint", "missing_attribute", "attribute_error"});
  for (const auto& r : rows) {
    std::vector<std::string> f{r.name, o.test_set, std::to_string(r.n)};
    for (const auto& c : columns()) f.push_back(fmt::format("{:.6g}", r.*c.field));
    out += io::csv_row(f);
  }
  return out;
}

ojson ablation_json(const std::vector<AblationRow>& rows, const AblationTableOptions& o, const fs::path& out_dir) {
  ojson j;
  j["schema"] = kAblationSchema;
  j["title"] = o.title;
  if (!o.model.empty()) j["model"] = o.model;
  // One manifest for the gallery: the variants' common test manifest, if they agree.
  fs::path manifest = rows.empty() ? fs::path() : rows.front().manifest;
  for (const auto& r : rows) {
    if (r.manifest != manifest) manifest.clear();
  }
  if (!manifest.empty()) j["manifest"] = path_for_manifest(manifest, out_dir);
  j["variants"] = ojson::array();
  for (const auto& r : rows) {
    ojson v;
    v["name"] = r.name;
    if (!o.test_set.empty()) v["test_set"] = o.test_set;
    v["samples"] = r.n;
    v["S"] = r.s;
    v["Acc"] = r.accuracy;
    v["Comp"] = r.completeness;
    v["Clar"] = r.clarity;
    v["Correct"] = r.correct;
    v["P0"] = r.p0;
    v["P1"] = r.p1;
    v["P2"] = r.p2;
    // "attribute" is the paper's third failure mode: a fine-grained attribute left out or too coarse.
    v["failure_modes"] = {{"orientation", r.orientation},
                          {"viewpoint", r.viewpoint},
                          {"attribute", r.missing_attribute},
                          {"attribute_error", r.attribute_error}};
    if (!r.predictions.empty()) v["predictions"] = path_for_manifest(r.predictions, out_dir);
    j["variants"].push_back(std::move(v));
  }
  return j;
}

AblationTableFiles write_ablation_table(const std::vector<AblationInput>& inputs, const fs::path& out_dir,
                                        const AblationTableOptions& o) {
  EC_USER_CHECK(!inputs.empty(), Usage, "the ablation table needs at least one variant (NAME=REPORT.json)");
  std::vector<AblationRow> rows;
  std::set<std::string> names;
  for (const auto& in : inputs) {
    EC_USER_CHECK(!in.name.empty(), Usage, "{}: the variant needs a name (NAME=REPORT.json)", in.report.string());
    EC_USER_CHECK(names.insert(in.name).second, Usage, "variant '{}' is given twice", in.name);
    rows.push_back(ablation_row(in));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  EC_USER_CHECK(!ec, Input, "cannot create '{}': {}", out_dir.string(), ec.message());

  AblationTableFiles files;
  ojson j = ablation_json(rows, o, out_dir);
  std::set<std::string> used;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].samples.is_array()) continue;
    std::string stem = slug(rows[i].name);
    for (int k = 2; !used.insert(stem).second; ++k) stem = fmt::format("{}-{}", slug(rows[i].name), k);
    const fs::path file = out_dir / "per_sample" / (stem + ".jsonl");
    std::string text;
    for (const auto& s : rows[i].samples) {
      if (!s.is_object() || !s.contains("id")) continue;
      ojson line{{"id", s["id"]}};
      if (s.contains("s")) line["S"] = s["s"];
      if (s.contains("verdict")) line["severity"] = s["verdict"];
      if (s.contains("defects")) line["defects"] = s["defects"];
      text += line.dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n";
    }
    fs::create_directories(file.parent_path(), ec);
    write_file_atomic(file, text);
    j["variants"][i]["per_sample"] = path_for_manifest(file, out_dir);
    files.per_sample.push_back(file);
  }
  files.markdown = out_dir / "ablation.md";
  files.csv = out_dir / "ablation.csv";
  files.json = out_dir / "ablation.json";
  write_file_atomic(files.markdown, ablation_markdown(rows, o));
  write_file_atomic(files.csv, ablation_csv(rows, o));
  write_file_atomic(files.json, j.dump(2) + "\n");
  return files;
}

}  // namespace ec::eval
