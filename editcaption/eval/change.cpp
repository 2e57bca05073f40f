#include "editcaption/eval/change.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "editcaption/core/check.h"

namespace ec::eval {
namespace {

constexpr std::array<std::pair<Action, const char*>, 10> kActions = {{
    {Action::Add, "add"},
    {Action::Remove, "remove"},
    {Action::Replace, "replace"},
    {Action::Modify, "modify"},
    {Action::Move, "move"},
    {Action::Rotate, "rotate"},
    {Action::Swap, "swap"},
    {Action::Zoom, "zoom"},
    {Action::Pan, "pan"},
    {Action::Tone, "tone"},
}};

constexpr std::array<std::pair<const char*, const char*>, 10> kOpposites = {{
    {"left", "right"},
    {"up", "down"},
    {"in", "out"},
    {"clockwise", "counterclockwise"},
    {"brighter", "darker"},
    {"warmer", "cooler"},
    {"increase", "decrease"},
    {"add", "remove"},
    {"larger", "smaller"},
    {"higher", "lower"},
}};

[[noreturn]] void bad(const std::string& where, const std::string& what) {
  throw EC_USER_ERROR(Input, "{}: gt: {}", where, what);
}

Values values_from_json(const nlohmann::json& j, const std::string& where, const std::string& field) {
  if (!j.is_object()) bad(where, fmt::format("'{}' must be an object of attribute: value", field));
  Values out;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) bad(where, fmt::format("'{}.{}' must be a string", field, k));
    out[k] = v.get<std::string>();
  }
  return out;
}

std::string string_field(const nlohmann::json& j, const char* key, const std::string& where,
                         const std::string& field) {
  auto it = j.find(key);
  if (it == j.end()) return "";
  if (!it->is_string()) bad(where, fmt::format("'{}.{}' must be a string", field, key));
  return it->get<std::string>();
}

}  // namespace

const char* action_name(Action action) {
  for (const auto& [a, name] : kActions) {
    if (a == action) return name;
  }
  return "?";
}

std::optional<Action> parse_action(std::string_view name) {
  for (const auto& [a, n] : kActions) {
    if (name == n) return a;
  }
  return std::nullopt;
}

std::string ObjectDesc::get(const std::string& key) const {
  auto it = attrs.find(key);
  return it == attrs.end() ? std::string() : it->second;
}

std::string opposite_direction(std::string_view direction) {
  for (const auto& [a, b] : kOpposites) {
    if (direction == a) return b;
    if (direction == b) return a;
  }
  return "";
}

nlohmann::ordered_json to_json(const ObjectDesc& object) {
  nlohmann::ordered_json j;
  j["noun"] = object.noun;
  for (const auto& [k, v] : object.attrs) j[k] = v;
  return j;
}

nlohmann::ordered_json to_json(const Change& change) {
  nlohmann::ordered_json j;
  j["action"] = action_name(change.action);
  j["object"] = to_json(change.object);
  if (change.with) j["with"] = to_json(*change.with);
  if (!change.to.empty()) {
    nlohmann::ordered_json to = nlohmann::ordered_json::object();
    for (const auto& [k, v] : change.to) to[k] = v;
    j["to"] = std::move(to);
  }
  if (!change.direction.empty()) j["direction"] = change.direction;
  if (change.angle != 0) j["angle"] = change.angle;
  return j;
}

nlohmann::ordered_json to_json(const GroundTruth& gt) {
  nlohmann::ordered_json j;
  j["primary"] = nlohmann::ordered_json::array();
  for (const auto& c : gt.primary) j["primary"].push_back(to_json(c));
  j["secondary"] = nlohmann::ordered_json::array();
  for (const auto& c : gt.secondary) j["secondary"].push_back(to_json(c));
  if (!gt.unchanged.empty()) {
    j["unchanged"] = nlohmann::ordered_json::array();
    for (const auto& o : gt.unchanged) j["unchanged"].push_back(to_json(o));
  }
  j["overall"] = gt.overall;
  return j;
}

ObjectDesc object_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "an object must be a JSON object with a 'noun'");
  ObjectDesc o;
  for (const auto& [k, v] : j.items()) {
    if (!v.is_string()) bad(where, fmt::format("object attribute '{}' must be a string", k));
    if (k == "noun") {
      o.noun = v.get<std::string>();
    } else {
      o.attrs[k] = v.get<std::string>();
    }
  }
  if (o.noun.empty()) bad(where, "an object needs a non-empty 'noun'");
  return o;
}

Change change_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "a change must be a JSON object");
  Change c;
  std::string action = string_field(j, "action", where, "change");
  if (action.empty()) bad(where, "a change needs an 'action'");
  auto a = parse_action(action);
  if (!a) {
    bad(where, fmt::format("unknown action '{}' (add, remove, replace, modify, move, rotate, swap, zoom, pan, tone)",
                           action));
  }
  c.action = *a;
  if (auto it = j.find("object"); it != j.end()) {
    c.object = object_from_json(*it, where);
  } else if (c.action == Action::Zoom || c.action == Action::Pan) {
    c.object.noun = "camera";
  } else if (c.action == Action::Tone) {
    c.object.noun = "image";
  } else {
    bad(where, fmt::format("a '{}' change needs an 'object'", action));
  }
  if (auto it = j.find("with"); it != j.end()) c.with = object_from_json(*it, where);
  if (auto it = j.find("to"); it != j.end()) c.to = values_from_json(*it, where, "to");
  c.direction = string_field(j, "direction", where, "change");
  if (auto it = j.find("angle"); it != j.end()) {
    if (!it->is_number_integer()) bad(where, "'angle' must be an integer (degrees)");
    c.angle = it->get<int>();
  }
  for (const auto& [k, v] : j.items()) {
    if (k != "action" && k != "object" && k != "with" && k != "to" && k != "direction" && k != "angle") {
      bad(where, fmt::format("unknown change field '{}'", k));
    }
  }
  switch (c.action) {
    case Action::Replace:
    case Action::Swap:
      if (!c.with) bad(where, fmt::format("a '{}' change needs 'with'", action));
      break;
    case Action::Modify:
      if (c.to.empty() && c.direction.empty()) bad(where, "a 'modify' change needs 'to' (the new attribute values)");
      break;
    case Action::Move:
    case Action::Rotate:
    case Action::Zoom:
    case Action::Pan:
    case Action::Tone:
      if (c.direction.empty()) bad(where, fmt::format("a '{}' change needs a 'direction'", action));
      break;
    default:
      break;
  }
  return c;
}

GroundTruth gt_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) bad(where, "must be an object {primary, secondary, overall}");
  GroundTruth gt;
  auto list = [&](const char* key, std::vector<Change>& out) {
    auto it = j.find(key);
    if (it == j.end()) return;
    if (!it->is_array()) bad(where, fmt::format("'{}' must be a list of changes", key));
    for (size_t i = 0; i < it->size(); ++i) {
      out.push_back(change_from_json((*it)[i], fmt::format("{} {}[{}]", where, key, i)));
    }
  };
  list("primary", gt.primary);
  list("secondary", gt.secondary);
  if (auto it = j.find("unchanged"); it != j.end()) {
    if (!it->is_array()) bad(where, "'unchanged' must be a list of objects");
    for (size_t i = 0; i < it->size(); ++i) {
      gt.unchanged.push_back(object_from_json((*it)[i], fmt::format("{} unchanged[{}]", where, i)));
    }
  }
  if (auto it = j.find("overall"); it != j.end()) {
    if (!it->is_string()) bad(where, "'overall' must be a string");
    gt.overall = it->get<std::string>();
  }
  return gt;
}

}  // namespace ec::eval
