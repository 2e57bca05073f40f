#include "editcaption/eval/grammar.h"

#include <fmt/format.h>

#include <cctype>

#include "editcaption/core/strings.h"

namespace ec::eval {
namespace {

std::string capitalize(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string article(const std::string& phrase) {
  if (phrase.empty()) return "a";
  char c = static_cast<char>(std::tolower(static_cast<unsigned char>(phrase[0])));
  return (c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u') ? "an" : "a";
}

/// The attribute's own word ("pattern" for texture), for "change the pattern of ...".
std::string attribute_word(const Vocabulary& vocab, const std::string& attr) {
  const AttributeDef* def = vocab.attribute(attr);
  return def && !def->words.empty() ? def->words.front() : attr;
}

/// Direction of an ordered-attribute change: "increase", "decrease" or "".
std::string ordered_direction(const Change& c, const Vocabulary& vocab, const std::string& attr) {
  if (!c.direction.empty()) return c.direction;
  auto it = c.to.find(attr);
  if (it == c.to.end()) return "";
  int from = vocab.rank(attr, c.object.get(attr)), to = vocab.rank(attr, it->second);
  if (from < 0 || to < 0 || from == to) return "";
  return to > from ? "increase" : "decrease";
}

std::string comparative(const Vocabulary& vocab, const std::string& attr, const std::string& dir) {
  const AttributeDef* def = vocab.attribute(attr);
  if (!def) return dir;
  const auto& words = dir == "increase" ? def->increase_words : def->decrease_words;
  return words.empty() ? dir : words.front();
}

std::string with_vague(const std::string& vague, const std::string& word) {
  return vague.empty() ? word : vague + " " + word;
}

bool is_background(const Vocabulary& vocab, const ObjectDesc& o) {
  const NounDef* n = vocab.noun(o.noun);
  return n && n->kind == NounKind::Background;
}

/// Object words; attributes in `say_defaults` are written even when they hold the default value.
std::string object_words(const ObjectDesc& o, const Vocabulary& vocab, bool with_position,
                         const Values& say_defaults) {
  if (o.ref == Reference::Collective || o.noun == "all") return "all the objects";
  std::vector<std::string> parts;
  auto add = [&](const std::string& attr) {
    std::string v = o.get(attr);
    if (v.empty()) return;
    const AttributeDef* def = vocab.attribute(attr);
    if (def && v == def->default_value && !say_defaults.count(attr)) return;
    parts.push_back(v);
  };
  add("size");
  add("color");
  for (const auto& [k, v] : o.attrs) {
    if (k == "size" || k == "color" || k == "position" || k == "text") continue;
    add(k);
  }
  parts.push_back(o.noun);
  std::string s = join(parts, " ");
  if (with_position && o.has("position")) s += " at the " + o.get("position");
  return s;
}

}  // namespace

std::string describe_object(const ObjectDesc& o, const Vocabulary& vocab, bool with_position) {
  return object_words(o, vocab, with_position, {});
}

std::string render_change(const Change& c, const Vocabulary& vocab, const std::string& vague) {
  std::string subj = describe_object(c.object, vocab);
  switch (c.action) {
    case Action::Add: {
      std::string s = fmt::format("add {} {}", article(subj), subj);
      if (c.object.has("text")) s += fmt::format(" with the text \"{}\"", c.object.get("text"));
      if (c.object.has("position")) s += " at the " + c.object.get("position");
      return s;
    }
    case Action::Remove:
      return c.object.has("position") ? fmt::format("remove the {} from the {}", subj, c.object.get("position"))
                                      : fmt::format("remove the {}", subj);
    case Action::Replace: {
      if (!c.with) return fmt::format("replace the {}", subj);
      std::string w = describe_object(*c.with, vocab);
      return fmt::format("replace the {} with {} {}", subj, article(w), w);
    }
    case Action::Modify: {
      if (is_background(vocab, c.object)) {
        std::string to = c.to.count("color") ? c.to.at("color") : "";
        return c.object.has("color") ? fmt::format("change the background from {} to {}", c.object.get("color"), to)
                                     : fmt::format("change the background to {}", to);
      }
      if (c.to.size() == 1) {
        const auto& [attr, value] = *c.to.begin();
        const AttributeDef* def = vocab.attribute(attr);
        if (def && def->text) {
          return c.object.has(attr)
                     ? fmt::format("change the {} on the {} from \"{}\" to \"{}\"", attribute_word(vocab, attr), subj,
                                   c.object.get(attr), value)
                     : fmt::format("change the {} on the {} to \"{}\"", attribute_word(vocab, attr), subj, value);
        }
        std::string dir = ordered_direction(c, vocab, attr);
        if (def && !dir.empty() && !(dir == "increase" ? def->increase_words : def->decrease_words).empty()) {
          return fmt::format("make the {} {}", subj, with_vague(vague, comparative(vocab, attr, dir)));
        }
        if (value.empty()) return fmt::format("change the {} of the {}", attribute_word(vocab, attr), subj);
        return fmt::format("change the {} of the {} to {}", attribute_word(vocab, attr), subj, value);
      }
      ObjectDesc target = c.object;
      target.attrs.erase("position");
      for (const auto& [k, v] : c.to) target.attrs[k] = v;
      // A default value that is the new value must be said ("... to a light blue plain circle").
      std::string t = object_words(target, vocab, false, c.to);
      return fmt::format("change the {} to {} {}", subj, article(t), t);
    }
    case Action::Move: {
      std::string s = fmt::format("move the {} {}", subj, with_vague(vague, c.direction));
      if (c.object.has("position") && c.to.count("position")) {
        s += fmt::format(", from the {} to the {}", c.object.get("position"), c.to.at("position"));
      } else if (c.to.count("position")) {
        s += fmt::format(", to the {}", c.to.at("position"));
      }
      return s;
    }
    case Action::Rotate:
      return c.angle ? fmt::format("rotate the {} {} degrees {}", subj, c.angle, c.direction)
                     : fmt::format("rotate the {} {}", subj, c.direction);
    case Action::Swap:
      return fmt::format("swap the {} and the {}", subj, c.with ? describe_object(*c.with, vocab) : "");
    case Action::Zoom:
      return vague.empty() ? fmt::format("zoom the camera {}", c.direction)
                           : fmt::format("zoom the camera {} {}", c.direction, vague);
    case Action::Pan:
      if (c.direction == "left" || c.direction == "right") {
        return fmt::format("pan the camera {}to the {}", vague.empty() ? "" : vague + " ", c.direction);
      }
      return fmt::format("pan the camera {}", with_vague(vague, c.direction));
    case Action::Tone:
      return fmt::format("make the image {}", with_vague(vague, c.direction));
  }
  return "";
}

std::vector<Change> merge_attribute_changes(const std::vector<Change>& changes) {
  std::vector<Change> out;
  for (const auto& c : changes) {
    if (!out.empty() && c.action == Action::Modify && out.back().action == Action::Modify &&
        out.back().object == c.object && c.direction.empty() && out.back().direction.empty()) {
      for (const auto& [k, v] : c.to) out.back().to[k] = v;
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string render_instruction(const std::vector<Change>& primary, const std::vector<Change>& secondary,
                               const Vocabulary& vocab, int vague_index, const std::string& vague) {
  std::vector<std::string> sentences;
  int index = 0;
  for (const auto& c : merge_attribute_changes(primary)) {
    sentences.push_back(capitalize(render_change(c, vocab, index == vague_index ? vague : "")) + ".");
    ++index;
  }
  for (const auto& c : secondary) {
    sentences.push_back("Also " + render_change(c, vocab, index == vague_index ? vague : "") + ".");
    ++index;
  }
  return join(sentences, " ");
}

std::string describe_change(const Change& c, const Vocabulary& vocab) {
  std::string subj = describe_object(c.object, vocab);
  std::string s;
  switch (c.action) {
    case Action::Add: {
      s = fmt::format("{} {} appears", article(subj), subj);
      if (c.object.has("text")) s += fmt::format(" with the text \"{}\"", c.object.get("text"));
      if (c.object.has("position")) s += " at the " + c.object.get("position");
      break;
    }
    case Action::Remove:
      s = fmt::format("the {} is removed", describe_object(c.object, vocab, true));
      break;
    case Action::Replace:
      s = c.with ? fmt::format("the {} is replaced with {} {}", describe_object(c.object, vocab, true),
                               article(describe_object(*c.with, vocab)), describe_object(*c.with, vocab))
                 : fmt::format("the {} is replaced", subj);
      break;
    case Action::Modify: {
      if (is_background(vocab, c.object)) {
        s = fmt::format("the background changes from {} to {}", c.object.get("color"),
                        c.to.count("color") ? c.to.at("color") : "");
        break;
      }
      std::string obj = describe_object(c.object, vocab, true);
      std::vector<std::string> parts;
      for (const auto& [attr, value] : c.to) {
        const AttributeDef* def = vocab.attribute(attr);
        std::string dir = ordered_direction(c, vocab, attr);
        std::string from = c.object.get(attr);
        std::string word = attribute_word(vocab, attr);
        if (def && def->text) {
          parts.push_back(fmt::format("the {} on the {} changes from \"{}\" to \"{}\"", word, obj, from, value));
        } else if (!dir.empty() && def && !def->increase_words.empty()) {
          parts.push_back(fmt::format("the {} becomes {}", obj, comparative(vocab, attr, dir)));
        } else if (!from.empty()) {
          parts.push_back(fmt::format("the {} of the {} changes from {} to {}", word, obj, from, value));
        } else {
          parts.push_back(fmt::format("the {} of the {} changes to {}", word, obj, value));
        }
      }
      s = join(parts, "; ");
      break;
    }
    case Action::Move:
      s = fmt::format("the {} moves {}", subj, c.direction);
      if (c.object.has("position") && c.to.count("position")) {
        s += fmt::format(" from the {} to the {}", c.object.get("position"), c.to.at("position"));
      }
      break;
    case Action::Rotate:
      s = c.angle ? fmt::format("the {} rotates {} degrees {}", describe_object(c.object, vocab, true), c.angle, c.direction)
                  : fmt::format("the {} rotates {}", describe_object(c.object, vocab, true), c.direction);
      break;
    case Action::Swap:
      s = fmt::format("the {} and the {} swap places", describe_object(c.object, vocab, true),
                      c.with ? describe_object(*c.with, vocab, true) : "");
      break;
    case Action::Zoom:
      s = fmt::format("the camera zooms {}", c.direction);
      break;
    case Action::Pan:
      s = fmt::format("the camera pans {}", c.direction);
      break;
    case Action::Tone:
      s = fmt::format("the image becomes {}", c.direction);
      break;
  }
  return capitalize(s) + ".";
}

std::string describe_overall(const GroundTruth& gt, const Vocabulary& vocab) {
  std::vector<std::string> sentences;
  for (const auto& c : gt.primary) sentences.push_back(describe_change(c, vocab));
  for (const auto& c : gt.secondary) sentences.push_back(describe_change(c, vocab));
  if (!gt.unchanged.empty()) {
    std::vector<std::string> names;
    for (const auto& o : gt.unchanged) names.push_back("the " + describe_object(o, vocab, true));
    std::string list = names.size() == 1 ? names[0]
                                         : join(std::vector<std::string>(names.begin(), names.end() - 1), ", ") +
                                               " and " + names.back();
    sentences.push_back(capitalize(list) + (names.size() == 1 ? " remains unchanged." : " remain unchanged."));
  }
  return join(sentences, " ");
}

std::string format_gt_text(const GroundTruth& gt, const Vocabulary& vocab) {
  std::string s = "[Primary Changes]\n";
  for (size_t i = 0; i < gt.primary.size(); ++i) {
    s += fmt::format("({}) {}\n", i + 1, describe_change(gt.primary[i], vocab));
  }
  s += "[Secondary Changes]\n";
  if (gt.secondary.empty()) s += "(none)\n";
  for (size_t i = 0; i < gt.secondary.size(); ++i) {
    s += fmt::format("({}) {}\n", i + 1, describe_change(gt.secondary[i], vocab));
  }
  s += "[Overall Description]\n" + (gt.overall.empty() ? describe_overall(gt, vocab) : gt.overall) + "\n";
  return s;
}

}  // namespace ec::eval
