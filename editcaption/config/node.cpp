#include "editcaption/config/node.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/strings.h"

namespace ec::config {
namespace fs = std::filesystem;

std::string Location::str() const {
  if (line <= 0) return source;
  return fmt::format("{}:{}:{}", source, line, column);
}

const Node* Node::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

Node* Node::find(std::string_view key) {
  for (auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

Node& Node::get_or_add(std::string_view key, const Location& where) {
  if (kind == Kind::Null) kind = Kind::Map;
  EC_CHECK(kind == Kind::Map, "get_or_add on a non-map node");
  if (Node* n = find(key)) return *n;
  Node child;
  child.location = where;
  child.key_location = where;
  entries.emplace_back(std::string(key), std::move(child));
  return entries.back().second;
}

void Node::erase(std::string_view key) {
  entries.erase(std::remove_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; }),
                entries.end());
}

std::string Node::kind_name() const {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Scalar: return "a scalar";
    case Kind::Sequence: return "a list";
    case Kind::Map: return "a mapping";
  }
  return "?";
}

namespace {

Location location_of(const YAML::Mark& mark, const std::string& source) {
  // yaml-cpp marks are 0-based; people count from 1.
  return Location{source, mark.line + 1, mark.column + 1};
}

Node convert(const YAML::Node& y, const std::string& source) {
  Node n;
  n.location = location_of(y.Mark(), source);
  switch (y.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      n.kind = Node::Kind::Null;
      break;
    case YAML::NodeType::Scalar:
      n.kind = Node::Kind::Scalar;
      n.scalar = y.Scalar();
      // yaml-cpp tags non-plain (quoted) scalars with "!".
      n.quoted = y.Tag() == "!";
      break;
    case YAML::NodeType::Sequence:
      n.kind = Node::Kind::Sequence;
      for (const auto& item : y) n.items.push_back(convert(item, source));
      break;
    case YAML::NodeType::Map: {
      n.kind = Node::Kind::Map;
      std::set<std::string> seen;
      for (const auto& kv : y) {
        Location key_loc = location_of(kv.first.Mark(), source);
        if (!kv.first.IsScalar()) {
          throw EC_USER_ERROR(Usage, "{}: configuration keys must be plain names", key_loc.str());
        }
        std::string key = kv.first.Scalar();
        if (!seen.insert(key).second) {
          throw EC_USER_ERROR(Usage, "{}: duplicate key '{}'", key_loc.str(), key);
        }
        Node child = convert(kv.second, source);
        child.key_location = key_loc;
        n.entries.emplace_back(std::move(key), std::move(child));
      }
      break;
    }
  }
  return n;
}

Node load_with_bases(const fs::path& path, std::vector<fs::path>& stack) {
  fs::path canonical = fs::weakly_canonical(path);
  if (std::find(stack.begin(), stack.end(), canonical) != stack.end()) {
    std::vector<std::string> chain;
    for (const auto& p : stack) chain.push_back(p.string());
    chain.push_back(canonical.string());
    throw EC_USER_ERROR(Usage, "config inheritance cycle: {}", join(chain, " -> "));
  }
  if (!fs::exists(path)) throw EC_USER_ERROR(Usage, "config file '{}' does not exist", path.string());
  stack.push_back(canonical);
  Node self = parse_yaml(read_file(path), path.string());
  if (self.kind == Node::Kind::Null) {
    self.kind = Node::Kind::Map;
    self.location = Location{path.string(), 1, 1};
  }
  if (!self.is_map()) {
    throw EC_USER_ERROR(Usage, "{}: a config file must be a mapping of keys, got {}", self.location.str(),
                        self.kind_name());
  }
  Node result;
  result.kind = Node::Kind::Map;
  result.location = self.location;
  if (const Node* base = self.find("base")) {
    std::vector<const Node*> bases;
    if (base->kind == Node::Kind::Scalar) {
      bases.push_back(base);
    } else if (base->kind == Node::Kind::Sequence) {
      for (const auto& item : base->items) bases.push_back(&item);
    } else {
      throw EC_USER_ERROR(Usage, "{}: 'base' must be a path or a list of paths", base->location.str());
    }
    for (const Node* b : bases) {
      if (b->kind != Node::Kind::Scalar) {
        throw EC_USER_ERROR(Usage, "{}: 'base' entries must be paths", b->location.str());
      }
      fs::path base_path = fs::path(b->scalar).is_absolute() ? fs::path(b->scalar) : path.parent_path() / b->scalar;
      if (!fs::exists(base_path)) {
        throw EC_USER_ERROR(Usage, "{}: base config '{}' does not exist", b->location.str(), base_path.string());
      }
      merge(result, load_with_bases(base_path, stack));
    }
    self.erase("base");
  }
  merge(result, self);
  stack.pop_back();
  return result;
}

}  // namespace

Node parse_yaml(std::string_view text, const std::string& source) {
  try {
    return convert(YAML::Load(std::string(text)), source);
  } catch (const YAML::Exception& e) {
    throw EC_USER_ERROR(Usage, "{}: invalid YAML: {}", location_of(e.mark, source).str(), e.msg);
  }
}

Node load_yaml_file(const fs::path& path) {
  std::vector<fs::path> stack;
  return load_with_bases(path, stack);
}

void merge(Node& base, const Node& overlay) {
  // An empty section in a file ("trainer:" with every key commented out) keeps what the base set.
  if (base.is_map() && overlay.is_null() && overlay.location.line > 0) return;
  if (base.is_map() && overlay.is_map()) {
    for (const auto& [key, value] : overlay.entries) {
      if (Node* existing = base.find(key)) {
        merge(*existing, value);
        existing->key_location = value.key_location;
      } else {
        base.entries.emplace_back(key, value);
      }
    }
    return;
  }
  base = overlay;
}

void apply_override(Node& root, std::string_view assignment, int index) {
  Location where{fmt::format("--set #{} '{}'", index, assignment), 0, 0};
  size_t eq = assignment.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    throw EC_USER_ERROR(Usage, "{}: expected key.path=value", where.str());
  }
  std::string key_path(trim(assignment.substr(0, eq)));
  std::string value_text(assignment.substr(eq + 1));
  Node value = parse_yaml(value_text, where.source);
  // Overrides have no line numbers: every node points at the --set argument.
  std::vector<Node*> todo{&value};
  while (!todo.empty()) {
    Node* n = todo.back();
    todo.pop_back();
    n->location = where;
    n->key_location = where;
    for (auto& item : n->items) todo.push_back(&item);
    for (auto& [k, v] : n->entries) todo.push_back(&v);
  }
  if (value.kind == Node::Kind::Null && !value_text.empty() && trim(value_text) != "null" && trim(value_text) != "~") {
    value.kind = Node::Kind::Scalar;
    value.scalar = value_text;
  }
  if (root.kind == Node::Kind::Null) root.kind = Node::Kind::Map;
  Node* cur = &root;
  auto parts = split(key_path, '.');
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i].empty()) throw EC_USER_ERROR(Usage, "{}: empty component in key '{}'", where.str(), key_path);
    if (!cur->is_map() && !cur->is_null()) {
      throw EC_USER_ERROR(Usage, "{}: '{}' is not a section", where.str(), join({parts.begin(), parts.begin() + i}, "."));
    }
    Node& child = cur->get_or_add(parts[i], where);
    if (i + 1 == parts.size()) {
      merge(child, value);
      child.key_location = where;
    }
    cur = &child;
  }
}

Node load_config(const fs::path& path, const std::vector<std::string>& overrides) {
  Node root;
  root.kind = Node::Kind::Map;
  if (!path.empty()) root = load_yaml_file(path);
  int index = 1;
  for (const auto& o : overrides) apply_override(root, o, index++);
  return root;
}

}  // namespace ec::config
