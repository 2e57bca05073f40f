#include <yaml-cpp/yaml.h>

#include "editcaption/config/visitor.h"
#include "editcaption/core/hash.h"

namespace ec::config {
namespace {

void emit(YAML::Emitter& out, const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::json::value_t::object:
      out << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        out << YAML::Key << k << YAML::Value;
        emit(out, v);
      }
      out << YAML::EndMap;
      break;
    case nlohmann::json::value_t::array:
      // Short lists of scalars read best inline ([0.9, 0.999]).
      if (std::all_of(j.begin(), j.end(), [](const auto& x) { return x.is_primitive(); })) out << YAML::Flow;
      out << YAML::BeginSeq;
      for (const auto& v : j) emit(out, v);
      out << YAML::EndSeq;
      break;
    case nlohmann::json::value_t::null:
      out << YAML::Null;
      break;
    case nlohmann::json::value_t::boolean:
      out << (j.get<bool>() ? "true" : "false");
      break;
    case nlohmann::json::value_t::number_integer:
      out << j.get<int64_t>();
      break;
    case nlohmann::json::value_t::number_unsigned:
      out << j.get<uint64_t>();
      break;
    case nlohmann::json::value_t::number_float:
      // Shortest text that reads back to the same double.
      out << fmt::format("{}", j.get<double>());
      break;
    case nlohmann::json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      // Quote strings that YAML would otherwise read as another type.
      bool ambiguous = s.empty() || s == "true" || s == "false" || s == "null" || s == "~" ||
                       s.find_first_not_of("0123456789.eE+-_") == std::string::npos;
      if (ambiguous) out << YAML::DoubleQuoted;
      out << s;
      break;
    }
    default:
      out << j.dump();
  }
}

}  // namespace

std::string json_to_yaml(const nlohmann::ordered_json& j) {
  YAML::Emitter out;
  out.SetIndent(2);
  emit(out, j);
  std::string s = out.c_str();
  if (!s.empty() && s.back() != '\n') s += '\n';
  return s;
}

std::string config_hash(const nlohmann::ordered_json& j) { return sha256_hex(j.dump()); }

std::string schema_markdown(const std::vector<SchemaRow>& rows, std::string_view title, std::string_view intro) {
  std::string out = fmt::format("# {}\n\n{}\n", title, intro);
  auto escape = [](std::string s) {
    std::string r;
    for (char c : s) {
      if (c == '|') r += "\\|";
      else if (c == '\n') r += ' ';
      else r += c;
    }
    return r;
  };
  bool table_open = false;
  for (const auto& row : rows) {
    if (row.type == "section") {
      out += fmt::format("\n## `{}`\n\n{}\n", row.path, row.doc);
      table_open = false;
      continue;
    }
    if (!table_open) {
      out += "\n| key | type | default | constraints | meaning |\n|---|---|---|---|---|\n";
      table_open = true;
    }
    // type_name() already escapes its own '|' separators for markdown.
    out += fmt::format("| `{}` | {} | `{}` | {} | {} |\n", row.path, row.type, escape(row.default_value),
                       escape(row.constraints), escape(row.doc));
  }
  return out;
}

}  // namespace ec::config
