#include "editcaption/eval/report_inputs.h"

#include <cmath>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/eval/records.h"

namespace ec::eval {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

RunMetrics read_run_metrics(const fs::path& dir) {
  RunMetrics m;
  m.dir = dir;
  fs::path abs = fs::absolute(dir).lexically_normal();
  m.name = abs.has_filename() ? abs.filename().string() : abs.parent_path().filename().string();
  fs::path file = dir / "metrics.jsonl";
  EC_USER_CHECK(fs::exists(file), Input, "{}: no metrics.jsonl in this run directory", dir.string());
  for (auto& l : read_jsonl(file)) {
    if (!l.error.empty()) {
      ++m.bad_lines;
      continue;
    }
    auto step = l.value.find("step");
    if (step == l.value.end() || !step->is_number()) continue;
    if (auto rank = l.value.find("rank"); rank != l.value.end() && rank->is_number() && rank->get<int>() != 0) continue;
    m.records.push_back(std::move(l.value));
  }
  return m;
}

namespace {

double number_at(const ojson& obj, const std::string& key, const std::string& where) {
  const ojson& v = obj.at(key);
  EC_USER_CHECK(v.is_number() && !v.is_boolean() && std::isfinite(v.get<double>()), Input,
                "{}: '{}' must be a number, got {}", where, key, v.dump());
  return v.get<double>();
}

std::string string_at(const ojson& obj, const std::string& key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return "";
  EC_USER_CHECK(it->is_string(), Input, "{}: '{}' must be a string, got {}", where, key, it->dump());
  return it->get<std::string>();
}

void check_rate(double v, const std::string& where, const std::string& key) {
  EC_USER_CHECK(v >= 0 && v <= 1, Input, "{}: '{}' = {} is not a fraction in [0, 1] (write 0.25 for 25%)", where, key, v);
}

}  // namespace

Ablation read_ablation(const fs::path& path) {
  Ablation a;
  a.path = path;
  std::string file = path.string();
  ojson j;
  try {
    j = ojson::parse(read_file(path));
  } catch (const ojson::parse_error& e) {
    throw EC_USER_ERROR(Input, "{}: malformed JSON ({})", file, e.what());
  }
  EC_USER_CHECK(j.is_object(), Input, "{}: expected a JSON object", file);
  std::string schema = string_at(j, "schema", file);
  EC_USER_CHECK(schema == kAblationSchema, Input, "{}: 'schema' must be \"{}\", got \"{}\"", file, kAblationSchema, schema);
  fs::path dir = path.parent_path();
  auto rel = [&](const std::string& p) { return p.empty() ? fs::path() : fs::path(p).is_absolute() ? fs::path(p) : dir / p; };
  a.title = string_at(j, "title", file);
  a.model = string_at(j, "model", file);
  a.manifest = rel(string_at(j, "manifest", file));
  EC_USER_CHECK(j.contains("variants") && j["variants"].is_array(), Input, "{}: 'variants' must be a list", file);
  for (size_t i = 0; i < j["variants"].size(); ++i) {
    const ojson& v = j["variants"][i];
    std::string where = fmt::format("{}: variants[{}]", file, i);
    EC_USER_CHECK(v.is_object(), Input, "{}: expected an object", where);
    AblationVariant x;
    x.name = string_at(v, "name", where);
    EC_USER_CHECK(!x.name.empty(), Input, "{}: 'name' is required", where);
    where = fmt::format("{} ('{}')", where, x.name);
    x.test_set = string_at(v, "test_set", where);
    x.run = string_at(v, "run", where);
    if (v.contains("samples")) x.samples = number_at(v, "samples", where);
    for (const auto& key : kScoreColumns) {
      if (!v.contains(key) || v[key].is_null()) continue;
      double s = number_at(v, key, where);
      EC_USER_CHECK(s >= 0 && s <= 5, Input, "{}: '{}' = {} is outside the 0-5 scale", where, key, s);
      x.values[key] = s;
    }
    for (const auto& key : kRateColumns) {
      if (!v.contains(key) || v[key].is_null()) continue;
      double r = number_at(v, key, where);
      check_rate(r, where, key);
      x.values[key] = r;
    }
    if (v.contains("failure_modes") && !v["failure_modes"].is_null()) {
      EC_USER_CHECK(v["failure_modes"].is_object(), Input, "{}: 'failure_modes' must be an object of rates", where);
      for (const auto& [mode, rate] : v["failure_modes"].items()) {
        double r = number_at(v["failure_modes"], mode, where + ".failure_modes");
        check_rate(r, where + ".failure_modes", mode);
        x.failure_modes.emplace_back(mode, r);
      }
    }
    x.predictions = rel(string_at(v, "predictions", where));
    x.per_sample = rel(string_at(v, "per_sample", where));
    a.variants.push_back(std::move(x));
  }
  EC_USER_CHECK(!a.variants.empty(), Input, "{}: 'variants' is empty", file);
  return a;
}

}  // namespace ec::eval
