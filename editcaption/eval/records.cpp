#include "editcaption/eval/records.h"

#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/strings.h"

namespace ec::eval {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

std::vector<JsonlLine> read_jsonl(const fs::path& path) {
  std::string text = read_file(path);
  std::vector<JsonlLine> lines;
  size_t start = 0, number = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++number;
    std::string_view raw(text.data() + start, end - start);
    if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
    start = end + 1;
    if (trim(raw).empty()) continue;
    JsonlLine l;
    l.line = number;
    l.raw = std::string(raw);
    if (!is_valid_utf8(raw)) {
      l.error = fmt::format("invalid UTF-8 at byte {}", first_invalid_utf8(raw));
    } else {
      try {
        l.value = ojson::parse(raw);
        if (!l.value.is_object()) l.error = "not a JSON object";
      } catch (const ojson::parse_error& e) {
        l.error = fmt::format("malformed JSON ({})", e.what());
      }
    }
    lines.push_back(std::move(l));
  }
  return lines;
}

namespace {

std::string string_field(const ojson& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

PairManifest read_pair_manifest(const fs::path& path) {
  PairManifest m;
  m.path = path;
  fs::path dir = path.parent_path();
  std::set<std::string> seen;
  for (auto& l : read_jsonl(path)) {
    if (!l.error.empty()) {
      m.problems.push_back({l.line, "", l.error});
      continue;
    }
    const ojson& v = l.value;
    std::string id = string_field(v, "id");
    if (id.empty()) {
      m.problems.push_back({l.line, "", "missing or empty string field 'id'"});
      continue;
    }
    if (!seen.insert(id).second) {
      m.problems.push_back({l.line, id, "duplicate id"});
      continue;
    }
    std::string src = string_field(v, "source"), tgt = string_field(v, "target");
    if (src.empty() || tgt.empty()) {
      m.problems.push_back({l.line, id, "missing string field 'source' or 'target'"});
      continue;
    }
    PairRecord r;
    r.line = l.line;
    r.id = id;
    r.source = fs::path(src).is_absolute() ? fs::path(src) : dir / src;
    r.target = fs::path(tgt).is_absolute() ? fs::path(tgt) : dir / tgt;
    r.instruction = string_field(v, "instruction");
    if (r.instruction.empty()) r.instruction = string_field(v, "chosen");
    r.category = string_field(v, "category");
    if (auto gt = v.find("gt"); gt != v.end()) r.gt = *gt;
    r.record = std::move(l.value);
    m.records.push_back(std::move(r));
  }
  return m;
}

std::map<std::string, std::string> read_prediction_map(const fs::path& path) {
  std::map<std::string, std::string> out;
  for (const auto& l : read_jsonl(path)) {
    auto where = fmt::format("{}:{}", path.string(), l.line);
    if (!l.error.empty()) throw EC_USER_ERROR(Input, "{}: {}", where, l.error);
    std::string id = string_field(l.value, "id");
    if (id.empty()) throw EC_USER_ERROR(Input, "{}: missing or empty string field 'id'", where);
    auto ins = l.value.find("instruction");
    if (ins == l.value.end() || !ins->is_string()) {
      throw EC_USER_ERROR(Input, "{}: record '{}' has no string field 'instruction'", where, id);
    }
    if (!out.emplace(id, ins->get<std::string>()).second) {
      throw EC_USER_ERROR(Input, "{}: duplicate id '{}'", where, id);
    }
  }
  return out;
}

std::string change_text(const ojson& change) {
  if (change.is_string()) return change.get<std::string>();
  if (change.is_object()) {
    for (const char* key : {"text", "description", "desc"}) {
      if (auto it = change.find(key); it != change.end() && it->is_string()) return it->get<std::string>();
    }
    std::vector<std::string> parts;
    for (const auto& [k, v] : change.items()) {
      parts.push_back(k + ": " + (v.is_string() ? v.get<std::string>() : v.dump()));
    }
    return join(parts, ", ");
  }
  return change.dump();
}

namespace {

void append_changes(std::string& out, const ojson& gt, const char* key, const char* title) {
  auto it = gt.find(key);
  if (it == gt.end() || !it->is_array() || it->empty()) return;
  out += fmt::format("[{}]\n", title);
  int n = 0;
  for (const auto& c : *it) out += fmt::format("({}) {}\n", ++n, change_text(c));
}

}  // namespace

std::string ground_truth_changes(const ojson& gt, const std::string& reference_instruction) {
  if (!gt.is_object()) return "[Reference Instruction]\n" + reference_instruction;
  std::string out;
  append_changes(out, gt, "primary", "Primary Changes");
  append_changes(out, gt, "secondary", "Secondary Changes");
  if (out.empty()) return "[Reference Instruction]\n" + reference_instruction;
  if (out.back() == '\n') out.pop_back();
  return out;
}

std::string ground_truth_text(const ojson& gt, const std::string& reference_instruction) {
  if (!gt.is_object()) return "[Reference Instruction]\n" + reference_instruction;
  std::string out;
  append_changes(out, gt, "primary", "Primary Changes");
  append_changes(out, gt, "secondary", "Secondary Changes");
  if (auto it = gt.find("overall"); it != gt.end() && it->is_string() && !it->get<std::string>().empty()) {
    out += "[Overall Description]\n" + it->get<std::string>() + "\n";
  }
  if (out.empty()) return "[Reference Instruction]\n" + reference_instruction;
  out.pop_back();
  return out;
}

std::string path_for_manifest(const fs::path& path, const fs::path& base_dir) {
  std::error_code err;
  fs::path abs = fs::weakly_canonical(fs::absolute(path), err);
  if (err) abs = fs::absolute(path);
  fs::path base = fs::weakly_canonical(fs::absolute(base_dir.empty() ? fs::path(".") : base_dir), err);
  if (err) base = fs::absolute(base_dir);
  fs::path rel = abs.lexically_relative(base);
  return (rel.empty() ? abs : rel).generic_string();
}

}  // namespace ec::eval
