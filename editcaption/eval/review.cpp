#include "editcaption/eval/review.h"

#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/strings.h"
#include "editcaption/data/types.h"
#include "editcaption/eval/media.h"
#include "editcaption/io/csv.h"

namespace ec::eval {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

std::string absolute_path(const fs::path& p) {
  std::error_code err;
  fs::path c = fs::weakly_canonical(fs::absolute(p), err);
  return (err ? fs::absolute(p) : c).generic_string();
}

// The page: a table the reviewer fills in, and a button that saves it as the same CSV.
constexpr std::string_view kPageHead = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>editcaption review sheet</title>
<style>
body{font-family:system-ui,sans-serif;margin:16px;color:#222}
table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:6px;vertical-align:top;font-size:14px}
th{background:#f3f3f3;position:sticky;top:0}
img{max-width:180px;max-height:180px;display:block}
.pair{display:flex;gap:6px}
.pair figure{margin:0}.pair figcaption{font-size:11px;color:#666}
textarea{width:100%;min-height:5em;font:inherit}
.noimg{width:120px;height:90px;background:#eee;color:#888;display:flex;align-items:center;justify-content:center}
.ref{color:#555}
#bar{margin:8px 0;display:flex;gap:12px;align-items:center}
</style></head><body>
<h1>Review sheet</h1>
<p>Correct each model instruction so that it describes the edit from image A to image B exactly.
Leave <em>corrected</em> empty and set the error type to <code>none</code> to accept the model's text.
Import with <code>editcaption data review-import review.csv --mode sft|dpo --out FILE</code>.</p>
<div id="bar"><button id="download">Download CSV</button><span id="status"></span></div>
<table id="sheet"><thead><tr><th>#</th><th>id</th><th>images (A: source, B: target)</th>
<th>model instruction</th><th>reference</th><th>corrected instruction</th><th>error type</th>
<th>severity</th><th>notes</th></tr></thead><tbody>
)";

constexpr std::string_view kPageTail = R"(<script>
(function(){
  var rows = JSON.parse(document.getElementById('rows').textContent);
  var columns = JSON.parse(document.getElementById('columns').textContent);
  function field(v){
    v = v == null ? '' : String(v);
    if (/[",\r\n]/.test(v) || /^[ \t]/.test(v) || / $/.test(v)) return '"' + v.replace(/"/g, '""') + '"';
    return v;
  }
  document.querySelectorAll('button.use').forEach(function(b){
    b.addEventListener('click', function(){
      var tr = b.closest('tr'); var i = +tr.dataset.row;
      tr.querySelector('textarea.corrected').value = rows[i].model_instruction;
    });
  });
  // The filled sheet as CSV text (also what the button saves).
  window.reviewCsv = function(){
    var lines = [columns.map(field).join(',')];
    document.querySelectorAll('#sheet tbody tr').forEach(function(tr){
      var r = Object.assign({}, rows[+tr.dataset.row]);
      r.corrected_instruction = tr.querySelector('textarea.corrected').value;
      r.error_type = tr.querySelector('select.error_type').value;
      r.severity = tr.querySelector('select.severity').value;
      r.notes = tr.querySelector('textarea.notes').value;
      lines.push(columns.map(function(c){ return field(r[c]); }).join(','));
    });
    return lines.join('\r\n') + '\r\n';
  };
  document.getElementById('download').addEventListener('click', function(){
    var text = window.reviewCsv();
    var blob = new Blob(['\ufeff' + text], {type: 'text/csv;charset=utf-8'});
    var a = document.createElement('a');
    a.href = URL.createObjectURL(blob); a.download = 'review.csv'; a.click();
    document.getElementById('status').textContent =
        'saved ' + document.querySelectorAll('#sheet tbody tr').length + ' rows';
  });
})();
</script>
</body></html>
)";

std::string image_cell(const fs::path& path, const char* caption, int thumb_px) {
  std::string url = thumbnail_data_url(path, thumb_px);
  std::string img = url.empty() ? "<div class=\"noimg\">unreadable</div>"
                                : "<img alt=\"" + std::string(caption) + "\" src=\"" + url + "\">";
  return "<figure>" + img + "<figcaption>" + caption + "</figcaption></figure>";
}

std::string select_html(const char* cls, const std::vector<std::string>& options) {
  std::string s = fmt::format("<select class=\"{}\"><option value=\"\"></option>", cls);
  for (const auto& o : options) s += fmt::format("<option value=\"{0}\">{0}</option>", html_escape(o));
  return s + "</select>";
}

// Embedding JSON in a <script> element: "</" must not close it.
std::string script_json(const ojson& j) {
  std::string s = j.dump(-1, ' ', false, ojson::error_handler_t::replace);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '<' && i + 1 < s.size() && s[i + 1] == '/') {
      out += "<\\/";
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

ReviewExportResult export_review_sheet(const PairManifest& manifest, const std::map<std::string, std::string>& predictions,
                                       const fs::path& out_dir, int thumb_px) {
  ReviewExportResult res;
  std::error_code err;
  fs::create_directories(out_dir, err);
  EC_USER_CHECK(!err, Input, "cannot create '{}': {}", out_dir.string(), err.message());
  std::string csv = "\xEF\xBB\xBF" + io::csv_row(kReviewColumns);  // BOM: spreadsheets then read UTF-8
  std::string body;
  ojson rows = ojson::array();
  std::vector<std::string> error_types = config::enum_names<ErrorType>();
  error_types.insert(error_types.begin(), "none");
  for (const auto& rec : manifest.records) {
    auto pred = predictions.find(rec.id);
    if (pred == predictions.end()) {
      res.missing_predictions.push_back(rec.id);
      continue;
    }
    std::vector<std::string> fields = {rec.id, absolute_path(rec.source), absolute_path(rec.target), rec.category,
                                       pred->second, rec.instruction, "", "", "", ""};
    csv += io::csv_row(fields);
    ojson row;
    for (size_t c = 0; c < kReviewColumns.size(); ++c) row[kReviewColumns[c]] = fields[c];
    rows.push_back(row);
    body += fmt::format(
        "<tr data-row=\"{}\"><td>{}</td><td>{}</td><td><div class=\"pair\">{}{}</div></td>"
        "<td>{}<br><button class=\"use\">use as corrected</button></td><td class=\"ref\">{}</td>"
        "<td><textarea class=\"corrected\"></textarea></td><td>{}</td><td>{}</td>"
        "<td><textarea class=\"notes\"></textarea></td></tr>\n",
        res.rows, res.rows + 2, html_escape(rec.id), image_cell(rec.source, "A: source", thumb_px),
        image_cell(rec.target, "B: target", thumb_px), html_escape(pred->second), html_escape(rec.instruction),
        select_html("error_type", error_types), select_html("severity", config::enum_names<Severity>()));
    ++res.rows;
  }
  std::string page(kPageHead);
  page += body;
  page += "</tbody></table>\n<script type=\"application/json\" id=\"rows\">" + script_json(rows) + "</script>\n";
  page += "<script type=\"application/json\" id=\"columns\">" + script_json(ojson(kReviewColumns)) + "</script>\n";
  page += kPageTail;
  res.csv = out_dir / "review.csv";
  res.html = out_dir / "review.html";
  write_file_atomic(res.csv, csv);
  write_file_atomic(res.html, page);
  return res;
}

ReviewImportResult import_review_sheet(const fs::path& csv_path, ReviewMode mode, const fs::path& out_path) {
  std::string text = read_file(csv_path);
  auto rows = io::parse_csv(text, csv_path.string());
  EC_USER_CHECK(!rows.empty(), Input, "{}: empty file (expected a header row)", csv_path.string());
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < rows[0].fields.size(); ++i) col[std::string(trim(rows[0].fields[i]))] = i;
  for (const char* required : {"id", "source", "target", "model_instruction", "corrected_instruction", "error_type",
                               "severity"}) {
    EC_USER_CHECK(col.count(required), Input, "{}: the header row has no '{}' column (expected: {})",
                  csv_path.string(), required, join(kReviewColumns, ", "));
  }
  fs::path csv_dir = csv_path.parent_path(), out_dir = out_path.parent_path();
  std::vector<std::string> error_types = config::enum_names<ErrorType>();
  ReviewImportResult res;
  std::set<std::string> seen;
  for (size_t r = 1; r < rows.size(); ++r) {
    const io::CsvRow& row = rows[r];
    bool blank = true;
    for (const auto& f : row.fields) blank = blank && trim(f).empty();
    if (blank) continue;
    ++res.rows;
    auto get = [&](const char* name) -> std::string {
      auto it = col.find(name);
      return it == col.end() || it->second >= row.fields.size() ? std::string() : row.fields[it->second];
    };
    ReviewProblem p{row.row, row.line, std::string(trim(get("id"))), ""};
    auto problem = [&](std::string reason) {
      p.reason = std::move(reason);
      res.problems.push_back(p);
    };
    if (row.fields.size() != rows[0].fields.size()) {
      problem(fmt::format("has {} fields, the header has {}", row.fields.size(), rows[0].fields.size()));
      continue;
    }
    bool utf8 = true;
    for (size_t c = 0; c < row.fields.size() && utf8; ++c) {
      if (!is_valid_utf8(row.fields[c])) {
        problem(fmt::format("column '{}' is not valid UTF-8", rows[0].fields[c]));
        utf8 = false;
      }
    }
    if (!utf8) continue;
    if (p.id.empty()) {
      problem("empty id");
      continue;
    }
    if (!seen.insert(p.id).second) {
      problem("duplicate id (an earlier row has it)");
      continue;
    }
    std::string source(trim(get("source"))), target(trim(get("target")));
    if (source.empty() || target.empty()) {
      problem("empty source or target path");
      continue;
    }
    std::string model(trim(get("model_instruction")));
    std::string corrected(trim(get("corrected_instruction")));
    std::string error_type = to_lower(trim(get("error_type")));
    std::string severity(trim(get("severity")));
    for (auto& ch : severity) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    bool none = error_type == "none";
    if (!error_type.empty() && !none && std::find(error_types.begin(), error_types.end(), error_type) == error_types.end()) {
      problem(fmt::format("error_type '{}' is not one of none, {}", get("error_type"), join(error_types, ", ")));
      continue;
    }
    if (!severity.empty() && severity != "P0" && severity != "P1" && severity != "P2") {
      problem(fmt::format("severity '{}' is not one of P0, P1, P2", get("severity")));
      continue;
    }
    auto resolve = [&](const std::string& s) {
      fs::path path(s);
      return path_for_manifest(path.is_absolute() ? path : csv_dir / path, out_dir);
    };
    ojson rec;
    rec["id"] = p.id;
    rec["source"] = resolve(source);
    rec["target"] = resolve(target);
    std::string category(trim(get("category")));
    if (mode == ReviewMode::Sft) {
      if (corrected.empty()) {
        if (!none) {
          problem(error_type.empty() ? "not reviewed: corrected_instruction is empty (write the correction, or set "
                                       "error_type 'none' to accept the model's instruction)"
                                     : "error_type is set but corrected_instruction is empty");
          continue;
        }
        if (model.empty()) {
          problem("error_type 'none' accepts the model's instruction, but model_instruction is empty");
          continue;
        }
        corrected = model;
        ++res.accepted_as_is;
      }
      rec["instruction"] = corrected;
      if (!category.empty()) rec["category"] = category;
    } else {
      if (none && (corrected.empty() || corrected == model)) {
        ++res.no_error;
        continue;
      }
      if (corrected.empty()) {
        problem("not reviewed: corrected_instruction is empty (or set error_type 'none' if the model is right)");
        continue;
      }
      if (model.empty()) {
        problem("model_instruction is empty: no rejected answer for the pair");
        continue;
      }
      if (corrected == model) {
        problem("corrected_instruction equals model_instruction: no preference pair (set error_type 'none')");
        continue;
      }
      if (error_type.empty() || none) {
        problem(fmt::format("a correction needs an error_type ({})", join(error_types, ", ")));
        continue;
      }
      if (severity.empty()) {
        problem("a correction needs a severity (P0, P1 or P2)");
        continue;
      }
      rec["chosen"] = corrected;
      rec["rejected"] = model;
      rec["error_type"] = error_type;
      rec["severity"] = severity;
      if (!category.empty()) rec["category"] = category;
    }
    res.records.push_back(std::move(rec));
  }
  return res;
}

}  // namespace ec::eval
