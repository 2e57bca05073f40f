#include "editcaption/data/manifest.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "editcaption/core/check.h"
#include "editcaption/core/hash.h"
#include "editcaption/core/strings.h"

namespace ec::data {
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

const std::vector<std::string>& known_keys(ManifestKind kind) {
  static const std::vector<std::string> sft{"id", "source", "target", "instruction", "category", "subcategory", "gt"};
  static const std::vector<std::string> dpo{"id",       "source",   "target", "chosen", "rejected",
                                            "error_type", "severity", "margin", "weight"};
  return kind == ManifestKind::Sft ? sft : dpo;
}

/// The id of a line that is not valid JSON, found by a plain search, for the problem report.
std::string sniff_id(std::string_view text) {
  size_t k = text.find("\"id\"");
  if (k == std::string_view::npos) return "";
  size_t colon = text.find(':', k + 4);
  if (colon == std::string_view::npos) return "";
  size_t open = text.find_first_not_of(" \t", colon + 1);
  if (open == std::string_view::npos || text[open] != '"') return "";
  size_t close = text.find('"', open + 1);
  if (close == std::string_view::npos || close - open - 1 > 200) return "";
  return std::string(text.substr(open + 1, close - open - 1));
}

/// Collects the problems of one record; they are reported together.
class RecordChecker {
 public:
  explicit RecordChecker(const json& obj) : obj_(obj) {}

  const json* get(const char* key) const {
    auto it = obj_.find(key);
    if (it == obj_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  /// A required or optional string; `non_empty` also rejects whitespace-only text.
  std::optional<std::string> string(const char* key, bool required, bool non_empty) {
    const json* v = get(key);
    if (!v) {
      if (required) problem(fmt::format("missing '{}'", key));
      return std::nullopt;
    }
    if (!v->is_string()) {
      problem(fmt::format("'{}' must be a string, got {}", key, v->type_name()));
      return std::nullopt;
    }
    std::string s = v->get<std::string>();
    if (non_empty && trim(s).empty()) {
      problem(fmt::format("empty '{}'", key));
      return std::nullopt;
    }
    return s;
  }

  template <class E>
  std::optional<E> enumeration(const char* key) {
    auto s = string(key, false, false);
    if (!s) return std::nullopt;
    for (const auto& e : config_enum_entries(E{})) {
      if (e.name == *s) return e.value;
    }
    std::string msg = fmt::format("'{}' must be one of {}, got '{}'", key, join(config::enum_names<E>(), ", "), *s);
    if (auto best = closest_match(*s, config::enum_names<E>())) msg += fmt::format(" (did you mean '{}'?)", *best);
    problem(msg);
    return std::nullopt;
  }

  std::optional<double> number(const char* key) {
    const json* v = get(key);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      problem(fmt::format("'{}' must be a number, got {}", key, v->type_name()));
      return std::nullopt;
    }
    double d = v->get<double>();
    if (!std::isfinite(d)) {
      problem(fmt::format("'{}' must be finite", key));
      return std::nullopt;
    }
    return d;
  }

  void problem(std::string text) { problems_.push_back(std::move(text)); }
  bool has_problems() const { return !problems_.empty(); }
  std::string text() const { return join(problems_, "; "); }

 private:
  const json& obj_;
  std::vector<std::string> problems_;
};

/// `gt`: {"primary": [change...], "secondary": [change...], "overall": "text"}, every key optional;
/// a change is an object (typed fields) or a string.
void check_gt(const json& gt, RecordChecker& c, std::vector<std::string>* warnings) {
  if (!gt.is_object()) {
    c.problem(fmt::format("'gt' must be an object, got {}", gt.type_name()));
    return;
  }
  for (const auto& [key, value] : gt.items()) {
    if (key == "primary" || key == "secondary") {
      if (!value.is_array()) {
        c.problem(fmt::format("'gt.{}' must be an array, got {}", key, value.type_name()));
        continue;
      }
      for (size_t i = 0; i < value.size(); ++i) {
        if (!value[i].is_object() && !value[i].is_string()) {
          c.problem(fmt::format("'gt.{}[{}]' must be an object or a string, got {}", key, i, value[i].type_name()));
        }
      }
    } else if (key == "overall") {
      if (!value.is_string()) c.problem(fmt::format("'gt.overall' must be a string, got {}", value.type_name()));
    } else if (warnings) {
      warnings->push_back(fmt::format("unknown key 'gt.{}' (expected primary, secondary, overall)", key));
    }
  }
}

/// Resolves an image path against the manifest's directory and checks that it stays in the root.
std::optional<fs::path> resolve_image(const std::string& text, const char* key, const fs::path& manifest_dir,
                                      const fs::path& root, bool allow_outside_root, RecordChecker& c) {
  if (text.find('\0') != std::string::npos) {
    c.problem(fmt::format("'{}' contains a NUL character", key));
    return std::nullopt;
  }
  fs::path p(text);
  fs::path resolved = (p.is_absolute() ? p : manifest_dir / p).lexically_normal();
  if (!allow_outside_root) {
    fs::path rel = resolved.lexically_relative(root);
    if (rel.empty() || *rel.begin() == "..") {
      c.problem(fmt::format("'{}' path '{}' escapes the dataset root '{}' (set data.allow_outside_root to allow)", key,
                            text, root.string()));
      return std::nullopt;
    }
  }
  return resolved;
}

fs::path absolute_normal(const fs::path& p) { return fs::absolute(p).lexically_normal(); }

}  // namespace

std::string ManifestProblem::str(const fs::path& manifest) const {
  std::string where = fmt::format("{}:{}", manifest.string(), line);
  if (!id.empty()) where += fmt::format(" [id {}]", id);
  return where + ": " + reason;
}

int64_t Manifest::num_bad() const {
  int64_t n = 0;
  for (const auto& r : records) n += r.ok() ? 0 : 1;
  return n;
}

ManifestKind guess_record_kind(const json& obj) {
  return obj.contains("chosen") || obj.contains("rejected") ? ManifestKind::Dpo : ManifestKind::Sft;
}

ManifestRecord parse_manifest_line(std::string_view text, int64_t line, ManifestKind kind, const fs::path& manifest_dir,
                                   const fs::path& root, bool allow_outside_root, std::vector<std::string>* warnings) {
  ManifestRecord rec;
  rec.line = line;
  if (size_t bad = first_invalid_utf8(text); bad != std::string_view::npos) {
    rec.id = sniff_id(text.substr(0, bad));
    rec.problem = fmt::format("invalid UTF-8 at byte {} of the line", bad + 1);
    return rec;
  }
  json obj;
  try {
    obj = json::parse(text);
  } catch (const json::parse_error& e) {
    rec.id = sniff_id(text);
    std::string what = e.what();
    if (auto k = what.find("]: "); k != std::string::npos) what = what.substr(k + 3);
    rec.problem = "malformed JSON: " + what;
    return rec;
  }
  if (!obj.is_object()) {
    rec.problem = fmt::format("expected a JSON object, got {}", obj.type_name());
    return rec;
  }

  RecordChecker c(obj);
  if (const json* id = c.get("id"); id && id->is_number_integer()) {
    rec.id = std::to_string(id->get<int64_t>());
  } else if (auto s = c.string("id", true, true)) {
    rec.id = *s;
  }
  if (ManifestKind other = guess_record_kind(obj); other != kind) {
    c.problem(kind == ManifestKind::Sft ? "a DPO record (it has 'chosen'/'rejected') in an SFT manifest"
                                        : "an SFT record (no 'chosen'/'rejected') in a DPO manifest");
  }
  if (auto s = c.string("source", true, true)) {
    rec.source_text = *s;
    if (auto p = resolve_image(*s, "source", manifest_dir, root, allow_outside_root, c)) rec.source = *p;
  }
  if (auto s = c.string("target", true, true)) {
    rec.target_text = *s;
    if (auto p = resolve_image(*s, "target", manifest_dir, root, allow_outside_root, c)) rec.target = *p;
  }
  if (kind == ManifestKind::Sft) {
    if (auto s = c.string("instruction", true, true)) rec.instruction = *s;
    rec.category = c.enumeration<EditCategory>("category");
    rec.subcategory = c.string("subcategory", false, false);
    if (const json* gt = c.get("gt")) {
      check_gt(*gt, c, warnings);
      rec.gt = *gt;
    }
  } else {
    if (auto s = c.string("chosen", true, true)) rec.chosen = *s;
    if (auto s = c.string("rejected", true, true)) rec.rejected = *s;
    if (!rec.chosen.empty() && trim(rec.chosen) == trim(rec.rejected)) c.problem("'chosen' and 'rejected' are identical");
    rec.error_type = c.enumeration<ErrorType>("error_type");
    rec.severity = c.enumeration<Severity>("severity");
    rec.margin = c.number("margin");
    if (auto w = c.number("weight")) {
      if (*w <= 0) {
        c.problem(fmt::format("'weight' must be > 0, got {}", *w));
      } else {
        rec.weight = *w;
      }
    }
  }
  if (warnings) {
    const auto& known = known_keys(kind);
    for (const auto& [key, value] : obj.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string note = fmt::format("unknown key '{}' (ignored)", key);
      if (auto best = closest_match(key, known)) note = fmt::format("unknown key '{}' (ignored; did you mean '{}'?)", key, *best);
      warnings->push_back(note);
    }
  }
  if (c.has_problems()) rec.problem = c.text();
  return rec;
}

Manifest read_manifest(const fs::path& path, const ManifestOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw EC_USER_ERROR(Input, "{}: {}", path.string(), fs::exists(path) ? "cannot open the manifest" : "manifest not found");
  }
  Manifest m;
  m.path = path;
  m.fingerprint = sha256_file(path);
  const fs::path manifest_dir = absolute_normal(path).parent_path();
  const fs::path root = options.dataset_root.empty() ? manifest_dir : absolute_normal(options.dataset_root);

  std::optional<ManifestKind> kind = options.kind;
  std::map<std::string, int64_t> first_line_of_id;
  std::string text;
  int64_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (trim(text).empty()) continue;
    if (!kind) {
      // The first record that parses decides the kind; a bad first line does not.
      try {
        json obj = json::parse(text);
        if (obj.is_object()) kind = guess_record_kind(obj);
      } catch (const json::exception&) {
      }
    }
    std::vector<std::string> notes;
    ManifestRecord rec = parse_manifest_line(text, line, kind.value_or(ManifestKind::Sft), manifest_dir, root,
                                             options.allow_outside_root, &notes);
    for (auto& n : notes) m.warnings.push_back({line, rec.id, std::move(n)});
    if (!rec.id.empty()) {
      auto [it, inserted] = first_line_of_id.emplace(rec.id, line);
      if (!inserted) {
        std::string dup = fmt::format("duplicate id (first used on line {})", it->second);
        rec.problem = rec.problem ? *rec.problem + "; " + dup : dup;
      }
    }
    m.records.push_back(std::move(rec));
  }
  if (in.bad()) throw EC_USER_ERROR(Input, "{}: read error", path.string());
  if (m.records.empty()) throw EC_USER_ERROR(Input, "{}: the manifest has no records", path.string());
  // Lines read before the kind was known failed to parse as JSON objects, so their problem does
  // not depend on the kind they were parsed as.
  m.kind = kind.value_or(ManifestKind::Sft);
  return m;
}

}  // namespace ec::data
