// Typed configuration: every component declares its options as a plain struct with defaults and a
// `visit` member listing its keys once. The same declaration drives
//   - reading from a config tree (Reader): type checks, range checks, unknown-key detection with a
//     suggestion, every error with file:line:column and the dotted key path;
//   - writing the resolved config (to YAML and JSON) and hashing it;
//   - the reference documentation (SchemaCollector -> docs/configuration.md).
//
//   struct OptimConfig {
//     using is_config_section = void;
//     double lr = 1e-4;
//     template <class V> void visit(V& v) {
//       v("lr", lr, "Peak learning rate.", config::greater_than(0.0));
//     }
//     void validate(config::Validation& v) const;  // optional cross-field checks
//   };
#pragma once

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "editcaption/config/node.h"
#include "editcaption/core/error.h"
#include "editcaption/core/strings.h"

namespace ec::config {

// ---------------------------------------------------------------------------------------------
// Field kinds

template <class E>
struct EnumEntry {
  std::string_view name;
  E value;
};

/// Declares the names of an enum's values for configs: EC_CONFIG_ENUM(Loss, {{"sigmoid", Loss::Sigmoid}, ...})
#define EC_CONFIG_ENUM(Type, ...)                                                          \
  inline std::span<const ::ec::config::EnumEntry<Type>> config_enum_entries(Type) {       \
    static constexpr ::ec::config::EnumEntry<Type> kEntries[] = __VA_ARGS__;             \
    return kEntries;                                                                       \
  }

template <class T>
concept ConfigEnum = std::is_enum_v<T> && requires(T t) { config_enum_entries(t); };

template <class T>
concept Section = requires { typename T::is_config_section; };

template <class T>
struct is_vector : std::false_type {};
template <class T>
struct is_vector<std::vector<T>> : std::true_type {};
template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class T>
struct is_string_map<std::map<std::string, T>> : std::true_type {};

template <ConfigEnum E>
std::string enum_name(E value) {
  for (const auto& e : config_enum_entries(value)) {
    if (e.value == value) return std::string(e.name);
  }
  return "?";
}

template <ConfigEnum E>
std::vector<std::string> enum_names() {
  std::vector<std::string> out;
  for (const auto& e : config_enum_entries(E{})) out.emplace_back(e.name);
  return out;
}

/// Parses an enum value from its config name; throws UserError listing the valid names.
template <ConfigEnum E>
E parse_enum(std::string_view name, std::string_view what) {
  for (const auto& e : config_enum_entries(E{})) {
    if (e.name == name) return e.value;
  }
  throw UserError(fmt::format("{}: '{}' is not one of {}", what, name, join(enum_names<E>(), ", ")));
}

// ---------------------------------------------------------------------------------------------
// Checks on values

template <class T>
struct Check {
  std::string description;                                   ///< for the docs, e.g. "in [0, 1]"
  std::function<std::optional<std::string>(const T&)> test;  ///< returns a problem, or nothing
};

template <class T>
std::string format_value(const T& v);

template <class T>
Check<T> range(T lo, T hi) {
  return {fmt::format("in [{}, {}]", format_value(lo), format_value(hi)),
          [lo, hi](const T& v) -> std::optional<std::string> {
            if (v >= lo && v <= hi) return std::nullopt;
            return fmt::format("must be in [{}, {}], got {}", format_value(lo), format_value(hi), format_value(v));
          }};
}

template <class T>
Check<T> at_least(T lo) {
  return {fmt::format(">= {}", format_value(lo)), [lo](const T& v) -> std::optional<std::string> {
            if (v >= lo) return std::nullopt;
            return fmt::format("must be >= {}, got {}", format_value(lo), format_value(v));
          }};
}

template <class T>
Check<T> greater_than(T lo) {
  return {fmt::format("> {}", format_value(lo)), [lo](const T& v) -> std::optional<std::string> {
            if (v > lo) return std::nullopt;
            return fmt::format("must be > {}, got {}", format_value(lo), format_value(v));
          }};
}

inline Check<std::string> non_empty() {
  return {"non-empty", [](const std::string& v) -> std::optional<std::string> {
            if (!v.empty()) return std::nullopt;
            return std::string("must not be empty");
          }};
}

/// Cross-field validation: a section's `validate(Validation&)` reports problems by key.
class Validation {
 public:
  template <class... A>
  void error(std::string_view key, fmt::format_string<A...> f, A&&... a) {
    problems_.push_back({std::string(key), fmt::format(f, std::forward<A>(a)...)});
  }
  struct Problem {
    std::string key;
    std::string message;
  };
  const std::vector<Problem>& problems() const { return problems_; }

 private:
  std::vector<Problem> problems_;
};

template <class T>
concept HasValidate = requires(const T& t, Validation& v) { t.validate(v); };

// ---------------------------------------------------------------------------------------------
// Scalar formatting (shared by the writer, the schema and error messages)

template <class T>
std::string format_value(const T& v) {
  if constexpr (std::is_same_v<T, bool>) {
    return v ? "true" : "false";
  } else if constexpr (std::is_integral_v<T> || std::is_floating_point_v<T>) {
    return fmt::format("{}", v);
  } else if constexpr (std::is_same_v<T, std::string>) {
    return v;
  } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
    return v.string();
  } else if constexpr (ConfigEnum<T>) {
    return enum_name(v);
  } else {
    static_assert(sizeof(T) == 0, "no scalar formatting for this type");
  }
}

template <class T>
std::string type_name() {
  if constexpr (std::is_same_v<T, bool>) {
    return "bool";
  } else if constexpr (std::is_integral_v<T>) {
    return "int";
  } else if constexpr (std::is_floating_point_v<T>) {
    return "float";
  } else if constexpr (std::is_same_v<T, std::string>) {
    return "string";
  } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
    return "path";
  } else if constexpr (ConfigEnum<T>) {
    return join(enum_names<T>(), " \\| ");
  } else if constexpr (is_vector<T>::value) {
    return "list of " + type_name<typename T::value_type>();
  } else if constexpr (is_optional<T>::value) {
    return type_name<typename T::value_type>() + " or null";
  } else if constexpr (is_string_map<T>::value) {
    return "map of string to " + type_name<typename T::mapped_type>();
  } else if constexpr (Section<T>) {
    return "section";
  } else {
    static_assert(sizeof(T) == 0, "unsupported config field type");
  }
}

// ---------------------------------------------------------------------------------------------
// Reader

/// Collected problems of one read; thrown together as one UserError (exit code 2).
class Problems {
 public:
  void add(const Location& where, std::string message) {
    items_.push_back(where.str().empty() ? message : where.str() + ": " + message);
  }
  bool empty() const { return items_.empty(); }
  std::string text() const { return join(items_, "\n"); }

 private:
  std::vector<std::string> items_;
};

class Reader {
 public:
  Reader(const Node* node, std::string prefix, Problems& problems, const std::vector<std::string>* all_paths)
      : node_(node), prefix_(std::move(prefix)), problems_(problems), all_paths_(all_paths) {}

  template <class T, class... C>
  void operator()(std::string_view key, T& field, std::string_view /*doc*/, C&&... checks) {
    known_.emplace_back(key);
    const Node* child = node_ && node_->is_map() ? node_->find(key) : nullptr;
    std::string path = join_path(key);
    if (!child) {
      // An absent section keeps its defaults but still runs its own cross-field checks.
      if constexpr (Section<T>) {
        Node empty;
        empty.location = node_ ? node_->location : Location{};
        read_section(empty, path, field);
      }
      return;
    }
    if (!read_value(*child, path, field)) return;
    (apply_check(*child, path, field, checks), ...);
  }

  /// Reports the keys of this section that no field claimed.
  void finish() {
    if (!node_ || !node_->is_map()) return;
    for (const auto& [key, value] : node_->entries) {
      if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
      std::string msg = fmt::format("unknown key '{}'", join_path(key));
      if (auto best = closest_match(key, known_)) {
        msg += fmt::format("; did you mean '{}'?", join_path(*best));
      } else if (auto elsewhere = find_elsewhere(key)) {
        msg += fmt::format("; did you mean '{}'?", *elsewhere);
      } else if (!known_.empty()) {
        msg += fmt::format(" (valid keys here: {})", join(known_, ", "));
      }
      problems_.add(value.key_location, msg);
    }
  }

  template <Section S>
  void read_section(const Node& node, const std::string& path, S& section) {
    Reader sub(&node, path, problems_, all_paths_);
    section.visit(sub);
    sub.finish();
    if constexpr (HasValidate<S>) {
      Validation v;
      section.validate(v);
      for (const auto& p : v.problems()) {
        const Node* at = node.is_map() ? node.find(p.key) : nullptr;
        Location where = at ? at->key_location : node.location;
        problems_.add(where, fmt::format("'{}' {}", path.empty() ? p.key : path + "." + p.key, p.message));
      }
    }
  }

 private:
  std::string join_path(std::string_view key) const {
    return prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
  }

  std::optional<std::string> find_elsewhere(std::string_view key) const {
    if (!all_paths_) return std::nullopt;
    for (const auto& p : *all_paths_) {
      auto dot = p.rfind('.');
      std::string_view leaf = dot == std::string::npos ? std::string_view(p) : std::string_view(p).substr(dot + 1);
      if (leaf == key) return p;
    }
    return std::nullopt;
  }

  void type_error(const Node& n, const std::string& path, std::string_view expected) {
    std::string got = n.kind == Node::Kind::Scalar ? fmt::format("'{}'", n.scalar) : n.kind_name();
    problems_.add(n.location, fmt::format("key '{}' expects {}, got {}", path, expected, got));
  }

  template <class T>
  bool read_value(const Node& n, const std::string& path, T& out) {
    if constexpr (is_optional<T>::value) {
      if (n.is_null()) {
        out.reset();
        return true;
      }
      typename T::value_type v{};
      if (out) v = *out;
      if (!read_value(n, path, v)) return false;
      out = std::move(v);
      return true;
    } else if constexpr (Section<T>) {
      if (!n.is_map() && !n.is_null()) {
        type_error(n, path, "a section (mapping)");
        return false;
      }
      read_section(n, path, out);
      return true;
    } else if constexpr (is_vector<T>::value) {
      if (n.kind != Node::Kind::Sequence) {
        type_error(n, path, "a list");
        return false;
      }
      T result;
      bool ok = true;
      for (size_t i = 0; i < n.items.size(); ++i) {
        typename T::value_type v{};
        ok = read_value(n.items[i], fmt::format("{}[{}]", path, i), v) && ok;
        result.push_back(std::move(v));
      }
      if (ok) out = std::move(result);
      return ok;
    } else if constexpr (is_string_map<T>::value) {
      if (!n.is_map()) {
        type_error(n, path, "a mapping");
        return false;
      }
      T result;
      bool ok = true;
      for (const auto& [k, v] : n.entries) {
        typename T::mapped_type value{};
        ok = read_value(v, path + "." + k, value) && ok;
        result[k] = std::move(value);
      }
      if (ok) out = std::move(result);
      return ok;
    } else {
      return read_scalar(n, path, out);
    }
  }

  template <class T>
  bool read_scalar(const Node& n, const std::string& path, T& out) {
    if (n.kind != Node::Kind::Scalar) {
      type_error(n, path, expected_name<T>());
      return false;
    }
    const std::string& s = n.scalar;
    if constexpr (std::is_same_v<T, bool>) {
      if (!n.quoted && (s == "true" || s == "True" || s == "TRUE")) {
        out = true;
        return true;
      }
      if (!n.quoted && (s == "false" || s == "False" || s == "FALSE")) {
        out = false;
        return true;
      }
      type_error(n, path, "true or false");
      return false;
    } else if constexpr (std::is_integral_v<T>) {
      std::string digits;
      for (char c : s) {
        if (c != '_') digits += c;
      }
      T v{};
      const char* b = digits.data();
      const char* e = b + digits.size();
      if (b != e && *b == '+') ++b;
      auto [ptr, ec] = std::from_chars(b, e, v);
      if (ec == std::errc() && ptr == e && b != e) {
        out = v;
        return true;
      }
      // Accept integral values written in float notation (1e6, 2.0): configs often do.
      double d = 0;
      auto [p2, ec2] = std::from_chars(b, e, d);
      if (ec2 == std::errc() && p2 == e && std::floor(d) == d && std::abs(d) < 9.0e18) {
        out = static_cast<T>(d);
        return true;
      }
      type_error(n, path, "an integer");
      return false;
    } else if constexpr (std::is_floating_point_v<T>) {
      std::string text = s;
      if (text == ".inf" || text == "inf") text = "inf";
      const char* b = text.data();
      const char* e = b + text.size();
      if (b != e && *b == '+') ++b;
      double v = 0;
      auto [ptr, ec] = std::from_chars(b, e, v);
      if (ec == std::errc() && ptr == e && b != e) {
        out = static_cast<T>(v);
        return true;
      }
      type_error(n, path, "a number");
      return false;
    } else if constexpr (std::is_same_v<T, std::string>) {
      out = s;
      return true;
    } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
      out = s;
      return true;
    } else if constexpr (ConfigEnum<T>) {
      for (const auto& e : config_enum_entries(T{})) {
        if (e.name == s) {
          out = e.value;
          return true;
        }
      }
      std::string msg = fmt::format("key '{}' expects one of {}, got '{}'", path, join(enum_names<T>(), ", "), s);
      if (auto best = closest_match(s, enum_names<T>())) msg += fmt::format("; did you mean '{}'?", *best);
      problems_.add(n.location, msg);
      return false;
    } else {
      static_assert(sizeof(T) == 0, "unsupported config field type");
    }
  }

  template <class T>
  static std::string expected_name() {
    if constexpr (std::is_same_v<T, bool>) return "true or false";
    else if constexpr (std::is_integral_v<T>) return "an integer";
    else if constexpr (std::is_floating_point_v<T>) return "a number";
    else if constexpr (ConfigEnum<T>) return "one of " + join(enum_names<T>(), ", ");
    else return "a string";
  }

  template <class T, class C>
  void apply_check(const Node& n, const std::string& path, const T& value, const C& check) {
    if constexpr (is_optional<T>::value) {
      if (value) apply_check(n, path, *value, check);
    } else if constexpr (is_vector<T>::value && !std::is_same_v<std::decay_t<C>, Check<T>>) {
      for (const auto& v : value) apply_check(n, path, v, check);
    } else {
      if (auto problem = check.test(value)) {
        problems_.add(n.location, fmt::format("key '{}' {}", path, *problem));
      }
    }
  }

  const Node* node_;
  std::string prefix_;
  Problems& problems_;
  const std::vector<std::string>* all_paths_;
  std::vector<std::string> known_;
};

// ---------------------------------------------------------------------------------------------
// Schema (documentation) and key listing

struct SchemaRow {
  std::string path;
  std::string type;
  std::string default_value;
  std::string doc;
  std::string constraints;
};

class SchemaCollector {
 public:
  explicit SchemaCollector(std::string prefix = "") : prefix_(std::move(prefix)) {}

  template <class T, class... C>
  void operator()(std::string_view key, T& field, std::string_view doc, C&&... checks) {
    std::string path = prefix_.empty() ? std::string(key) : prefix_ + "." + std::string(key);
    if constexpr (Section<T>) {
      rows_.push_back({path, "section", "", std::string(doc), ""});
      SchemaCollector sub(path);
      field.visit(sub);
      rows_.insert(rows_.end(), sub.rows_.begin(), sub.rows_.end());
    } else {
      std::vector<std::string> cons;
      (cons.push_back(checks.description), ...);
      rows_.push_back({path, type_name<T>(), render_default(field), std::string(doc), join(cons, "; ")});
    }
  }

  const std::vector<SchemaRow>& rows() const { return rows_; }

  template <class T>
  static std::string render_default(const T& v) {
    if constexpr (is_optional<T>::value) {
      return v ? render_default(*v) : "null";
    } else if constexpr (is_vector<T>::value) {
      std::vector<std::string> parts;
      for (const auto& x : v) parts.push_back(render_default(x));
      return "[" + join(parts, ", ") + "]";
    } else if constexpr (is_string_map<T>::value) {
      std::vector<std::string> parts;
      for (const auto& [k, x] : v) parts.push_back(k + ": " + render_default(x));
      return "{" + join(parts, ", ") + "}";
    } else {
      std::string s = format_value(v);
      if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::filesystem::path>) {
        return "\"" + s + "\"";
      }
      return s;
    }
  }

 private:
  std::string prefix_;
  std::vector<SchemaRow> rows_;
};

// ---------------------------------------------------------------------------------------------
// JSON writer (the canonical form: YAML output, hashes and manifests derive from it)

class JsonWriter {
 public:
  template <class T, class... C>
  void operator()(std::string_view key, T& field, std::string_view, C&&...) {
    json_[std::string(key)] = to_json(field);
  }
  nlohmann::ordered_json take() { return std::move(json_); }

  template <class T>
  static nlohmann::ordered_json to_json(const T& v) {
    if constexpr (is_optional<T>::value) {
      return v ? to_json(*v) : nlohmann::ordered_json(nullptr);
    } else if constexpr (Section<T>) {
      JsonWriter w;
      const_cast<T&>(v).visit(w);
      auto j = w.take();
      return j.is_null() ? nlohmann::ordered_json::object() : j;
    } else if constexpr (is_vector<T>::value) {
      auto arr = nlohmann::ordered_json::array();
      for (const auto& x : v) arr.push_back(to_json(x));
      return arr;
    } else if constexpr (is_string_map<T>::value) {
      auto obj = nlohmann::ordered_json::object();
      for (const auto& [k, x] : v) obj[k] = to_json(x);
      return obj;
    } else if constexpr (std::is_same_v<T, std::filesystem::path>) {
      return v.string();
    } else if constexpr (ConfigEnum<T>) {
      return enum_name(v);
    } else {
      return v;
    }
  }

 private:
  nlohmann::ordered_json json_;
};

// ---------------------------------------------------------------------------------------------
// Entry points

template <Section S>
std::vector<std::string> all_key_paths() {
  S probe{};
  SchemaCollector c;
  probe.visit(c);
  std::vector<std::string> out;
  for (const auto& r : c.rows()) out.push_back(r.path);
  return out;
}

/// Reads a root section from a config tree. Every problem (unknown keys, wrong types, ranges,
/// cross-field checks) is collected and thrown as one UserError with ExitCode::Usage.
template <Section S>
S read(const Node& root) {
  S out{};
  Problems problems;
  auto paths = all_key_paths<S>();
  Reader reader(&root, "", problems, &paths);
  reader.read_section(root, "", out);
  if (!problems.empty()) throw UserError("invalid configuration:\n" + problems.text(), ExitCode::Usage);
  return out;
}

template <Section S>
nlohmann::ordered_json to_json(const S& s) {
  return JsonWriter::to_json(s);
}

template <Section S>
std::vector<SchemaRow> schema() {
  S probe{};
  SchemaCollector c;
  probe.visit(c);
  return c.rows();
}

/// Renders JSON (from to_json) as block-style YAML, keys in declaration order.
std::string json_to_yaml(const nlohmann::ordered_json& j);
/// SHA-256 of the canonical JSON dump: the config's identity.
std::string config_hash(const nlohmann::ordered_json& j);
/// Renders a schema as the markdown reference (docs/configuration.md).
std::string schema_markdown(const std::vector<SchemaRow>& rows, std::string_view title, std::string_view intro);

}  // namespace ec::config
