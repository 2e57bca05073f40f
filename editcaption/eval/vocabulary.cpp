#include "editcaption/eval/vocabulary.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"
#include "editcaption/eval/synthetic_words.h"

namespace ec::eval {
namespace {

// Irregular forms of the verbs the vocabularies use.
const std::map<std::string, std::vector<std::string>>& irregular_verbs() {
  static const std::map<std::string, std::vector<std::string>> kIrregular = {
      {"make", {"made"}},         {"become", {"became"}},        {"spin", {"spun"}},
      {"put", {"put"}},           {"set", {"set"}},              {"draw", {"drew", "drawn"}},
      {"shrink", {"shrank", "shrunk"}}, {"grow", {"grew", "grown"}}, {"take", {"took", "taken"}},
  };
  return kIrregular;
}

// Short verbs that double their final consonant (pan -> panned, swap -> swapped).
bool doubles_final_consonant(std::string_view w) {
  static const std::set<std::string, std::less<>> kDouble = {"pan", "swap", "drag", "spin", "set", "put",
                                                             "slip", "trim", "flip", "stop"};
  return kDouble.count(w) > 0;
}

void add_verbs(Vocabulary& v, std::initializer_list<const char*> words, Action action, bool vague = false,
               const std::string& attribute = "", const std::string& direction = "") {
  for (const char* w : words) {
    for (auto& form : inflect_verb(w)) v.verbs.push_back({form, action, attribute, direction, vague});
  }
}

AttributeDef attribute_def(std::string name, std::vector<std::string> words, std::vector<std::string> facets = {},
                           std::vector<std::string> core = {}) {
  AttributeDef a;
  a.name = std::move(name);
  a.words = std::move(words);
  a.facets = std::move(facets);
  a.core_facets = std::move(core);
  return a;
}

Facets facets_of(const AttributeDef* def, std::string_view attribute, std::string_view value) {
  std::string key = def && !def->facets.empty() ? def->facets.back() : std::string(attribute);
  return {{key, std::string(value)}};
}

}  // namespace

const char* term_kind_name(TermKind kind) {
  switch (kind) {
    case TermKind::VagueVerb: return "vague_verb";
    case TermKind::VagueDegree: return "vague_degree";
    case TermKind::VagueReference: return "vague_reference";
    case TermKind::Subjective: return "subjective";
    case TermKind::Leak: return "target_leak";
  }
  return "?";
}

std::vector<std::string> inflect_verb(std::string_view word) {
  std::string w(word);
  std::vector<std::string> out = {w};
  // Multi-word verbs ("scale up") inflect their first word.
  auto space = w.find(' ');
  if (space != std::string::npos) {
    std::string head = w.substr(0, space), tail = w.substr(space);
    for (auto& f : inflect_verb(head)) {
      if (f != head) out.push_back(f + tail);
    }
    return out;
  }
  auto ends = [&](std::string_view s) { return w.size() >= s.size() && w.compare(w.size() - s.size(), s.size(), s) == 0; };
  if (ends("s") || ends("x") || ends("ch") || ends("sh") || ends("z")) {
    out.push_back(w + "es");
  } else {
    out.push_back(w + "s");
  }
  std::string stem = w;
  if (doubles_final_consonant(w)) stem = w + w.back();
  if (ends("e")) {
    out.push_back(w + "d");
    out.push_back(w.substr(0, w.size() - 1) + "ing");
  } else {
    out.push_back(stem + "ed");
    out.push_back(stem + "ing");
  }
  if (auto it = irregular_verbs().find(w); it != irregular_verbs().end()) {
    for (const auto& f : it->second) out.push_back(f);
  }
  std::sort(out.begin() + 1, out.end());
  out.erase(std::unique(out.begin() + 1, out.end()), out.end());
  return out;
}

const NounDef* Vocabulary::noun(std::string_view name) const {
  for (auto it = nouns.rbegin(); it != nouns.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

const AttributeDef* Vocabulary::attribute(std::string_view name) const {
  for (auto it = attributes.rbegin(); it != attributes.rend(); ++it) {
    if (it->name == name) return &*it;
  }
  return nullptr;
}

const ValueDef* Vocabulary::value(std::string_view attr, std::string_view name) const {
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (it->attribute == attr && it->name == name) return &*it;
  }
  // Values are also known by their surface forms ("gray" for "grey").
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (it->attribute != attr) continue;
    for (const auto& w : it->words) {
      if (w == name) return &*it;
    }
  }
  return nullptr;
}

Facets Vocabulary::facets(std::string_view attr, std::string_view name) const {
  if (const ValueDef* v = value(attr, name)) return v->facets;
  return facets_of(attribute(attr), attr, name);
}

std::string Vocabulary::value_name(std::string_view attr, const Facets& f) const {
  for (auto it = values.rbegin(); it != values.rend(); ++it) {
    if (it->attribute == attr && it->facets == f) return it->name;
  }
  std::vector<std::string> parts;
  const AttributeDef* def = attribute(attr);
  if (def) {
    for (const auto& name : def->facets) {
      if (auto it = f.find(name); it != f.end()) parts.push_back(it->second);
    }
  }
  if (parts.size() != f.size()) {
    parts.clear();
    for (const auto& [k, v] : f) parts.push_back(v);
  }
  return join(parts, " ");
}

int Vocabulary::rank(std::string_view attr, std::string_view name) const {
  const AttributeDef* def = attribute(attr);
  if (!def) return -1;
  const ValueDef* v = value(attr, name);
  std::string canonical = v ? v->name : std::string(name);
  for (size_t i = 0; i < def->order.size(); ++i) {
    if (def->order[i] == canonical) return static_cast<int>(i);
  }
  return -1;
}

bool Vocabulary::covers(const NounDef& generic, std::string_view object) const {
  if (generic.kind != NounKind::Generic) return generic.name == object;
  const NounDef* target = noun(object);
  if (!target || target->kind != NounKind::Object) return false;
  if (generic.covers.empty()) return true;
  return std::find(generic.covers.begin(), generic.covers.end(), object) != generic.covers.end();
}

void Vocabulary::extend(const Vocabulary& o) {
  nouns.insert(nouns.end(), o.nouns.begin(), o.nouns.end());
  attributes.insert(attributes.end(), o.attributes.begin(), o.attributes.end());
  values.insert(values.end(), o.values.begin(), o.values.end());
  verbs.insert(verbs.end(), o.verbs.begin(), o.verbs.end());
  directions.insert(directions.end(), o.directions.begin(), o.directions.end());
  terms.insert(terms.end(), o.terms.begin(), o.terms.end());
  fillers.insert(fillers.end(), o.fillers.begin(), o.fillers.end());
}

Agreement compare_values(const Vocabulary& vocab, std::string_view attr, std::string_view stated,
                         std::string_view truth) {
  const AttributeDef* def = vocab.attribute(attr);
  if (def && def->text) return to_lower(trim(stated)) == to_lower(trim(truth)) ? Agreement::Same : Agreement::Conflict;
  Facets s = vocab.facets(attr, stated);
  Facets t = vocab.facets(attr, truth);
  bool overlap = false;
  for (const auto& [k, v] : s) {
    auto it = t.find(k);
    if (it == t.end()) continue;
    if (it->second != v) return Agreement::Conflict;
    overlap = true;
  }
  // Nothing stated can be checked against the truth (e.g. "dark" for a background "beige").
  if (!overlap) return Agreement::Conflict;
  for (const auto& [k, v] : t) {
    if (!s.count(k)) return Agreement::Coarse;
  }
  return Agreement::Same;
}

bool has_core(const Vocabulary& vocab, std::string_view attr, std::string_view stated) {
  if (stated.empty()) return false;
  const AttributeDef* def = vocab.attribute(attr);
  if (!def || def->core_facets.empty()) return true;
  Facets s = vocab.facets(attr, stated);
  for (const auto& f : def->core_facets) {
    if (!s.count(f)) return false;
  }
  return true;
}

Vocabulary base_vocabulary() {
  Vocabulary v;
  v.nouns = {
      {"camera", NounKind::Camera, {"camera", "cameras", "view", "viewpoint", "camera view", "shot"}, {}},
      {"image", NounKind::Image,
       {"image", "picture", "photo", "photograph", "scene", "whole image", "entire image", "overall image",
        "whole scene", "entire scene", "frame"},
       {}},
      {"background", NounKind::Background, {"background", "backdrop", "background color", "background colour"}, {}},
      {"all", NounKind::Collective,
       {"all the objects", "all objects", "all the shapes", "all shapes", "every object", "each object",
        "everything", "all the items", "all items", "all the elements", "objects", "shapes", "items"},
       {}},
      {"object", NounKind::Generic, {"object", "shape", "thing", "item", "figure", "element"}, {}},
  };
  AttributeDef text;
  text.name = "text";
  text.words = {"text", "word", "label text", "lettering", "writing", "caption"};
  text.descriptive_core = true;
  text.text = true;
  v.attributes = {text};

  add_verbs(v, {"add", "insert", "place", "put", "draw", "include", "introduce", "create"}, Action::Add);
  add_verbs(v, {"remove", "delete", "erase", "eliminate", "take away", "get rid of"}, Action::Remove);
  add_verbs(v, {"replace", "substitute"}, Action::Replace);
  add_verbs(v, {"change", "make", "turn", "set", "recolor", "recolour", "paint", "transform", "convert", "alter",
                "become", "update", "give"},
            Action::Modify);
  add_verbs(v, {"adjust", "modify", "process", "optimize", "optimise", "tweak", "edit", "improve", "enhance"},
            Action::Modify, /*vague=*/true);
  add_verbs(v, {"move", "shift", "slide", "drag", "relocate", "reposition"}, Action::Move);
  add_verbs(v, {"rotate", "spin"}, Action::Rotate);
  add_verbs(v, {"swap", "switch", "exchange", "interchange"}, Action::Swap);
  add_verbs(v, {"zoom"}, Action::Zoom);
  add_verbs(v, {"pan"}, Action::Pan);
  add_verbs(v, {"brighten", "lighten"}, Action::Tone, false, "", "brighter");
  add_verbs(v, {"darken", "dim"}, Action::Tone, false, "", "darker");
  add_verbs(v, {"warm up"}, Action::Tone, false, "", "warmer");
  add_verbs(v, {"cool down"}, Action::Tone, false, "", "cooler");

  v.directions = {
      {"left", {"left", "leftward", "leftwards"}},
      {"right", {"right", "rightward", "rightwards"}},
      {"up", {"up", "upward", "upwards", "higher"}},
      {"down", {"down", "downward", "downwards", "lower"}},
      {"clockwise", {"clockwise"}},
      {"counterclockwise", {"counterclockwise", "counter clockwise", "anticlockwise", "anti clockwise"}},
      {"brighter", {"brighter"}},
      {"darker", {"darker", "dimmer"}},
      {"warmer", {"warmer"}},
      {"cooler", {"cooler", "colder"}},
      // Zoom directions; "in" is read from the preposition after "zoom".
      {"in", {"closer"}},
      {"out", {"out", "away", "farther", "further"}},
  };

  for (const char* t : {"adjust", "modify", "process", "optimize", "optimise", "tweak"}) {
    v.terms.push_back({t, TermKind::VagueVerb});
  }
  for (const char* t : {"appropriate", "appropriately", "slightly", "a bit", "a little", "a little bit", "somewhat",
                        "kind of", "sort of", "more or less", "a touch"}) {
    v.terms.push_back({t, TermKind::VagueDegree});
  }
  for (const char* t : {"it", "this", "that", "refer to original image", "refer to the original image"}) {
    v.terms.push_back({t, TermKind::VagueReference});
  }
  for (const char* t : {"look better", "looks better", "better", "nicer", "more beautiful", "beautiful",
                        "more appealing", "appealing", "aesthetically pleasing", "pretty", "good"}) {
    v.terms.push_back({t, TermKind::Subjective});
  }
  for (const char* t : {"back in place", "back to its place", "back where", "put back", "restore", "restored",
                        "as in the target", "target image", "second image", "image b", "edited image",
                        "original position", "like before"}) {
    v.terms.push_back({t, TermKind::Leak});
  }
  v.fillers = {"the", "a", "an", "also", "then", "please", "its", "their", "his", "her", "is", "are", "was",
               "were", "be", "been", "being", "has", "have", "had", "should", "will", "would", "so", "just",
               "now", "new", "other", "another", "very", "located", "positioned", "which", "currently",
               "existing", "current", "there", "here", "side", "corner", "area", "part", "region", "spot",
               "piece of", "degrees", "degree", "same", "entire", "whole", "completely", "fully", "instead",
               "one's", "so that", "while", "now"};
  return v;
}

const Vocabulary& synthetic_vocabulary() {
  static const Vocabulary kVocab = [] {
    namespace s = synthetic;
    Vocabulary v = base_vocabulary();
    for (size_t i = 0; i < s::kShapes.size(); ++i) {
      v.nouns.push_back({std::string(s::kShapes[i]), NounKind::Object,
                         {std::string(s::kShapes[i]), std::string(s::kShapePlurals[i])}, {}});
    }
    v.nouns.push_back({std::string(s::kSign), NounKind::Object, {"sign", "signs", "label", "signboard", "board"}, {}});

    AttributeDef color = attribute_def("color", {"color", "colour"}, {"shade", "hue"}, {"hue"});
    color.descriptive_core = true;
    AttributeDef size = attribute_def("size", {"size"});
    size.order = {"small", "large"};
    size.increase_words = {"larger", "bigger"};
    size.decrease_words = {"smaller"};
    size.increase_verbs = {"enlarge", "grow", "expand", "scale up", "magnify"};
    size.decrease_verbs = {"shrink", "reduce", "scale down"};
    AttributeDef texture = attribute_def("texture", {"pattern", "texture", "fill"});
    texture.default_value = std::string(s::kTextures[0]);
    AttributeDef position = attribute_def("position", {"position", "location"}, {"row", "col"});
    position.spatial = true;
    position.descriptive_core = true;
    v.attributes.insert(v.attributes.end(), {color, size, texture, position});

    for (auto hue : s::kHues) {
      v.values.push_back({"color", std::string(hue), {{"hue", std::string(hue)}}, {}});
      for (auto shade : s::kShades) {
        std::string name = s::color_name(shade, hue);
        std::vector<std::string> words = {name};
        if (shade == "light") words.push_back("pale " + std::string(hue));
        if (shade == "dark") words.push_back("deep " + std::string(hue));
        v.values.push_back({"color", name, {{"hue", std::string(hue)}, {"shade", std::string(shade)}}, words});
      }
    }
    v.values.push_back({"color", "light", {{"shade", "light"}}, {"light", "pale"}});
    v.values.push_back({"color", "dark", {{"shade", "dark"}}, {"dark", "deep"}});
    for (auto bg : s::kBackgrounds) {
      std::vector<std::string> words = {std::string(bg)};
      if (bg == "grey") words.push_back("gray");
      v.values.push_back({"color", std::string(bg), {{"hue", std::string(bg)}}, words});
    }
    v.values.push_back({"size", "small", {{"size", "small"}}, {"small", "little", "tiny"}});
    v.values.push_back({"size", "large", {{"size", "large"}}, {"large", "big", "huge"}});
    v.values.push_back({"texture", "plain", {{"texture", "plain"}}, {"plain", "solid", "unpatterned"}});
    v.values.push_back({"texture", "striped", {{"texture", "striped"}}, {"striped", "stripy", "with stripes"}});
    v.values.push_back({"texture", "dotted", {{"texture", "dotted"}}, {"dotted", "spotted", "polka dot", "polka dotted", "with dots"}});

    for (int r = 0; r < 3; ++r) {
      for (int c = 0; c < 3; ++c) {
        std::string row(s::kRows[r]), col(s::kCols[c]);
        std::string name = s::position_name(r, c);
        std::vector<std::string> words = {name};
        std::string up = r == 0 ? "upper" : r == 2 ? "lower" : "";
        if (r == 1 && c == 1) {
          words = {"center", "centre", "middle", "middle center", "center of the image", "very center"};
        } else if (c == 1) {
          words.push_back(row + " centre");
          words.push_back(row + " middle");
          if (!up.empty()) words.push_back(up + " middle");
          words.push_back(row + " center edge");
        } else if (r == 1) {
          words.push_back("center " + col);
          words.push_back("centre " + col);
          words.push_back(col + " center");
          words.push_back(col + " middle");
        } else {
          words.push_back(up + " " + col);
          words.push_back(col + " " + row);
          words.push_back(row + " " + col + " corner");
          words.push_back(up + " " + col + " corner");
        }
        v.values.push_back({"position", name, {{"row", row}, {"col", col}}, words});
      }
    }
    // Coarse positions (one facet). "left" and "right" are also directions: the parser reads
    // them as positions only after "at", "from", "on", "in" or before a noun.
    v.values.push_back({"position", "left", {{"col", "left"}}, {"left", "left side", "left half", "left edge"}});
    v.values.push_back({"position", "right", {{"col", "right"}}, {"right", "right side", "right half", "right edge"}});
    v.values.push_back({"position", "top", {{"row", "top"}}, {"top", "top edge", "top half", "upper half", "upper part"}});
    v.values.push_back(
        {"position", "bottom", {{"row", "bottom"}}, {"bottom", "bottom edge", "bottom half", "lower half", "lower part"}});
    return v;
  }();
  return kVocab;
}

// ---------------------------------------------------------------------------------------------
// JSON form

namespace {

const char* noun_kind_name(NounKind k) {
  switch (k) {
    case NounKind::Object: return "object";
    case NounKind::Camera: return "camera";
    case NounKind::Image: return "image";
    case NounKind::Background: return "background";
    case NounKind::Collective: return "collective";
    case NounKind::Generic: return "generic";
  }
  return "?";
}

std::vector<std::string> strings(const nlohmann::json& j, const char* key, const std::string& where) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end()) return out;
  if (!it->is_array()) throw EC_USER_ERROR(Input, "{}: '{}' must be a list of strings", where, key);
  for (const auto& s : *it) {
    if (!s.is_string()) throw EC_USER_ERROR(Input, "{}: '{}' must be a list of strings", where, key);
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::string str(const nlohmann::json& j, const char* key, const std::string& where, bool required = false) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) throw EC_USER_ERROR(Input, "{}: missing '{}'", where, key);
    return "";
  }
  if (!it->is_string()) throw EC_USER_ERROR(Input, "{}: '{}' must be a string", where, key);
  return it->get<std::string>();
}

bool flag(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

nlohmann::ordered_json to_json(const Vocabulary& v) {
  nlohmann::ordered_json j;
  j["nouns"] = nlohmann::ordered_json::array();
  for (const auto& n : v.nouns) {
    nlohmann::ordered_json e = {{"name", n.name}, {"kind", noun_kind_name(n.kind)}, {"words", n.words}};
    if (!n.covers.empty()) e["covers"] = n.covers;
    j["nouns"].push_back(e);
  }
  j["attributes"] = nlohmann::ordered_json::array();
  for (const auto& a : v.attributes) {
    nlohmann::ordered_json e = {{"name", a.name}, {"words", a.words}};
    if (!a.facets.empty()) e["facets"] = a.facets;
    if (!a.core_facets.empty()) e["core_facets"] = a.core_facets;
    if (!a.default_value.empty()) e["default"] = a.default_value;
    if (!a.order.empty()) e["order"] = a.order;
    if (!a.increase_words.empty()) e["increase_words"] = a.increase_words;
    if (!a.decrease_words.empty()) e["decrease_words"] = a.decrease_words;
    if (!a.increase_verbs.empty()) e["increase_verbs"] = a.increase_verbs;
    if (!a.decrease_verbs.empty()) e["decrease_verbs"] = a.decrease_verbs;
    if (a.spatial) e["spatial"] = true;
    if (a.descriptive_core) e["descriptive_core"] = true;
    if (a.text) e["text"] = true;
    j["attributes"].push_back(e);
  }
  j["values"] = nlohmann::ordered_json::array();
  for (const auto& val : v.values) {
    nlohmann::ordered_json e = {{"attribute", val.attribute}, {"name", val.name}};
    e["facets"] = nlohmann::ordered_json::object();
    for (const auto& [k, x] : val.facets) e["facets"][k] = x;
    if (!val.words.empty()) e["words"] = val.words;
    j["values"].push_back(e);
  }
  return j;
}

Vocabulary vocabulary_from_json(const nlohmann::json& j, const std::string& where) {
  if (!j.is_object()) throw EC_USER_ERROR(Input, "{}: a vocabulary must be a JSON object", where);
  Vocabulary v;
  if (auto it = j.find("nouns"); it != j.end()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& e = (*it)[i];
      std::string w = fmt::format("{} nouns[{}]", where, i);
      NounDef n;
      n.name = str(e, "name", w, true);
      std::string kind = str(e, "kind", w);
      n.kind = NounKind::Object;
      if (!kind.empty()) {
        bool found = false;
        for (NounKind k : {NounKind::Object, NounKind::Camera, NounKind::Image, NounKind::Background,
                           NounKind::Collective, NounKind::Generic}) {
          if (kind == noun_kind_name(k)) {
            n.kind = k;
            found = true;
          }
        }
        if (!found) throw EC_USER_ERROR(Input, "{}: unknown noun kind '{}'", w, kind);
      }
      n.words = strings(e, "words", w);
      if (n.words.empty()) n.words = {n.name};
      n.covers = strings(e, "covers", w);
      v.nouns.push_back(std::move(n));
    }
  }
  if (auto it = j.find("attributes"); it != j.end()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& e = (*it)[i];
      std::string w = fmt::format("{} attributes[{}]", where, i);
      AttributeDef a;
      a.name = str(e, "name", w, true);
      a.words = strings(e, "words", w);
      a.facets = strings(e, "facets", w);
      a.core_facets = strings(e, "core_facets", w);
      a.default_value = str(e, "default", w);
      a.order = strings(e, "order", w);
      a.increase_words = strings(e, "increase_words", w);
      a.decrease_words = strings(e, "decrease_words", w);
      a.increase_verbs = strings(e, "increase_verbs", w);
      a.decrease_verbs = strings(e, "decrease_verbs", w);
      a.spatial = flag(e, "spatial");
      a.descriptive_core = flag(e, "descriptive_core");
      a.text = flag(e, "text");
      v.attributes.push_back(std::move(a));
    }
  }
  if (auto it = j.find("values"); it != j.end()) {
    for (size_t i = 0; i < it->size(); ++i) {
      const auto& e = (*it)[i];
      std::string w = fmt::format("{} values[{}]", where, i);
      ValueDef val;
      val.attribute = str(e, "attribute", w, true);
      val.name = str(e, "name", w, true);
      if (auto f = e.find("facets"); f != e.end() && f->is_object()) {
        for (const auto& [k, x] : f->items()) {
          if (!x.is_string()) throw EC_USER_ERROR(Input, "{}: facet '{}' must be a string", w, k);
          val.facets[k] = x.get<std::string>();
        }
      }
      if (val.facets.empty()) {
        const AttributeDef* def = v.attribute(val.attribute);
        val.facets = facets_of(def, val.attribute, val.name);
      }
      val.words = strings(e, "words", w);
      v.values.push_back(std::move(val));
    }
  }
  for (const auto& val : v.values) {
    if (!v.attribute(val.attribute)) {
      throw EC_USER_ERROR(Input, "{}: value '{}' names an undefined attribute '{}'", where, val.name, val.attribute);
    }
  }
  return v;
}

}  // namespace ec::eval
