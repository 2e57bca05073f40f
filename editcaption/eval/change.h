// Structured ground truth: typed edit changes (the `gt` field of manifest records) and the same
// change type for what the instruction parser reads out of an instruction, so that the scoring
// rules compare like with like. The JSON schema is documented in docs/data.md ("Synthetic data
// and structured ground truth").
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ec::eval {

/// What a change does. Attribute edits (colour, pattern, size, text, a dress's length...) are
/// all `Modify` with the attribute named in `Change::to`; the camera and global tone have their
/// own actions because the paper's failure modes single them out.
enum class Action { Add, Remove, Replace, Modify, Move, Rotate, Swap, Zoom, Pan, Tone };

const char* action_name(Action action);
std::optional<Action> parse_action(std::string_view name);

/// How an instruction refers to an object. Ground truth objects are always Named.
enum class Reference {
  Named,       ///< "the dark red circle"
  Generic,     ///< a hypernym: "the object", "that piece of clothing"
  Collective,  ///< "all the objects"
  Pronoun,     ///< "it", "them"
};

/// Attribute name -> canonical value ("color" -> "dark red", "position" -> "top left").
using Values = std::map<std::string, std::string>;

/// An object: its noun ("circle", "dress", "camera", "image", "background") and attributes.
struct ObjectDesc {
  std::string noun;
  Values attrs;
  Reference ref = Reference::Named;

  std::string get(const std::string& key) const;
  bool has(const std::string& key) const { return attrs.count(key) > 0; }
  bool operator==(const ObjectDesc& o) const { return noun == o.noun && attrs == o.attrs; }
};

struct Change {
  Action action = Action::Modify;
  /// The subject (for Add: the object added). Zoom/Pan use noun "camera", Tone uses "image".
  ObjectDesc object;
  /// Modify: new attribute values. Move: {"position": destination}.
  Values to;
  /// Replace: the new object. Swap: the other object.
  std::optional<ObjectDesc> with;
  /// move/pan: left|right|up|down; zoom: in|out; rotate: clockwise|counterclockwise;
  /// tone: brighter|darker|warmer|cooler; modify of an ordered attribute: increase|decrease.
  std::string direction;
  /// Rotate: degrees (0 when not stated).
  int angle = 0;

  // Filled by the instruction parser only.
  /// Attributes the instruction names without a value ("change the dress style").
  std::vector<std::string> unspecified;
  /// The instruction used a vague verb (adjust, modify...) for this change.
  bool vague_verb = false;
  /// The clause this change was read from.
  std::string clause;
};

/// The `gt` of a manifest record: the paper's primary and secondary changes and overall
/// description, plus the objects visible in both images and left alone (our extension: it lets
/// the scorer tell "an error on an unchanged element" from a fabricated one, and detect
/// ambiguous references).
struct GroundTruth {
  std::vector<Change> primary;
  std::vector<Change> secondary;
  std::vector<ObjectDesc> unchanged;
  std::string overall;
};

nlohmann::ordered_json to_json(const ObjectDesc& object);
nlohmann::ordered_json to_json(const Change& change);
nlohmann::ordered_json to_json(const GroundTruth& gt);

/// Parse ground truth. Problems throw UserError(Input) whose message starts with `where`
/// (e.g. "test.jsonl:12 (id synth-test-000011)") and names the offending field.
ObjectDesc object_from_json(const nlohmann::json& j, const std::string& where);
Change change_from_json(const nlohmann::json& j, const std::string& where);
GroundTruth gt_from_json(const nlohmann::json& j, const std::string& where);

/// The direction opposite to `direction` ("" when it has none).
std::string opposite_direction(std::string_view direction);

}  // namespace ec::eval
