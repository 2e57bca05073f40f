// The controlled vocabulary of the structured scorer (docs/evaluation.md): nouns, attributes and
// their values (as facets, so that "red" is a coarse form of "dark red"), verbs, directions, the
// forbidden vague terms of the paper's clarity prompt and target-leak phrases. It is plain data:
// the synthetic world's vocabulary is built in, and other domains (the paper's dress example in
// the tests, users' own data) build or load their own on top of base_vocabulary().
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/eval/change.h"

namespace ec::eval {

enum class NounKind {
  Object,      ///< an editable thing: "circle", "dress"
  Camera,      ///< the viewpoint (zoom, pan)
  Image,       ///< the whole picture (tone)
  Background,  ///< the backdrop (its colour can change)
  Collective,  ///< "all the objects"
  Generic,     ///< a hypernym: "object", "shape", "clothing"
};

struct NounDef {
  std::string name;
  NounKind kind = NounKind::Object;
  /// Surface forms, singular and plural; multi-word forms allowed ("piece of clothing").
  std::vector<std::string> words;
  /// Generic nouns: the Object nouns they may stand for (empty: any).
  std::vector<std::string> covers;
};

/// Facet name -> value; a value of an attribute is a set of facets ("dark red" = {hue: red,
/// shade: dark}). A stated value agrees with the truth when every facet it states is equal; it is
/// coarse when it leaves out facets the truth has.
using Facets = std::map<std::string, std::string>;

struct AttributeDef {
  std::string name;
  /// Words that name the attribute itself: "color", "colour", "pattern".
  std::vector<std::string> words;
  /// The facets of a fully specified value (empty: one facet named like the attribute).
  std::vector<std::string> facets;
  /// Facets without which a value states nothing (empty: any facet will do). A value with the
  /// core facets but not all facets is coarse ("red" for "dark red").
  std::vector<std::string> core_facets;
  /// Value assumed when an object description leaves the attribute out ("plain").
  std::string default_value;
  /// Ordered attributes: canonical values from low to high ("small", "large").
  std::vector<std::string> order;
  /// Comparatives ("larger") and verbs ("enlarge", "shorten") that state a direction.
  std::vector<std::string> increase_words, decrease_words, increase_verbs, decrease_verbs;
  /// A wrong value is a spatial error (table 5, row 4), not an attribute error.
  bool spatial = false;
  /// Describing a new object without this attribute is a core omission (table 5, row 3:
  /// "add flower" without its colour); otherwise it is a missing fine-grained detail.
  bool descriptive_core = false;
  /// Free-text values (a sign's text), written in quotes and compared case-insensitively.
  bool text = false;
};

struct ValueDef {
  std::string attribute;
  std::string name;
  Facets facets;
  /// Surface forms (empty: the name).
  std::vector<std::string> words;
};

struct VerbDef {
  std::string word;
  Action action = Action::Modify;
  /// Verbs that imply an attribute and direction: "enlarge" -> size increase, "brighten" -> tone.
  std::string attribute;
  std::string direction;
  /// A vague verb (adjust, modify, process, optimize): forbidden unless it states a target.
  bool vague = false;
};

struct DirectionDef {
  std::string name;  ///< canonical: left, right, up, down, in, out, clockwise, counterclockwise,
                     ///< brighter, darker, warmer, cooler
  std::vector<std::string> words;
};

/// The kinds of phrase the clarity prompt forbids (listing 3), subjective wording (table 9) and
/// target-leak phrases (table 5, row 6).
enum class TermKind { VagueVerb, VagueDegree, VagueReference, Subjective, Leak };
const char* term_kind_name(TermKind kind);

struct TermDef {
  std::string phrase;
  TermKind kind = TermKind::VagueDegree;
};

struct Vocabulary {
  std::vector<NounDef> nouns;
  std::vector<AttributeDef> attributes;
  std::vector<ValueDef> values;
  std::vector<VerbDef> verbs;
  std::vector<DirectionDef> directions;
  std::vector<TermDef> terms;
  /// Words that carry no content (articles, "also", "please"...); never counted as unparsed.
  std::vector<std::string> fillers;

  const NounDef* noun(std::string_view name) const;
  const AttributeDef* attribute(std::string_view name) const;
  const ValueDef* value(std::string_view attribute, std::string_view name) const;
  /// The facets of a canonical value; unknown values are one opaque facet.
  Facets facets(std::string_view attribute, std::string_view value) const;
  /// The canonical name of the value with exactly these facets, or the facet values joined.
  std::string value_name(std::string_view attribute, const Facets& facets) const;
  /// Position of a value in an ordered attribute, or -1.
  int rank(std::string_view attribute, std::string_view value) const;
  /// Whether `noun` (a Generic noun) may stand for the Object noun `object`.
  bool covers(const NounDef& generic, std::string_view object) const;
  /// Appends another vocabulary's entries (later definitions of the same name win on lookup).
  void extend(const Vocabulary& other);
};

/// Agreement of a stated attribute value with the true one.
enum class Agreement {
  Same,      ///< every stated facet is right and nothing the truth has is missing
  Coarse,    ///< right but less specific ("red" for "dark red"): a clarity matter
  Conflict,  ///< some stated facet is wrong: a factual error
};
Agreement compare_values(const Vocabulary& vocab, std::string_view attribute, std::string_view stated,
                         std::string_view truth);
/// Whether a stated value names the attribute's core facets (a value that does not is missing).
bool has_core(const Vocabulary& vocab, std::string_view attribute, std::string_view stated);

/// Verbs, directions, forbidden terms, fillers and the camera/image/background/collective and
/// generic nouns every domain shares; no domain nouns or attributes.
Vocabulary base_vocabulary();
/// base_vocabulary() plus the synthetic world (synthetic_words.h): shapes, signs, colours with
/// shades, sizes, patterns, grid positions, backgrounds.
const Vocabulary& synthetic_vocabulary();

/// A vocabulary as JSON (docs/evaluation.md) and back; domain vocabularies for user data are
/// written as JSON and layered on base_vocabulary() with Vocabulary::extend.
nlohmann::ordered_json to_json(const Vocabulary& vocab);
Vocabulary vocabulary_from_json(const nlohmann::json& j, const std::string& where);

/// Adds "verb", "verbs", "verbed", "verbing" forms (simple English inflection).
std::vector<std::string> inflect_verb(std::string_view word);

}  // namespace ec::eval
