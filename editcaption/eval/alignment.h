// Matches the changes read from an instruction against the ground-truth changes: which ground
// truth change each instruction change addresses (the paper's "hit": object + action type), what
// it gets wrong, and which attribute slots it fills. The scoring rules (rules.h) and the defect
// checklist read only this, so every rule can be tested on hand-written change lists.
#pragma once

#include <string>
#include <vector>

#include "editcaption/eval/change.h"
#include "editcaption/eval/parser.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::eval {

enum class FindingKind {
  AttributeWrong,     ///< a stated value contradicts the ground truth (object description or result)
  SpatialWrong,       ///< a stated position or direction contradicts it (not a reversal)
  DirectionReversed,  ///< the opposite direction or polarity (left/right, in/out, add/remove...)
  Viewpoint,          ///< a camera move described as an object move, or the other way round
  WrongSubject,       ///< the right kind of edit applied to another object
  TextWrong,          ///< a text edit that states other text
  ExtraClaim,         ///< a change claimed for an element the ground truth leaves unchanged
  Fabricated,         ///< an operation on something the ground truth does not have
  Omitted,            ///< a ground-truth change not mentioned at all
  MissingCore,        ///< an addressed change without its result ("change the color of the circle")
  MissingDetail,      ///< a fine-grained attribute missing or coarse ("blue" for "dark blue")
  Ambiguous,          ///< a reference that fits several objects
  Redundant,          ///< remove + add for a replacement, a no-op, a change stated twice
  Unparsed,           ///< a clause the parser could not read (unverifiable)
};
const char* finding_name(FindingKind kind);

/// Whether a finding concerns a primary change, a secondary change, or neither.
enum class Scope { Primary, Secondary, Other };

struct Finding {
  FindingKind kind = FindingKind::AttributeWrong;
  Scope scope = Scope::Other;
  int gt = -1;     ///< index into Alignment::gt
  int instr = -1;  ///< index into Alignment::instr
  Action action = Action::Modify;
  std::string attribute;
  std::string message;
};

enum class SlotState { Full, Coarse, Missing };

/// One attribute the ground truth expects the instruction to spell out for an object it mentions
/// (the clarity prompt's "attribute completeness per object").
struct Slot {
  int gt = -1;
  std::string name;
  bool core = false;
  SlotState state = SlotState::Missing;
};

struct GtMatch {
  Change change;  ///< normalized
  Scope scope = Scope::Primary;
  /// Completeness credit: 1 (object and action mentioned), 0.5 (mentioned without saying what it
  /// becomes), 0 (missed, or the direction reversed).
  double hit = 0;
  bool full_hit = false;  ///< hit == 1 with a stated result
  /// Some instruction change addresses it (a hit, a reversal or a viewpoint confusion).
  bool related = false;
  std::vector<int> instr;
};

struct Alignment {
  std::vector<GtMatch> gt;       ///< primary changes first, then secondary
  std::vector<Change> instr;     ///< normalized instruction changes
  std::vector<Finding> findings;
  std::vector<Slot> slots;
  /// Generic nouns, ambiguous references and pronouns other than it/this/that.
  int unclear_references = 0;

  int primary_total() const;
  double primary_hits() const;
  bool any_related() const;
  bool secondary_hit() const;
  int count(FindingKind kind) const;
};

/// A replacement by an object of the same kind is an attribute change ("replace the gold
/// necklace with a thin silver one" = the necklace's colour and thickness change).
Change normalize_change(const Change& change);

Alignment align(const GroundTruth& gt, const ParsedInstruction& parsed, const Vocabulary& vocab);

}  // namespace ec::eval
