#include "editcaption/eval/alignment.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace ec::eval {
namespace {

std::string axis_of(const std::string& dir) {
  if (dir == "left" || dir == "right") return "horizontal";
  if (dir == "up" || dir == "down") return "vertical";
  if (dir == "in" || dir == "out") return "zoom";
  if (dir == "clockwise" || dir == "counterclockwise") return "rotation";
  if (dir == "brighter" || dir == "darker") return "brightness";
  if (dir == "warmer" || dir == "cooler") return "warmth";
  if (dir == "increase" || dir == "decrease") return "order";
  return "";
}

bool unspecified_any(const Change& c) {
  return std::find(c.unspecified.begin(), c.unspecified.end(), "*") != c.unspecified.end() ||
         std::find(c.unspecified.begin(), c.unspecified.end(), "object") != c.unspecified.end();
}

struct Known {
  ObjectDesc desc;
  bool is_new = false;   ///< exists only in the target (added, or a replacement)
  bool changed = false;  ///< some ground-truth change concerns it
};

struct Resolution {
  int k = -1;
  bool ambiguous = false;
  std::vector<std::string> conflicts;
};

class Aligner {
 public:
  explicit Aligner(const Vocabulary& vocab) : v_(vocab) {}

  Alignment run(const GroundTruth& gt, const ParsedInstruction& parsed) {
    for (const auto& c : gt.primary) add_gt(c, Scope::Primary);
    for (const auto& c : gt.secondary) add_gt(c, Scope::Secondary);
    build_known(gt);
    normalize_instruction(parsed);
    subject_k_.assign(a_.gt.size(), -1);
    with_k_.assign(a_.gt.size(), -1);
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      const Change& c = a_.gt[g].change;
      if (is_object(c.object.noun)) subject_k_[g] = find_known(c.object, c.action == Action::Add);
      if (c.with) with_k_[g] = find_known(*c.with, c.action == Action::Replace);
    }
    used_.assign(a_.instr.size(), false);
    res_.clear();
    for (const auto& c : a_.instr) res_.push_back(resolve(c.object, c.action == Action::Add));

    for (size_t g = 0; g < a_.gt.size(); ++g) match_gt(static_cast<int>(g));
    pair_leftovers();
    mentioned_object_slots();
    for (const auto& clause : parsed.unparsed) {
      add(FindingKind::Unparsed, Scope::Other, -1, -1, Action::Modify, "", fmt::format("could not read \"{}\"", clause));
    }
    a_.unclear_references += parsed.other_pronouns;
    return std::move(a_);
  }

 private:
  void add_gt(const Change& c, Scope scope) {
    GtMatch m;
    m.change = normalize_change(c);
    m.scope = scope;
    a_.gt.push_back(std::move(m));
  }

  // -------------------------------------------------------------------------------------------
  // Objects

  NounKind kind_of(const std::string& noun) const {
    const NounDef* n = v_.noun(noun);
    return n ? n->kind : NounKind::Object;
  }
  bool is_object(const std::string& noun) const { return kind_of(noun) == NounKind::Object; }

  int find_known(const ObjectDesc& d, bool is_new) const {
    for (size_t k = 0; k < known_.size(); ++k) {
      if (known_[k].is_new == is_new && known_[k].desc == d) return static_cast<int>(k);
    }
    return -1;
  }

  void add_known(const ObjectDesc& d, bool is_new, bool changed) {
    int k = find_known(d, is_new);
    if (k >= 0) {
      known_[k].changed = known_[k].changed || changed;
      return;
    }
    known_.push_back({d, is_new, changed});
  }

  void build_known(const GroundTruth& gt) {
    for (const auto& m : a_.gt) {
      const Change& c = m.change;
      if (is_object(c.object.noun)) add_known(c.object, c.action == Action::Add, true);
      if (c.with) add_known(*c.with, c.action == Action::Replace, c.action == Action::Swap);
    }
    for (const auto& o : gt.unchanged) add_known(o, false, false);
  }

  /// Which known object a mention refers to. The noun must fit (a generic noun fits what it
  /// covers); among those, the one whose stated attributes all agree, else the closest.
  Resolution resolve(const ObjectDesc& m, bool is_new) const {
    Resolution r;
    if (m.noun.empty() || !is_object_or_generic(m.noun)) return r;
    const NounDef* n = v_.noun(m.noun);
    struct Cand {
      int k;
      int agree;
      std::vector<std::string> conflicts;
    };
    std::vector<Cand> cands;
    for (size_t k = 0; k < known_.size(); ++k) {
      const Known& kn = known_[k];
      if (kn.is_new != is_new) continue;
      bool noun_ok = kn.desc.noun == m.noun || (n && n->kind == NounKind::Generic && v_.covers(*n, kn.desc.noun));
      if (!noun_ok) continue;
      Cand c{static_cast<int>(k), 0, {}};
      for (const auto& [attr, val] : m.attrs) {
        if (val.empty()) continue;
        std::string truth = kn.desc.get(attr);
        if (truth.empty()) {
          const AttributeDef* def = v_.attribute(attr);
          if (def && !def->default_value.empty()) truth = def->default_value;
        }
        if (truth.empty()) continue;
        if (compare_values(v_, attr, val, truth) == Agreement::Conflict) {
          c.conflicts.push_back(attr);
        } else {
          ++c.agree;
        }
      }
      cands.push_back(std::move(c));
    }
    if (cands.empty()) return r;
    std::vector<const Cand*> clean;
    for (const auto& c : cands) {
      if (c.conflicts.empty()) clean.push_back(&c);
    }
    if (!clean.empty()) {
      std::sort(clean.begin(), clean.end(), [](const Cand* a, const Cand* b) { return a->agree > b->agree; });
      r.k = clean[0]->k;
      // Two objects fit equally well: the reference does not say which (table 5, row 3).
      r.ambiguous = clean.size() > 1 && clean[1]->agree == clean[0]->agree;
      return r;
    }
    const Cand* best = &cands[0];
    for (const auto& c : cands) {
      if (c.agree - static_cast<int>(c.conflicts.size()) > best->agree - static_cast<int>(best->conflicts.size())) best = &c;
    }
    r.k = best->k;
    r.conflicts = best->conflicts;
    return r;
  }

  bool is_object_or_generic(const std::string& noun) const {
    NounKind k = kind_of(noun);
    return k == NounKind::Object || k == NounKind::Generic;
  }

  // -------------------------------------------------------------------------------------------
  // Instruction normalization

  void normalize_instruction(const ParsedInstruction& parsed) {
    std::vector<Change> cs;
    for (const auto& c : parsed.changes) cs.push_back(normalize_change(c));
    // "Remove the red flower, add a blue flower at the same place" is a replacement said
    // redundantly (table 5, row 7).
    std::vector<bool> drop(cs.size(), false);
    std::vector<std::string> redundant;
    for (size_t i = 0; i < cs.size(); ++i) {
      if (cs[i].action != Action::Remove || drop[i]) continue;
      for (size_t j = 0; j < cs.size(); ++j) {
        if (i == j || drop[j] || cs[j].action != Action::Add) continue;
        std::string at = cs[j].object.get("position"), was = cs[i].object.get("position");
        if (!at.empty() && !was.empty() && compare_values(v_, "position", at, was) == Agreement::Conflict) continue;
        Change r = cs[i];
        r.action = Action::Replace;
        ObjectDesc w = cs[j].object;
        w.attrs.erase("position");
        r.with = w;
        r.clause = cs[i].clause + "; " + cs[j].clause;
        cs[i] = normalize_change(r);
        drop[j] = true;
        redundant.push_back(r.clause);
        break;
      }
    }
    for (size_t i = 0; i < cs.size(); ++i) {
      if (drop[i]) continue;
      // The same change stated twice.
      bool dup = false;
      for (const auto& prev : a_.instr) {
        if (prev.action == cs[i].action && prev.object == cs[i].object && prev.to == cs[i].to &&
            prev.direction == cs[i].direction && prev.with.has_value() == cs[i].with.has_value() &&
            (!prev.with || *prev.with == *cs[i].with)) {
          dup = true;
        }
      }
      if (dup) {
        redundant.push_back(cs[i].clause + " (stated twice)");
        continue;
      }
      a_.instr.push_back(cs[i]);
    }
    for (const auto& r : redundant) {
      add(FindingKind::Redundant, Scope::Other, -1, -1, Action::Replace, "", fmt::format("redundant: \"{}\"", r));
    }
  }

  // -------------------------------------------------------------------------------------------
  // Matching

  void add(FindingKind kind, Scope scope, int g, int i, Action action, const std::string& attr, std::string msg) {
    a_.findings.push_back({kind, scope, g, i, action, attr, std::move(msg)});
  }

  Scope scope_of(int g) const { return g >= 0 ? a_.gt[g].scope : Scope::Other; }

  std::string name_of(int g) const {
    const Change& c = a_.gt[g].change;
    return fmt::format("{} of the {}", action_name(c.action), c.object.noun);
  }

  void slot(int g, const std::string& name, bool core, SlotState state) { a_.slots.push_back({g, name, core, state}); }

  /// Whether instruction change `i` addresses ground-truth change `g` (same object, same kind of
  /// edit). Reversals count: they are reported as such, with no completeness credit.
  bool addresses(int g, int i) const {
    const Change& t = a_.gt[g].change;
    const Change& c = a_.instr[i];
    const Resolution& r = res_[i];
    switch (t.action) {
      case Action::Add:
        return (c.action == Action::Add && r.k >= 0 && r.k == subject_k_[g]) ||
               (c.action == Action::Remove && same_kind_object(c.object, t.object));
      case Action::Remove:
        return (c.action == Action::Remove && r.k >= 0 && r.k == subject_k_[g]) ||
               (c.action == Action::Add && same_kind_object(c.object, t.object));
      case Action::Replace:
        return c.action == Action::Replace && r.k >= 0 && r.k == subject_k_[g];
      case Action::Modify: {
        if (kind_of(t.object.noun) == NounKind::Background) {
          return c.action == Action::Modify && kind_of(c.object.noun) == NounKind::Background;
        }
        if (r.k < 0 || r.k != subject_k_[g]) return false;
        if (c.action == Action::Replace && !c.with) return true;  // "swap the necklace"
        if (c.action != Action::Modify) return false;
        if (unspecified_any(c)) return true;
        for (const auto& [attr, val] : t.to) {
          if (c.to.count(attr)) return true;
          if (std::find(c.unspecified.begin(), c.unspecified.end(), attr) != c.unspecified.end()) return true;
        }
        return false;
      }
      case Action::Move:
      case Action::Rotate:
        return c.action == t.action && r.k >= 0 && r.k == subject_k_[g];
      case Action::Swap: {
        if (c.action != Action::Swap) return false;
        int r2 = c.with ? resolve(*c.with, false).k : -1;
        std::set<int> want = {subject_k_[g], with_k_[g]};
        return (r.k >= 0 && want.count(r.k)) || (r2 >= 0 && want.count(r2));
      }
      case Action::Zoom:
      case Action::Pan:
        return c.action == t.action;
      case Action::Tone:
        return c.action == Action::Tone && axis_of(c.direction) == axis_of(t.direction);
    }
    return false;
  }

  bool same_kind_object(const ObjectDesc& m, const ObjectDesc& truth) const {
    if (m.noun != truth.noun) return false;
    for (const auto& [attr, val] : m.attrs) {
      std::string t = truth.get(attr);
      if (!val.empty() && !t.empty() && compare_values(v_, attr, val, t) == Agreement::Conflict) return false;
    }
    return true;
  }

  void match_gt(int g) {
    GtMatch& m = a_.gt[g];
    for (size_t i = 0; i < a_.instr.size(); ++i) {
      // An attribute change may answer several ground-truth attribute changes of one object.
      if (used_[i] && !(a_.instr[i].action == Action::Modify && m.change.action == Action::Modify)) continue;
      if (!addresses(g, static_cast<int>(i))) continue;
      used_[i] = true;
      m.instr.push_back(static_cast<int>(i));
      m.related = true;
      check(g, static_cast<int>(i));
      return;
    }
  }

  /// Compares a matched pair: credit, errors and the attribute slots.
  void check(int g, int i) {
    GtMatch& m = a_.gt[g];
    const Change& t = m.change;
    const Change& c = a_.instr[i];
    const Resolution& r = res_[i];
    Scope sc = m.scope;
    std::string what = name_of(g);

    // Reference problems belong to the instruction change: count them once even when it
    // answers several ground-truth changes.
    if (referenced_.insert(i).second) {
      if (r.ambiguous) {
        add(FindingKind::Ambiguous, sc, g, i, t.action, "", fmt::format("\"{}\" could mean more than one object", c.clause));
        ++a_.unclear_references;
      }
      if (c.object.ref == Reference::Generic) ++a_.unclear_references;
    }
    if (r.k < 0) {
      // Background, camera, image: compare the stated source attributes directly.
      for (const auto& [attr, val] : c.object.attrs) {
        std::string truth = t.object.get(attr);
        if (!val.empty() && !truth.empty() && compare_values(v_, attr, val, truth) == Agreement::Conflict) {
          add(FindingKind::AttributeWrong, sc, g, i, t.action, attr,
              fmt::format("{}: the {} is described as {} but is {}", what, attr, val, truth));
        }
      }
    }
    for (const auto& attr : r.conflicts) {
      const AttributeDef* def = v_.attribute(attr);
      add(def && def->spatial ? FindingKind::SpatialWrong : def && def->text ? FindingKind::TextWrong : FindingKind::AttributeWrong,
          sc, g, i, t.action, attr,
          fmt::format("{}: the {} is described as {} but is {}", what, attr, c.object.get(attr),
                      known_[r.k].desc.get(attr)));
    }

    auto reversed = [&](const std::string& attr) {
      m.hit = 0;
      add(FindingKind::DirectionReversed, sc, g, i, t.action, attr,
          fmt::format("{}: the instruction says {} where the change is {}", what,
                      c.direction.empty() ? action_name(c.action) : c.direction,
                      t.direction.empty() ? action_name(t.action) : t.direction));
    };
    auto direction = [&](bool core) {
      if (c.direction.empty()) {
        m.hit = 0.5;
        slot(g, "direction", core, SlotState::Missing);
      } else if (c.direction == opposite_direction(t.direction)) {
        reversed("direction");
      } else if (c.direction != t.direction) {
        m.hit = 1;
        add(FindingKind::SpatialWrong, sc, g, i, t.action, "direction",
            fmt::format("{}: direction {} where it is {}", what, c.direction, t.direction));
        slot(g, "direction", core, SlotState::Full);
      } else {
        m.hit = 1;
        slot(g, "direction", core, SlotState::Full);
      }
    };

    switch (t.action) {
      case Action::Add:
        if (c.action == Action::Remove) {
          reversed("");
          break;
        }
        m.hit = 1;
        description_slots(g, t.object, c.object, /*skip_position=*/false);
        break;
      case Action::Remove:
        if (c.action == Action::Add) {
          reversed("");
          break;
        }
        m.hit = 1;
        break;
      case Action::Replace:
        if (!c.with) {
          m.hit = 0.5;
          add(FindingKind::MissingCore, sc, g, i, t.action, "with", fmt::format("{}: what it becomes is not said", what));
          description_slots(g, *t.with, ObjectDesc{}, true);
          break;
        }
        m.hit = 1;
        if (c.with->noun != t.with->noun && !(v_.noun(c.with->noun) && v_.noun(c.with->noun)->kind == NounKind::Generic)) {
          add(FindingKind::AttributeWrong, sc, g, i, t.action, "noun",
              fmt::format("{}: replaced with a {} instead of a {}", what, c.with->noun, t.with->noun));
        }
        for (const auto& [attr, val] : c.with->attrs) {
          std::string truth = t.with->get(attr);
          if (val.empty() || truth.empty()) continue;
          if (compare_values(v_, attr, val, truth) == Agreement::Conflict) {
            add(attr == "text" ? FindingKind::TextWrong : FindingKind::AttributeWrong, sc, g, i, t.action, attr,
                fmt::format("{}: the new object's {} is {} but should be {}", what, attr, val, truth));
          }
        }
        description_slots(g, *t.with, *c.with, true);
        break;
      case Action::Modify:
        check_modify(g, i);
        break;
      case Action::Move: {
        direction(true);
        if (m.hit == 0) break;
        std::string want = t.to.count("position") ? t.to.at("position") : "";
        std::string said = c.to.count("position") ? c.to.at("position") : "";
        if (!want.empty()) {
          if (said.empty()) {
            slot(g, "destination", false, SlotState::Missing);
            add(FindingKind::MissingDetail, sc, g, i, t.action, "position",
                fmt::format("{}: where it ends up is not said", what));
          } else {
            Agreement ag = compare_values(v_, "position", said, want);
            if (ag == Agreement::Conflict) {
              add(FindingKind::SpatialWrong, sc, g, i, t.action, "position",
                  fmt::format("{}: moved to the {} instead of the {}", what, said, want));
            } else if (ag == Agreement::Coarse) {
              add(FindingKind::MissingDetail, sc, g, i, t.action, "position",
                  fmt::format("{}: the destination \"{}\" is less precise than \"{}\"", what, said, want));
            }
            slot(g, "destination", false, ag == Agreement::Coarse ? SlotState::Coarse : SlotState::Full);
          }
        }
        break;
      }
      case Action::Rotate:
        direction(true);
        if (m.hit == 0) break;
        if (t.angle) {
          if (c.angle == 0) {
            slot(g, "angle", false, SlotState::Missing);
            add(FindingKind::MissingDetail, sc, g, i, t.action, "angle", fmt::format("{}: the angle is not said", what));
          } else {
            if (c.angle != t.angle) {
              add(FindingKind::AttributeWrong, sc, g, i, t.action, "angle",
                  fmt::format("{}: {} degrees instead of {}", what, c.angle, t.angle));
            }
            slot(g, "angle", false, SlotState::Full);
          }
        }
        break;
      case Action::Swap: {
        m.hit = 1;
        int r2 = c.with ? resolve(*c.with, false).k : -1;
        std::set<int> want = {subject_k_[g], with_k_[g]};
        bool both = r.k >= 0 && r2 >= 0 && want.count(r.k) && want.count(r2) && r.k != r2;
        if (!c.with) {
          slot(g, "other", true, SlotState::Missing);
        } else {
          slot(g, "other", true, SlotState::Full);
          if (!both) {
            add(FindingKind::WrongSubject, sc, g, i, t.action, "with",
                fmt::format("{}: swapped with the wrong object", what));
          }
        }
        break;
      }
      case Action::Zoom:
      case Action::Pan:
      case Action::Tone:
        direction(true);
        break;
    }
    if (m.hit == 0.5 && t.action != Action::Replace && t.action != Action::Modify) {
      add(FindingKind::MissingCore, sc, g, i, t.action, "direction", fmt::format("{}: the direction is not said", what));
    }
    m.full_hit = m.hit >= 1;
  }

  /// Attribute slots of an object the instruction describes (an added object, a replacement).
  void description_slots(int g, const ObjectDesc& truth, const ObjectDesc& said, bool skip_position) {
    Scope sc = scope_of(g);
    for (const auto& [attr, want] : truth.attrs) {
      if (skip_position && attr == "position") continue;
      const AttributeDef* def = v_.attribute(attr);
      std::string got = said.get(attr);
      bool core = def && def->descriptive_core;
      if (got.empty()) {
        if (def && want == def->default_value) continue;  // "plain" need not be said
        slot(g, attr, core, SlotState::Missing);
        add(core ? FindingKind::MissingCore : FindingKind::MissingDetail, sc, g, -1, a_.gt[g].change.action, attr,
            fmt::format("{}: the {} of the {} is not said", name_of(g), attr, truth.noun));
        continue;
      }
      if (!has_core(v_, attr, got)) {
        slot(g, attr, core, SlotState::Missing);
        add(core ? FindingKind::MissingCore : FindingKind::MissingDetail, sc, g, -1, a_.gt[g].change.action, attr,
            fmt::format("{}: the {} \"{}\" is incomplete", name_of(g), attr, got));
        continue;
      }
      Agreement ag = compare_values(v_, attr, got, want);
      if (ag == Agreement::Coarse) {
        slot(g, attr, core, SlotState::Coarse);
        add(FindingKind::MissingDetail, sc, g, -1, a_.gt[g].change.action, attr,
            fmt::format("{}: the {} is \"{}\", less precise than \"{}\"", name_of(g), attr, got, want));
      } else {
        slot(g, attr, core, SlotState::Full);
      }
    }
  }

  void check_modify(int g, int i) {
    GtMatch& m = a_.gt[g];
    const Change& t = m.change;
    const Change& c = a_.instr[i];
    Scope sc = m.scope;
    std::string what = name_of(g);
    bool stated_any = false;
    bool was_reversed = false;
    for (const auto& [attr, want] : t.to) {
      const AttributeDef* def = v_.attribute(attr);
      auto it = c.to.find(attr);
      if (it == c.to.end()) {
        slot(g, attr, true, SlotState::Missing);
        bool named = std::find(c.unspecified.begin(), c.unspecified.end(), attr) != c.unspecified.end() ||
                     unspecified_any(c) || (c.action == Action::Replace && !c.with);
        add(named ? FindingKind::MissingCore : FindingKind::MissingDetail, sc, g, i, t.action, attr,
            named ? fmt::format("{}: the new {} is not said", what, attr)
                  : fmt::format("{}: the new {} is not said", what, attr));
        continue;
      }
      stated_any = true;
      const std::string& said = it->second;
      if (said.empty()) {
        // Stated as a direction only ("make the circle larger", "shorten the dress").
        int from = v_.rank(attr, t.object.get(attr)), to = v_.rank(attr, want);
        std::string truth_dir = from >= 0 && to >= 0 && from != to ? (to > from ? "increase" : "decrease") : "";
        if (!truth_dir.empty() && c.direction == opposite_direction(truth_dir)) {
          was_reversed = true;
          add(FindingKind::DirectionReversed, sc, g, i, t.action, attr,
              fmt::format("{}: the {} goes the other way ({})", what, attr, c.direction));
        } else {
          slot(g, attr, true, truth_dir.empty() ? SlotState::Coarse : SlotState::Full);
        }
        continue;
      }
      if (!has_core(v_, attr, said)) {
        slot(g, attr, true, SlotState::Missing);
        add(FindingKind::MissingCore, sc, g, i, t.action, attr,
            fmt::format("{}: the new {} \"{}\" is incomplete", what, attr, said));
        continue;
      }
      Agreement ag = compare_values(v_, attr, said, want);
      if (ag == Agreement::Conflict) {
        // An ordered attribute stated on the wrong side ("small" when it grows) is a reversal.
        int from = v_.rank(attr, t.object.get(attr)), to = v_.rank(attr, want), s = v_.rank(attr, said);
        if (from >= 0 && to >= 0 && s >= 0 && s == from && from != to) {
          was_reversed = true;
          add(FindingKind::DirectionReversed, sc, g, i, t.action, attr,
              fmt::format("{}: the {} stays {} instead of becoming {}", what, attr, said, want));
          continue;
        }
        add(def && def->text ? FindingKind::TextWrong : def && def->spatial ? FindingKind::SpatialWrong : FindingKind::AttributeWrong,
            sc, g, i, t.action, attr, fmt::format("{}: the new {} is {} but should be {}", what, attr, said, want));
        slot(g, attr, true, SlotState::Full);
      } else if (ag == Agreement::Coarse) {
        slot(g, attr, true, SlotState::Coarse);
        add(FindingKind::MissingDetail, sc, g, i, t.action, attr,
            fmt::format("{}: the new {} \"{}\" is less precise than \"{}\"", what, attr, said, want));
      } else {
        slot(g, attr, true, SlotState::Full);
      }
    }
    // A reversal earns no credit (listing 2: "action direction is reversed" is a MISS).
    m.hit = was_reversed ? 0.0 : stated_any ? 1.0 : 0.5;
  }

  // -------------------------------------------------------------------------------------------
  // What is left: viewpoint confusions, wrong subjects, omissions, claims about other things.

  bool explained(int g) const { return a_.gt[g].related || explained_.count(g); }

  void pair_leftovers() {
    auto free = [&](size_t i) { return !used_[i]; };
    // Camera moves described as object moves, and back (the paper's viewpoint failure mode).
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      if (explained(static_cast<int>(g))) continue;
      const Change& t = a_.gt[g].change;
      for (size_t i = 0; i < a_.instr.size(); ++i) {
        if (!free(i)) continue;
        const Change& c = a_.instr[i];
        bool camera_truth = t.action == Action::Zoom || t.action == Action::Pan;
        bool object_claim = c.action == Action::Move || (c.action == Action::Modify && c.to.count("size"));
        bool object_truth = t.action == Action::Move || (t.action == Action::Modify && t.to.count("size"));
        bool camera_claim = c.action == Action::Zoom || c.action == Action::Pan;
        if ((camera_truth && object_claim) || (object_truth && camera_claim)) {
          used_[i] = true;
          a_.gt[g].related = true;
          a_.gt[g].instr.push_back(static_cast<int>(i));
          add(FindingKind::Viewpoint, a_.gt[g].scope, static_cast<int>(g), static_cast<int>(i), t.action, "",
              camera_truth ? fmt::format("the camera {}s ({}) but the instruction moves or resizes objects",
                                         action_name(t.action), t.direction)
                           : fmt::format("the {} changes but the instruction moves the camera ({} {})",
                                         t.object.noun, action_name(c.action), c.direction));
          break;
        }
      }
    }
    // The right kind of edit on another object.
    for (size_t i = 0; i < a_.instr.size(); ++i) {
      if (!free(i)) continue;
      const Change& c = a_.instr[i];
      if (c.object.ref == Reference::Collective) continue;
      // Another object of the scene (an unknown one is a fabrication), for a primary change (a
      // wrong claim about an unchanged element is the paper's "non-core error").
      if (res_[i].k < 0 && c.action != Action::Add) continue;
      for (size_t g = 0; g < a_.gt.size(); ++g) {
        if (explained(static_cast<int>(g)) || a_.gt[g].scope != Scope::Primary) continue;
        const Change& t = a_.gt[g].change;
        if (!is_object(t.object.noun)) continue;
        // A replacement by an object of the same kind reads as an attribute change.
        bool same_kind = t.action == c.action || (t.action == Action::Replace && c.action == Action::Modify);
        if (!same_kind) continue;
        if (t.action == Action::Modify && c.action == Action::Modify) {
          bool overlap = unspecified_any(c);
          for (const auto& [attr, v] : t.to) overlap = overlap || c.to.count(attr);
          if (!overlap) continue;
        }
        used_[i] = true;
        add(FindingKind::WrongSubject, a_.gt[g].scope, static_cast<int>(g), static_cast<int>(i), t.action, "",
            fmt::format("{}: the instruction applies it to the {} instead", name_of(static_cast<int>(g)),
                        describe_mention(c.object)));
        // Every ground-truth change of that object is explained by the same mistake.
        for (size_t h = 0; h < a_.gt.size(); ++h) {
          if (subject_k_[h] >= 0 && subject_k_[h] == subject_k_[g]) explained_.insert(static_cast<int>(h));
        }
        explained_.insert(static_cast<int>(g));
        break;
      }
    }
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      if (explained(static_cast<int>(g))) continue;
      const Change& t = a_.gt[g].change;
      add(FindingKind::Omitted, a_.gt[g].scope, static_cast<int>(g), -1, t.action, "",
          fmt::format("{} is not mentioned", name_of(static_cast<int>(g))));
    }
    // Claims about anything else.
    for (size_t i = 0; i < a_.instr.size(); ++i) {
      const Change& c = a_.instr[i];
      if (!free(i)) {
        extra_attribute_claims(static_cast<int>(i));
        continue;
      }
      const Resolution& r = res_[i];
      if (c.object.ref == Reference::Collective) {
        add(FindingKind::ExtraClaim, Scope::Other, -1, static_cast<int>(i), c.action, "",
            fmt::format("\"{}\" changes every object, which the edit does not", c.clause));
      } else if (r.k >= 0 && !known_[r.k].changed) {
        if (is_noop(c, known_[r.k].desc)) {
          add(FindingKind::Redundant, Scope::Other, -1, static_cast<int>(i), c.action, "",
              fmt::format("\"{}\" changes nothing", c.clause));
        } else {
          add(FindingKind::ExtraClaim, Scope::Other, -1, static_cast<int>(i), c.action, "",
              fmt::format("the {} is unchanged but the instruction says \"{}\"", describe_mention(c.object), c.clause));
        }
      } else if (r.k >= 0) {
        int g = first_gt_of(r.k);
        add(FindingKind::AttributeWrong, scope_of(g), g, static_cast<int>(i), c.action, "",
            fmt::format("the {} does not {} (\"{}\")", describe_mention(c.object), action_name(c.action), c.clause));
      } else {
        add(FindingKind::Fabricated, Scope::Other, -1, static_cast<int>(i), c.action, "",
            fmt::format("\"{}\" is not in the edit", c.clause));
      }
    }
  }

  int first_gt_of(int k) const {
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      if (subject_k_[g] == k || with_k_[g] == k) return static_cast<int>(g);
    }
    return -1;
  }

  bool is_noop(const Change& c, const ObjectDesc& d) const {
    if (c.action != Action::Modify || c.to.empty()) return false;
    for (const auto& [attr, val] : c.to) {
      std::string truth = d.get(attr);
      if (val.empty() || truth.empty() || compare_values(v_, attr, val, truth) == Agreement::Conflict) return false;
    }
    return true;
  }

  /// A matched attribute change that also claims attributes the ground truth does not change:
  /// fine when they restate the current value, an error otherwise.
  void extra_attribute_claims(int i) {
    const Change& c = a_.instr[i];
    if (c.action != Action::Modify || res_[i].k < 0) return;
    std::set<std::string> covered;
    int first = -1;
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      const auto& ins = a_.gt[g].instr;
      if (std::find(ins.begin(), ins.end(), i) == ins.end()) continue;
      if (first < 0) first = static_cast<int>(g);
      for (const auto& [attr, v] : a_.gt[g].change.to) covered.insert(attr);
    }
    // Changes of the same object handled by other ground-truth entries count as covered too.
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      if (subject_k_[g] == res_[i].k && a_.gt[g].change.action == Action::Modify) {
        for (const auto& [attr, v] : a_.gt[g].change.to) covered.insert(attr);
      }
    }
    if (first < 0) return;
    const ObjectDesc& d = known_[res_[i].k].desc;
    for (const auto& [attr, val] : c.to) {
      if (covered.count(attr)) continue;
      std::string truth = d.get(attr);
      if (truth.empty()) {
        const AttributeDef* def = v_.attribute(attr);
        if (def && !def->default_value.empty()) truth = def->default_value;
      }
      bool ok = !val.empty() && !truth.empty() && compare_values(v_, attr, val, truth) != Agreement::Conflict;
      if (ok) continue;
      add(FindingKind::AttributeWrong, scope_of(first), first, i, c.action, attr,
          fmt::format("{}: the {} does not change, but the instruction says {}", name_of(first), attr,
                      val.empty() ? c.direction : val));
    }
  }

  /// Objects the instruction mentions: the slots of their ground-truth changes it left out
  /// count as missing (table 9: "style and length omitted").
  void mentioned_object_slots() {
    std::set<int> mentioned;
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      if (a_.gt[g].related && subject_k_[g] >= 0) mentioned.insert(subject_k_[g]);
    }
    for (size_t g = 0; g < a_.gt.size(); ++g) {
      const GtMatch& m = a_.gt[g];
      if (m.related || subject_k_[g] < 0 || !mentioned.count(subject_k_[g])) continue;
      if (m.change.action == Action::Modify) {
        for (const auto& [attr, v] : m.change.to) slot(static_cast<int>(g), attr, true, SlotState::Missing);
      } else {
        slot(static_cast<int>(g), action_name(m.change.action), true, SlotState::Missing);
      }
    }
  }

  std::string describe_mention(const ObjectDesc& o) const {
    std::string s;
    for (const char* k : {"size", "color"}) {
      if (o.has(k)) s += o.get(k) + " ";
    }
    return s + o.noun;
  }

  const Vocabulary& v_;
  Alignment a_;
  std::vector<Known> known_;
  std::vector<int> subject_k_, with_k_;
  std::vector<Resolution> res_;
  std::vector<bool> used_;
  std::set<int> explained_;
  std::set<int> referenced_;
};

}  // namespace

const char* finding_name(FindingKind kind) {
  switch (kind) {
    case FindingKind::AttributeWrong: return "attribute_wrong";
    case FindingKind::SpatialWrong: return "spatial_wrong";
    case FindingKind::DirectionReversed: return "direction_reversed";
    case FindingKind::Viewpoint: return "viewpoint_confusion";
    case FindingKind::WrongSubject: return "wrong_subject";
    case FindingKind::TextWrong: return "text_wrong";
    case FindingKind::ExtraClaim: return "unchanged_element_claim";
    case FindingKind::Fabricated: return "fabricated_operation";
    case FindingKind::Omitted: return "omitted_change";
    case FindingKind::MissingCore: return "missing_result";
    case FindingKind::MissingDetail: return "missing_detail";
    case FindingKind::Ambiguous: return "ambiguous_reference";
    case FindingKind::Redundant: return "redundant";
    case FindingKind::Unparsed: return "unparsed";
  }
  return "?";
}

int Alignment::primary_total() const {
  return static_cast<int>(std::count_if(gt.begin(), gt.end(), [](const GtMatch& m) { return m.scope == Scope::Primary; }));
}

double Alignment::primary_hits() const {
  double h = 0;
  for (const auto& m : gt) {
    if (m.scope == Scope::Primary) h += m.hit;
  }
  return h;
}

bool Alignment::any_related() const {
  return std::any_of(gt.begin(), gt.end(), [](const GtMatch& m) { return m.related; });
}

bool Alignment::secondary_hit() const {
  return std::any_of(gt.begin(), gt.end(), [](const GtMatch& m) { return m.scope == Scope::Secondary && m.hit > 0; });
}

int Alignment::count(FindingKind kind) const {
  return static_cast<int>(std::count_if(findings.begin(), findings.end(), [&](const Finding& f) { return f.kind == kind; }));
}

Alignment align(const GroundTruth& gt, const ParsedInstruction& parsed, const Vocabulary& vocab) {
  return Aligner(vocab).run(gt, parsed);
}

Change normalize_change(const Change& c) {
  if (c.action != Action::Replace || !c.with || c.with->noun != c.object.noun) return c;
  Change m = c;
  m.action = Action::Modify;
  m.with.reset();
  for (const auto& [k, v] : c.with->attrs) {
    if (k == "position") continue;
    if (c.object.get(k) == v) continue;  // restated, unchanged
    m.to[k] = v;
  }
  if (m.to.empty()) m.unspecified.push_back("*");
  return m;
}

}  // namespace ec::eval
