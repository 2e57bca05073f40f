// The configuration tree. YAML files (with `base:` inheritance) and `--set key=value` overrides
// are loaded into Nodes that remember where each value came from, so that every later error can
// name the file, line and column of the offending key.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ec::config {

/// Where a value was written: a file with line and column (1-based), or a command-line override.
struct Location {
  std::string source;  ///< file path, or "--set #k"
  int line = 0;
  int column = 0;
  std::string str() const;  ///< "file:line:column" (or just the source when no line is known)
};

class Node {
 public:
  enum class Kind { Null, Scalar, Sequence, Map };

  Kind kind = Kind::Null;
  /// Scalar text exactly as written (without quotes).
  std::string scalar;
  /// True for quoted scalars: "5" is the string 5, not a number.
  bool quoted = false;
  std::vector<Node> items;                           ///< Sequence elements
  std::vector<std::pair<std::string, Node>> entries;  ///< Map entries, in file order
  Location location;      ///< where the value starts
  Location key_location;  ///< where its key is written (map entries only)

  bool is_null() const { return kind == Kind::Null; }
  bool is_map() const { return kind == Kind::Map; }
  const Node* find(std::string_view key) const;
  Node* find(std::string_view key);
  /// Returns the entry for `key`, creating a Null one if absent (map nodes only).
  Node& get_or_add(std::string_view key, const Location& key_location);
  void erase(std::string_view key);
  std::string kind_name() const;
};

/// Parses YAML text. `source` names it in error messages.
Node parse_yaml(std::string_view text, const std::string& source);

/// Loads a YAML file and resolves `base:` (a path or a list of paths, relative to the file):
/// the bases are merged in order, then this file's keys on top. Cycles are an error.
Node load_yaml_file(const std::filesystem::path& path);

/// Deep-merges `overlay` into `base`: maps merge key by key, anything else replaces.
void merge(Node& base, const Node& overlay);

/// Applies one override "a.b.c=value" (value parsed as YAML); `index` numbers it in messages.
void apply_override(Node& root, std::string_view assignment, int index);

/// Loads a config file (or an empty config when `path` is empty) and applies the overrides.
Node load_config(const std::filesystem::path& path, const std::vector<std::string>& overrides);

}  // namespace ec::config
