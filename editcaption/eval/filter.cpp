#include "editcaption/eval/filter.h"

#include <cmath>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"
#include "editcaption/eval/records.h"

namespace ec::eval {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::string Threshold::describe() const { return fmt::format("{} {} {}", field, is_min ? ">=" : "<=", value); }

Threshold parse_threshold(std::string_view text, bool is_min) {
  const char* flag = is_min ? "--min" : "--max";
  size_t eq = text.rfind('=');
  EC_USER_CHECK(eq != std::string_view::npos && eq > 0, Usage, "{} '{}': expected FIELD=VALUE", flag, text);
  Threshold t;
  t.field = std::string(trim(text.substr(0, eq)));
  std::string value(trim(text.substr(eq + 1)));
  char* end = nullptr;
  t.value = std::strtod(value.c_str(), &end);
  EC_USER_CHECK(!value.empty() && end && *end == '\0' && std::isfinite(t.value), Usage,
                "{} '{}': '{}' is not a number", flag, text, value);
  t.is_min = is_min;
  return t;
}

const ojson* lookup_field(const ojson& record, const std::string& field) {
  if (auto it = record.find(field); it != record.end()) return &*it;
  const ojson* cur = &record;
  for (const auto& part : split(field, '.')) {
    if (!cur->is_object()) return nullptr;
    auto it = cur->find(part);
    if (it == cur->end()) return nullptr;
    cur = &*it;
  }
  return cur;
}

namespace {

std::map<std::string, ojson> read_scores(const fs::path& path) {
  std::map<std::string, ojson> out;
  for (auto& l : read_jsonl(path)) {
    std::string where = fmt::format("{}:{}", path.string(), l.line);
    if (!l.error.empty()) throw EC_USER_ERROR(Input, "{}: {}", where, l.error);
    auto id = l.value.find("id");
    if (id == l.value.end() || !id->is_string()) throw EC_USER_ERROR(Input, "{}: missing string field 'id'", where);
    std::string key = id->get<std::string>();
    if (out.count(key)) throw EC_USER_ERROR(Input, "{}: duplicate id '{}'", where, key);
    out[key] = std::move(l.value);
  }
  return out;
}

bool same_dir(const fs::path& a, const fs::path& b) {
  std::error_code e1, e2;
  fs::path ca = fs::weakly_canonical(fs::absolute(a.empty() ? fs::path(".") : a), e1);
  fs::path cb = fs::weakly_canonical(fs::absolute(b.empty() ? fs::path(".") : b), e2);
  return !e1 && !e2 && ca == cb;
}

}  // namespace

ojson FilterResult::report() const {
  ojson j;
  j["total"] = total;
  j["kept"] = kept;
  j["dropped"] = dropped.size();
  ojson reasons = ojson::object();
  for (const auto& [r, n] : reason_counts) reasons[r] = n;
  j["reasons"] = reasons;
  ojson records = ojson::array();
  for (const auto& d : dropped) records.push_back({{"line", d.line}, {"id", d.id}, {"reasons", d.reasons}});
  j["dropped_records"] = records;
  return j;
}

FilterResult filter_manifest(const fs::path& manifest, const fs::path& out, const FilterOptions& options) {
  std::map<std::string, ojson> scores;
  if (!options.scores.empty()) scores = read_scores(options.scores);
  fs::path in_dir = manifest.parent_path(), out_dir = out.parent_path();
  bool rebase = !same_dir(in_dir, out_dir);
  FilterResult res;
  std::set<std::string> seen;
  for (auto& l : read_jsonl(manifest)) {
    ++res.total;
    FilterDrop drop{l.line, "", {}};
    if (!l.error.empty()) {
      drop.reasons.push_back("unreadable record: " + l.error);
    } else {
      auto id = l.value.find("id");
      if (id == l.value.end() || !id->is_string() || id->get<std::string>().empty()) {
        drop.reasons.push_back("missing string field 'id'");
      } else {
        drop.id = id->get<std::string>();
        if (!seen.insert(drop.id).second) drop.reasons.push_back("duplicate id");
      }
    }
    if (drop.reasons.empty()) {
      ojson view = l.value;
      if (!options.scores.empty()) {
        auto s = scores.find(drop.id);
        if (s != scores.end()) view["scores"] = s->second;
      }
      for (const auto& t : options.thresholds) {
        const ojson* v = lookup_field(view, t.field);
        if (!v || v->is_null()) {
          bool joined = t.field.starts_with("scores.") && !options.scores.empty() && !view.contains("scores");
          if (!options.keep_missing) {
            drop.reasons.push_back(joined ? fmt::format("no scores for this id in {}", options.scores.filename().string())
                                          : fmt::format("missing field '{}'", t.field));
          }
          continue;
        }
        if (!v->is_number() || v->is_boolean()) {
          drop.reasons.push_back(fmt::format("field '{}' is not a number", t.field));
          continue;
        }
        double x = v->get<double>();
        bool ok = t.is_min ? x >= t.value : x <= t.value;
        if (!ok) drop.reasons.push_back(fmt::format("{} {} {}", t.field, t.is_min ? "<" : ">", t.value));
      }
    }
    if (!drop.reasons.empty()) {
      // One count per distinct reason per record, so the counts say how many records each rule cost.
      std::set<std::string> distinct(drop.reasons.begin(), drop.reasons.end());
      for (const auto& r : distinct) {
        std::string key = r.starts_with("unreadable record") ? "unreadable record" : r;
        ++res.reason_counts[key];
      }
      res.dropped.push_back(std::move(drop));
      continue;
    }
    ++res.kept;
    if (!rebase) {
      res.output += l.raw + "\n";
      continue;
    }
    ojson rec = l.value;
    for (const char* key : {"source", "target"}) {
      auto it = rec.find(key);
      if (it == rec.end() || !it->is_string()) continue;
      fs::path p(it->get<std::string>());
      if (p.is_relative()) *it = path_for_manifest(in_dir / p, out_dir);
    }
    res.output += rec.dump(-1, ' ', false, ojson::error_handler_t::strict) + "\n";
  }
  return res;
}

}  // namespace ec::eval
