#include "editcaption/eval/parser.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <set>

#include "editcaption/core/strings.h"

namespace ec::eval {
namespace {

// ---------------------------------------------------------------------------------------------
// Words

/// A word of the instruction, or a sentence/comma marker. Quoted text becomes one word whose
/// `quote` holds the original spelling.
struct Word {
  std::string text;
  bool sentence_end = false;
  bool comma = false;
  bool is_quote = false;
  std::string quote;
};

bool is_word_char(unsigned char c) { return std::isalnum(c) || c >= 0x80; }

// UTF-8 curly quotes: left/right double (E2 80 9C/9D) and single (E2 80 98/99).
int quote_mark_length(std::string_view s, size_t i, bool& opening) {
  if (s[i] == '"') {
    opening = true;  // resolved by the caller
    return 1;
  }
  if (i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xE2 && static_cast<unsigned char>(s[i + 1]) == 0x80) {
    unsigned char c = static_cast<unsigned char>(s[i + 2]);
    if (c == 0x9C || c == 0x98) {
      opening = true;
      return 3;
    }
    if (c == 0x9D || c == 0x99) {
      opening = false;
      return 3;
    }
  }
  return 0;
}

std::string normalize_word(std::string w) {
  for (auto& ch : w) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return w;
}

/// Splits into words, markers and quoted spans. Hyphens separate words ("top-left" reads as
/// "top left"), possessive 's is dropped, the degree sign reads "degrees".
std::vector<Word> split_words(std::string_view s) {
  std::vector<Word> out;
  std::string cur;
  auto flush = [&] {
    if (!cur.empty()) {
      Word w;
      w.text = normalize_word(cur);
      out.push_back(std::move(w));
    }
    cur.clear();
  };
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    bool opening = false;
    int qlen = quote_mark_length(s, i, opening);
    bool ascii_single = c == '\'' && cur.empty() && i + 1 < s.size() && std::isalnum(static_cast<unsigned char>(s[i + 1]));
    if ((qlen > 0 && (s[i] == '"' || opening)) || ascii_single) {
      // Find the closing mark: the same ASCII quote, or any closing curly quote.
      size_t start = i + (ascii_single ? 1 : qlen);
      size_t end = std::string_view::npos;
      size_t close_len = 0;
      for (size_t j = start; j < s.size(); ++j) {
        if (ascii_single) {
          if (s[j] == '\'' && (j + 1 == s.size() || !std::isalnum(static_cast<unsigned char>(s[j + 1])))) {
            end = j;
            close_len = 1;
            break;
          }
          continue;
        }
        bool op = false;
        int l = quote_mark_length(s, j, op);
        if (l > 0 && (s[j] == '"' || !op)) {
          end = j;
          close_len = l;
          break;
        }
      }
      if (end != std::string_view::npos) {
        flush();
        Word w;
        w.is_quote = true;
        w.quote = std::string(trim(s.substr(start, end - start)));
        w.text = "\"" + w.quote + "\"";
        out.push_back(w);
        i = end + close_len;
        continue;
      }
      // Unbalanced quote: ignore the mark.
      i += ascii_single ? 1 : qlen;
      continue;
    }
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xB0) {  // degree sign
      flush();
      Word w;
      w.text = "degrees";
      out.push_back(std::move(w));
      i += 2;
      continue;
    }
    if (c == '\'' && !cur.empty()) {
      // "circle's" -> "circle"; "don't" -> "dont".
      if (i + 1 < s.size() && (s[i + 1] == 's' || s[i + 1] == 'S') &&
          (i + 2 == s.size() || !is_word_char(static_cast<unsigned char>(s[i + 2])))) {
        i += 2;
        continue;
      }
      ++i;
      continue;
    }
    if (is_word_char(c)) {
      cur += static_cast<char>(c);
      ++i;
      continue;
    }
    flush();
    if (c == '.' || c == ';' || c == '!' || c == '?' || c == ':' || c == '\n') {
      if (!out.empty() && !out.back().sentence_end) {
        Word w;
        w.sentence_end = true;
        w.text = ".";
        out.push_back(w);
      }
    } else if (c == ',') {
      Word w;
      w.comma = true;
      w.text = ",";
      out.push_back(w);
    }
    ++i;
  }
  flush();
  return out;
}

std::string phrase_key(std::string_view words) {
  std::string s;
  for (char ch : words) {
    if (ch == '-' || ch == '_') ch = ' ';
    s += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  }
  std::vector<std::string> parts;
  for (auto& p : split(s, ' ')) {
    if (!p.empty()) parts.push_back(p);
  }
  return join(parts, " ");
}

size_t count_words(const std::string& key) { return std::count(key.begin(), key.end(), ' ') + 1; }

// ---------------------------------------------------------------------------------------------
// Tokens

enum class Lex { Noun, Value, AttrKey, Verb, Direction, Comparative, Prep, Conj, Number, Quote, Pronoun, One, Keep,
                 Filler };

struct Reading {
  Lex kind = Lex::Filler;
  const NounDef* noun = nullptr;
  const ValueDef* value = nullptr;
  const AttributeDef* attr = nullptr;
  const VerbDef* verb = nullptr;
  std::string text;  // direction, preposition, comparative direction, pronoun, quote
  int number = 0;
};

Reading reading(Lex kind, std::string text = "") {
  Reading r;
  r.kind = kind;
  r.text = std::move(text);
  return r;
}

Reading number_reading(int n) {
  Reading r = reading(Lex::Number);
  r.number = n;
  return r;
}
Reading attr_reading(Lex kind, const AttributeDef* a, std::string text) {
  Reading r = reading(kind, std::move(text));
  r.attr = a;
  return r;
}
Reading verb_reading(const VerbDef* v) {
  Reading r = reading(Lex::Verb);
  r.verb = v;
  return r;
}
Reading value_reading(const ValueDef* v) {
  Reading r = reading(Lex::Value);
  r.value = v;
  return r;
}
Reading noun_reading(const NounDef* n) {
  Reading r = reading(Lex::Noun);
  r.noun = n;
  return r;
}

struct Token {
  std::string text;
  std::vector<Reading> readings;  // empty: unknown word
  size_t begin = 0, end = 0;      // word range
  bool sentence_end = false;
  bool comma = false;

  const Reading* find(Lex kind) const {
    for (const auto& r : readings) {
      if (r.kind == kind) return &r;
    }
    return nullptr;
  }
  bool is(Lex kind) const { return find(kind) != nullptr; }
  bool only_filler() const { return !readings.empty() && std::all_of(readings.begin(), readings.end(), [](const Reading& r) { return r.kind == Lex::Filler; }); }
};

// ---------------------------------------------------------------------------------------------
// Phrases: noun phrases with their modifiers, bare values, directions..., each with the
// preposition in front of it.

struct Phrase {
  enum Kind { NP, VAL, KEY, DIR, CMP, NUM, QUOTE, VERB } kind = NP;
  std::string prep;
  // NP
  std::string noun;
  NounKind noun_kind = NounKind::Object;
  Reference ref = Reference::Named;
  // NP modifiers and VAL values: attribute -> facets
  std::map<std::string, Facets> attrs;
  std::string attr;  // KEY, CMP
  std::string text;  // DIR name, CMP increase/decrease, QUOTE text
  int number = 0;
  const VerbDef* verb = nullptr;
};

struct Clause {
  std::vector<Token> tokens;
  std::vector<Phrase> phrases;
  bool keep = false;  // "keep the rest unchanged": states no change
  std::string text;
  size_t word_begin = 0, word_end = 0;
};

bool has_target(const Change& c) {
  if (!c.unspecified.empty()) return false;
  if (c.action == Action::Modify) return !c.to.empty() || !c.direction.empty();
  if (c.action == Action::Replace) return c.with.has_value();
  return true;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Lexicon

struct InstructionParser::Lexicon {
  std::map<std::string, std::vector<Reading>> entries;
  size_t max_words = 1;
  std::vector<std::pair<std::string, TermKind>> terms;  // longest first
  size_t max_term_words = 1;
  std::deque<VerbDef> owned_verbs;  // attribute verbs ("enlarge"), stable addresses

  void add(const std::string& phrase, Reading r) {
    std::string key = phrase_key(phrase);
    if (key.empty()) return;
    max_words = std::max(max_words, count_words(key));
    entries[key].push_back(std::move(r));
  }

  explicit Lexicon(const Vocabulary& v) {
    for (const auto& n : v.nouns) {
      for (const auto& w : n.words) add(w, noun_reading(&n));
      add(n.name, noun_reading(&n));
    }
    for (const auto& a : v.attributes) {
      for (const auto& w : a.words) add(w, attr_reading(Lex::AttrKey, &a, ""));
      for (const auto& w : a.increase_words) add(w, attr_reading(Lex::Comparative, &a, "increase"));
      for (const auto& w : a.decrease_words) add(w, attr_reading(Lex::Comparative, &a, "decrease"));
      for (const auto& w : a.increase_verbs) {
        for (const auto& f : inflect_verb(w)) {
          owned_verbs.push_back({f, Action::Modify, a.name, "increase", false});
          add(f, verb_reading(&owned_verbs.back()));
        }
      }
      for (const auto& w : a.decrease_verbs) {
        for (const auto& f : inflect_verb(w)) {
          owned_verbs.push_back({f, Action::Modify, a.name, "decrease", false});
          add(f, verb_reading(&owned_verbs.back()));
        }
      }
    }
    for (const auto& val : v.values) {
      if (val.words.empty()) add(val.name, value_reading(&val));
      for (const auto& w : val.words) add(w, value_reading(&val));
    }
    for (const auto& verb : v.verbs) add(verb.word, verb_reading(&verb));
    for (const auto& d : v.directions) {
      for (const auto& w : d.words) add(w, reading(Lex::Direction, d.name));
    }
    for (const auto& f : v.fillers) add(f, reading(Lex::Filler));
    for (const char* p : {"to", "into", "onto", "toward", "towards"}) add(p, reading(Lex::Prep, "to"));
    add("from", reading(Lex::Prep, "from"));
    for (const char* p : {"with", "by"}) add(p, reading(Lex::Prep, "with"));
    for (const char* p : {"at", "on", "in", "inside", "within", "near"}) add(p, reading(Lex::Prep, "at"));
    add("of", reading(Lex::Prep, "of"));
    add("for", reading(Lex::Prep, "for"));
    add("and", reading(Lex::Conj, "and"));
    for (const char* c : {"then", "plus", "as well as", "after that", "and then"}) add(c, reading(Lex::Conj, "then"));
    for (const char* p : {"it", "them", "they", "this", "that", "these", "those"}) add(p, reading(Lex::Pronoun, p));
    for (const char* p : {"one", "ones"}) add(p, reading(Lex::One));
    for (const char* k : {"keep", "keeps", "kept", "keeping", "leave", "leaves", "leaving", "retain", "retains",
                          "preserve", "preserves", "maintain", "maintains", "remain", "remains", "remained",
                          "unchanged", "untouched", "stay", "stays", "intact", "as is", "unaltered", "unmodified"}) {
      add(k, reading(Lex::Keep));
    }
    const std::pair<const char*, int> kNumbers[] = {{"ninety", 90},  {"forty five", 45},     {"a hundred and eighty", 180},
                                                    {"one hundred eighty", 180}, {"quarter turn", 90}, {"half turn", 180}};
    for (const auto& [w, n] : kNumbers) add(w, number_reading(n));

    for (const auto& t : v.terms) {
      std::string key = phrase_key(t.phrase);
      terms.emplace_back(key, t.kind);
      max_term_words = std::max(max_term_words, count_words(key));
    }
    std::stable_sort(terms.begin(), terms.end(),
                     [](const auto& a, const auto& b) { return count_words(a.first) > count_words(b.first); });
  }
};

InstructionParser::InstructionParser(const Vocabulary& vocab)
    : vocab_(&vocab), lexicon_(std::make_unique<Lexicon>(vocab)) {}
InstructionParser::~InstructionParser() = default;
InstructionParser::InstructionParser(InstructionParser&&) noexcept = default;
InstructionParser& InstructionParser::operator=(InstructionParser&&) noexcept = default;

namespace {

// ---------------------------------------------------------------------------------------------
// Interpretation

class ClauseReader {
 public:
  ClauseReader(const Vocabulary& vocab, ObjectDesc& last_np) : vocab_(vocab), last_np_(last_np) {}

  /// Groups a clause's tokens into phrases.
  void chunk(Clause& clause, std::vector<std::string>& unknown, int& other_pronouns) {
    auto& toks = clause.tokens;
    std::string prep;
    std::map<std::string, Facets> values;
    bool have_values = false;
    bool have_verb = false;
    auto next_content = [&](size_t i) -> const Token* {
      for (size_t j = i + 1; j < toks.size(); ++j) {
        if (!toks[j].only_filler()) return &toks[j];
      }
      return nullptr;
    };
    auto flush_values = [&] {
      if (!have_values) return;
      Phrase p;
      p.kind = Phrase::VAL;
      p.prep = prep;
      p.attrs = values;
      clause.phrases.push_back(std::move(p));
      values.clear();
      have_values = false;
      prep.clear();
    };
    auto add_np = [&](Phrase p) {
      for (auto& [k, f] : values) p.attrs[k] = f;
      values.clear();
      have_values = false;
      p.prep = prep;
      prep.clear();
      clause.phrases.push_back(std::move(p));
    };

    for (size_t i = 0; i < toks.size(); ++i) {
      const Token& t = toks[i];
      if (t.readings.empty()) {
        unknown.push_back(t.text);
        continue;
      }
      const Token* next = next_content(i);
      const Reading* r = &t.readings.front();
      // Choose among readings by context.
      const Reading* dir = t.find(Lex::Direction);
      const Reading* val = t.find(Lex::Value);
      const Reading* verb = t.find(Lex::Verb);
      if (dir && val) {
        bool prenominal = next && (next->is(Lex::Noun) || next->is(Lex::Value) || next->is(Lex::One));
        r = (prep == "from" || prep == "at" || prenominal) ? val : dir;
      } else if (verb && !have_verb) {
        r = verb;
      } else if (verb && t.readings.size() > 1) {
        for (const auto& x : t.readings) {
          if (x.kind != Lex::Verb) r = &x;
        }
      }
      switch (r->kind) {
        case Lex::Filler:
          break;
        case Lex::Keep:
          // "keep the rest unchanged" states no change; "move X while Y remains" still moves X.
          if (!have_verb) clause.keep = true;
          break;
        case Lex::Value: {
          Facets f = r->value->facets;
          auto& slot = values[r->value->attribute];
          for (auto& [k, x] : f) slot[k] = x;
          have_values = true;
          break;
        }
        case Lex::Noun: {
          Phrase p;
          p.noun = r->noun->name;
          p.noun_kind = r->noun->kind;
          p.ref = r->noun->kind == NounKind::Generic      ? Reference::Generic
                  : r->noun->kind == NounKind::Collective ? Reference::Collective
                                                          : Reference::Named;
          add_np(std::move(p));
          last_np_ = ObjectDesc{};
          last_np_.noun = clause.phrases.back().noun;
          last_np_.ref = clause.phrases.back().ref;
          last_kind_ = r->noun->kind;
          break;
        }
        case Lex::One: {
          Phrase p;
          p.noun = last_np_.noun;
          p.noun_kind = last_kind_;
          add_np(std::move(p));
          break;
        }
        case Lex::Pronoun: {
          // "that piece of clothing": a determiner, not a reference of its own.
          if (next && (next->is(Lex::Noun) || next->is(Lex::Value) || next->is(Lex::One)) &&
              (r->text == "that" || r->text == "this" || r->text == "these" || r->text == "those")) {
            break;
          }
          if (r->text != "it" && r->text != "this" && r->text != "that") ++other_pronouns;
          Phrase p;
          p.noun = last_np_.noun;
          p.noun_kind = last_kind_;
          p.ref = Reference::Pronoun;
          add_np(std::move(p));
          break;
        }
        default: {
          flush_values();
          Phrase p;
          switch (r->kind) {
            case Lex::Prep:
              prep = r->text;
              continue;
            case Lex::Conj:
              prep = "and";
              continue;
            case Lex::AttrKey:
              p.kind = Phrase::KEY;
              p.attr = r->attr->name;
              break;
            case Lex::Direction:
              p.kind = Phrase::DIR;
              p.text = r->text;
              break;
            case Lex::Comparative:
              p.kind = Phrase::CMP;
              p.attr = r->attr->name;
              p.text = r->text;
              break;
            case Lex::Number:
              p.kind = Phrase::NUM;
              p.number = r->number;
              break;
            case Lex::Quote:
              p.kind = Phrase::QUOTE;
              p.text = r->text;
              break;
            case Lex::Verb:
              p.kind = Phrase::VERB;
              p.verb = r->verb;
              have_verb = true;
              break;
            default:
              continue;
          }
          p.prep = prep;
          prep.clear();
          clause.phrases.push_back(std::move(p));
        }
      }
    }
    flush_values();
  }

  /// The changes a clause states.
  std::vector<Change> interpret(const Clause& clause) {
    const auto& ph = clause.phrases;
    const VerbDef* verb = nullptr;
    for (const auto& p : ph) {
      if (p.kind == Phrase::VERB) {
        verb = p.verb;
        break;
      }
    }
    Action action = verb ? verb->action : Action::Modify;
    // "turn the arrow clockwise" rotates; "turn the circle blue" recolours.
    bool has_rotation = std::any_of(ph.begin(), ph.end(), [](const Phrase& p) {
      return (p.kind == Phrase::DIR && (p.text == "clockwise" || p.text == "counterclockwise")) || p.kind == Phrase::NUM;
    });
    if (verb && action == Action::Modify && verb->attribute.empty() && has_rotation) action = Action::Rotate;

    std::vector<const Phrase*> nps;
    for (const auto& p : ph) {
      if (p.kind == Phrase::NP) nps.push_back(&p);
    }
    // The image as a place ("add a circle to the image") is not an object of the edit.
    auto drop_image_nps = [&] {
      std::erase_if(nps, [](const Phrase* p) { return p->noun_kind == NounKind::Image; });
    };

    Change c;
    c.action = action;
    c.vague_verb = verb && verb->vague;
    c.clause = clause.text;

    auto vals_with = [&](std::initializer_list<const char*> preps) {
      std::map<std::string, Facets> out;
      for (const auto& p : ph) {
        if (p.kind != Phrase::VAL) continue;
        if (std::find_if(preps.begin(), preps.end(), [&](const char* x) { return p.prep == x; }) == preps.end()) continue;
        for (const auto& [k, f] : p.attrs) {
          for (const auto& [fk, fv] : f) out[k][fk] = fv;
        }
      }
      return out;
    };
    auto first_dir = [&](std::initializer_list<const char*> names) -> std::string {
      for (const auto& p : ph) {
        if (p.kind != Phrase::DIR) continue;
        for (const char* n : names) {
          if (p.text == n) return p.text;
        }
      }
      return "";
    };
    auto quote_with = [&](const char* prep) -> std::string {
      for (const auto& p : ph) {
        if (p.kind == Phrase::QUOTE && p.prep == prep) return p.text;
      }
      return "";
    };
    auto subject_np = [&]() -> const Phrase* {
      for (const Phrase* p : nps) {
        if (p->prep != "to" && p->prep != "with" && p->prep != "and") return p;
      }
      return nullptr;
    };
    auto np_with = [&](std::initializer_list<const char*> preps, const Phrase* not_this) -> const Phrase* {
      for (const Phrase* p : nps) {
        if (p == not_this) continue;
        for (const char* x : preps) {
          if (p->prep == x) return p;
        }
      }
      return nullptr;
    };

    if (action == Action::Zoom) {
      c.object.noun = "camera";
      c.direction = zoom_direction(clause);
      return {c};
    }
    if (action == Action::Tone) {
      c.object.noun = "image";
      c.direction = verb->direction;
      return {c};
    }
    if (action == Action::Pan) {
      c.object.noun = "camera";
      c.direction = first_dir({"left", "right", "up", "down"});
      return {c};
    }

    if (action == Action::Add) {
      drop_image_nps();
      if (nps.empty()) return {};
      const Phrase* obj = nps.front();
      c.object = to_object(*obj);
      auto at = vals_with({"at", "to", "from"});
      set_values(c.object.attrs, at);
      if (!c.object.has("position")) {
        std::string d = first_dir({"left", "right", "up", "down"});
        if (d == "left" || d == "right") c.object.attrs["position"] = d;
      }
      if (std::string q = quote_with("with"); !q.empty()) c.object.attrs["text"] = q;
      if (std::string q = quote_with(""); !q.empty()) c.object.attrs["text"] = q;
      return {c};
    }

    if (action == Action::Remove) {
      drop_image_nps();
      const Phrase* s = subject_np();
      if (!s) return {};
      c.object = to_object(*s);
      set_values(c.object.attrs, vals_with({"from", "at"}));
      return {c};
    }

    if (action == Action::Move) {
      drop_image_nps();
      const Phrase* s = subject_np();
      if (!s) return {};
      c.object = to_object(*s);
      if (s->noun_kind == NounKind::Camera) {
        c.action = Action::Pan;
        c.object = ObjectDesc{};
        c.object.noun = "camera";
        c.direction = first_dir({"left", "right", "up", "down"});
        return {c};
      }
      c.direction = first_dir({"left", "right", "up", "down"});
      set_values(c.object.attrs, vals_with({"from"}));
      auto to = vals_with({"to"});
      if (auto it = to.find("position"); it != to.end()) {
        c.to["position"] = vocab_.value_name("position", it->second);
        if (c.direction.empty() && it->second.size() == 1) {
          const auto& [facet, v] = *it->second.begin();
          if (facet == "col") c.direction = v == "left" ? "left" : v == "right" ? "right" : "";
          if (facet == "row") c.direction = v == "top" ? "up" : v == "bottom" ? "down" : "";
        }
      }
      if (c.direction.empty() && c.object.has("position") && c.to.count("position")) {
        c.direction = derive_direction(c.object.get("position"), c.to["position"]);
      }
      return {c};
    }

    if (action == Action::Rotate) {
      drop_image_nps();
      const Phrase* s = subject_np();
      if (!s) return {};
      c.object = to_object(*s);
      c.direction = first_dir({"clockwise", "counterclockwise"});
      for (const auto& p : ph) {
        if (p.kind == Phrase::NUM) c.angle = p.number;
      }
      return {c};
    }

    if (action == Action::Swap) {
      drop_image_nps();
      if (nps.size() >= 2) {
        c.object = to_object(*nps[0]);
        c.with = to_object(*nps[1]);
        return {c};
      }
      if (nps.empty()) return {};
      // "swap the necklace": a replacement whose result is not said.
      c.action = Action::Replace;
      c.object = to_object(*nps[0]);
      auto to = vals_with({"to", "with", ""});
      if (!to.empty()) {
        c.action = Action::Modify;
        set_values(c.to, to);
      } else {
        c.unspecified.push_back("object");
      }
      return {c};
    }

    if (action == Action::Replace) {
      drop_image_nps();
      const Phrase* s = subject_np();
      if (!s) return {};
      c.object = to_object(*s);
      set_values(c.object.attrs, vals_with({"from", "at"}));
      const Phrase* w = np_with({"with", "to", "for"}, s);
      if (w) {
        c.with = to_object(*w);
        if (c.with->ref == Reference::Named && c.with->noun.empty()) c.with->noun = c.object.noun;
        set_values(c.with->attrs, vals_with({"with", "to"}));
      } else {
        auto to = vals_with({"with", "to"});
        if (!to.empty()) {
          c.action = Action::Modify;
          set_values(c.to, to);
        } else {
          c.unspecified.push_back("object");
        }
      }
      return {c};
    }

    // Modify: explicit verbs, verbless clauses ("dress to blue", "long blue dress") and verbs that
    // carry an attribute ("enlarge", "shorten").
    const Phrase* s = subject_np();
    const Phrase* target = np_with({"to"}, s);
    if (!s && !target) {
      // "make it brighter" with nothing to refer to, or a bare "brighter".
      std::string tone = first_dir({"brighter", "darker", "warmer", "cooler"});
      if (!tone.empty()) {
        c.action = Action::Tone;
        c.object.noun = "image";
        c.direction = tone;
        return {c};
      }
      return {};
    }
    if (s) {
      c.object = to_object(*s);
    } else {
      c.object.noun = target->noun;  // "change to a pink mini dress"
      c.object.ref = target->ref;
    }
    std::set<std::string> keys;
    for (const auto& p : ph) {
      if (p.kind == Phrase::KEY) keys.insert(p.attr);
    }
    if (target && target->noun != c.object.noun && target->noun_kind == NounKind::Object &&
        s && s->noun_kind == NounKind::Object && target->ref == Reference::Named) {
      // "change the red circle to a blue square", "turn the star into a heart"
      c.action = Action::Replace;
      c.with = to_object(*target);
      return {c};
    }
    if (target) set_values(c.to, target->attrs);
    set_values(c.to, vals_with({"to", "", "and"}));
    // A verbless noun phrase states the target: "long blue dress", "pink dress".
    if (!verb && c.to.empty() && s && target == nullptr) {
      c.to = c.object.attrs;
      c.object.attrs.clear();
    }
    set_values(c.object.attrs, vals_with({"from"}));
    // Quoted text: from "SHOP" to "OPEN".
    if (std::string q = quote_with("from"); !q.empty()) c.object.attrs["text"] = q;
    if (std::string q = quote_with("to"); !q.empty()) c.to["text"] = q;
    if (std::string q = quote_with(""); !q.empty() && !c.to.count("text")) c.to["text"] = q;
    if (verb && !verb->attribute.empty()) {
      c.to[verb->attribute];
      c.direction = verb->direction;
    }
    for (const auto& p : ph) {
      if (p.kind == Phrase::CMP) {
        c.to[p.attr];
        c.direction = p.text;
      }
    }
    std::string tone = first_dir({"brighter", "darker", "warmer", "cooler"});
    NounKind kind = s ? s->noun_kind : target->noun_kind;
    if (!tone.empty() && (kind == NounKind::Image || kind == NounKind::Camera)) {
      Change t;
      t.action = Action::Tone;
      t.object.noun = "image";
      t.direction = tone;
      t.clause = c.clause;
      t.vague_verb = c.vague_verb;
      return {t};
    }
    if (!tone.empty() && (tone == "brighter" || tone == "darker") && vocab_.attribute("color")) {
      c.to["color"] = tone == "brighter" ? "light" : "dark";
    }
    for (const auto& k : keys) {
      if (!c.to.count(k)) c.unspecified.push_back(k);
    }
    if (c.to.empty() && c.unspecified.empty() && c.direction.empty()) {
      // A bare noun phrase states nothing; an explicit verb without a target is a change whose
      // result is not said ("adjust the circle", "optimize the image").
      if (!verb) return {};
      c.unspecified.push_back("*");
    }
    return {c};
  }

 private:
  ObjectDesc to_object(const Phrase& p) const {
    ObjectDesc o;
    o.noun = p.noun;
    o.ref = p.ref;
    set_values(o.attrs, p.attrs);
    return o;
  }

  void set_values(Values& out, const std::map<std::string, Facets>& in) const {
    for (const auto& [attr, f] : in) {
      if (f.empty()) continue;
      if (auto it = out.find(attr); it != out.end() && !it->second.empty()) {
        // Merge with what is already stated ("dark" + "red").
        Facets merged = vocab_.facets(attr, it->second);
        for (const auto& [k, v] : f) merged[k] = v;
        it->second = vocab_.value_name(attr, merged);
      } else {
        out[attr] = vocab_.value_name(attr, f);
      }
    }
  }

  std::string derive_direction(const std::string& from, const std::string& to) const {
    Facets a = vocab_.facets("position", from), b = vocab_.facets("position", to);
    static const std::map<std::string, int> kCol = {{"left", 0}, {"center", 1}, {"right", 2}};
    static const std::map<std::string, int> kRow = {{"top", 0}, {"middle", 1}, {"bottom", 2}};
    int dc = 0, dr = 0;
    if (a.count("col") && b.count("col") && kCol.count(a["col"]) && kCol.count(b["col"])) dc = kCol.at(b["col"]) - kCol.at(a["col"]);
    if (a.count("row") && b.count("row") && kRow.count(a["row"]) && kRow.count(b["row"])) dr = kRow.at(b["row"]) - kRow.at(a["row"]);
    if (dc != 0 && dr == 0) return dc < 0 ? "left" : "right";
    if (dr != 0 && dc == 0) return dr < 0 ? "up" : "down";
    return "";
  }

  static std::string zoom_direction(const Clause& clause) {
    bool after_verb = false;
    for (const auto& t : clause.tokens) {
      if (t.is(Lex::Verb) && t.find(Lex::Verb)->verb->action == Action::Zoom) {
        after_verb = true;
        continue;
      }
      if (!after_verb) continue;
      if (t.text == "in" || t.text == "into" || t.text == "closer") return "in";
      if (t.text == "out" || t.text == "away" || t.text == "farther" || t.text == "further" || t.text == "back") return "out";
    }
    return "";
  }

  const Vocabulary& vocab_;
  ObjectDesc& last_np_;
  NounKind last_kind_ = NounKind::Object;
};

}  // namespace

ParsedInstruction InstructionParser::parse(std::string_view instruction) const {
  ParsedInstruction out;
  std::vector<Word> words = split_words(instruction);
  for (const auto& w : words) {
    if (!w.sentence_end && !w.comma) ++out.word_count;
  }

  // Forbidden terms and leak phrases: longest match first, non-overlapping, within sentences.
  std::vector<bool> covered(words.size(), false);
  // Words of vague-degree, subjective and leak phrases carry no content of their own ("a little"
  // must not read as the size "little"); vague verbs and pronouns keep their readings.
  std::vector<bool> neutral(words.size(), false);
  struct TermAt {
    TermHit hit;
    size_t word;
  };
  std::vector<TermAt> term_hits;
  for (size_t i = 0; i < words.size(); ++i) {
    if (covered[i] || words[i].sentence_end || words[i].comma || words[i].is_quote) continue;
    for (const auto& [key, kind] : lexicon_->terms) {
      size_t n = count_words(key);
      if (i + n > words.size()) continue;
      std::vector<std::string> parts;
      bool ok = true;
      for (size_t k = 0; k < n; ++k) {
        if (words[i + k].sentence_end || words[i + k].comma || words[i + k].is_quote) {
          ok = false;
          break;
        }
        parts.push_back(words[i + k].text);
      }
      if (!ok || join(parts, " ") != key) continue;
      for (size_t k = 0; k < n; ++k) {
        covered[i + k] = true;
        neutral[i + k] = kind == TermKind::VagueDegree || kind == TermKind::Subjective || kind == TermKind::Leak;
      }
      term_hits.push_back({{key, kind}, i});
      break;
    }
  }

  // Tokens: longest lexicon match.
  std::vector<Token> tokens;
  for (size_t i = 0; i < words.size();) {
    const Word& w = words[i];
    Token t;
    t.begin = i;
    if (w.sentence_end || w.comma) {
      t.sentence_end = w.sentence_end;
      t.comma = w.comma;
      t.text = w.text;
      t.end = i + 1;
      tokens.push_back(std::move(t));
      ++i;
      continue;
    }
    if (w.is_quote) {
      t.text = w.text;
      t.readings.push_back(reading(Lex::Quote, w.quote));
      t.end = i + 1;
      tokens.push_back(std::move(t));
      ++i;
      continue;
    }
    bool digits = !w.text.empty() && std::all_of(w.text.begin(), w.text.end(), [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)); });
    if (digits) {
      t.text = w.text;
      t.readings.push_back(number_reading(w.text.size() < 6 ? std::stoi(w.text) : 0));
      t.end = i + 1;
      tokens.push_back(std::move(t));
      ++i;
      continue;
    }
    if (neutral[i]) {
      t.text = w.text;
      t.readings.push_back(reading(Lex::Filler));
      t.end = i + 1;
      tokens.push_back(std::move(t));
      ++i;
      continue;
    }
    size_t best = 0;
    const std::vector<Reading>* readings = nullptr;
    for (size_t n = std::min(lexicon_->max_words, words.size() - i); n >= 1; --n) {
      std::vector<std::string> parts;
      bool ok = true;
      for (size_t k = 0; k < n; ++k) {
        const Word& x = words[i + k];
        if (x.sentence_end || x.comma || x.is_quote || (k > 0 && neutral[i + k])) {
          ok = false;
          break;
        }
        parts.push_back(x.text);
      }
      if (!ok) continue;
      auto it = lexicon_->entries.find(join(parts, " "));
      if (it != lexicon_->entries.end()) {
        best = n;
        readings = &it->second;
        t.text = it->first;
        break;
      }
    }
    if (!readings) {
      best = 1;
      t.text = w.text;
      // Words inside a forbidden/leak phrase are known (they are counted as terms).
      if (covered[i]) t.readings.push_back(reading(Lex::Filler));
    } else {
      t.readings = *readings;
    }
    t.end = i + best;
    tokens.push_back(std::move(t));
    i += best;
  }

  // Sentences, then clauses at "and"/"then"/"," followed by a verb.
  std::vector<Clause> clauses;
  auto original_text = [&](size_t b, size_t e) {
    std::vector<std::string> parts;
    for (size_t k = b; k < e && k < words.size(); ++k) {
      if (!words[k].sentence_end) parts.push_back(words[k].text);
    }
    return join(parts, " ");
  };
  Clause cur;
  auto close = [&](size_t end_word) {
    if (!cur.tokens.empty()) {
      cur.word_end = end_word;
      cur.text = original_text(cur.word_begin, cur.word_end);
      clauses.push_back(std::move(cur));
    }
    cur = Clause{};
    cur.word_begin = end_word;
  };
  bool clause_has_verb = false;
  for (size_t k = 0; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    if (t.sentence_end) {
      close(t.end);
      clause_has_verb = false;
      continue;
    }
    bool splitter = t.comma || t.is(Lex::Conj);
    if (splitter) {
      size_t j = k + 1;
      while (j < tokens.size() && (tokens[j].only_filler() || tokens[j].is(Lex::Conj))) ++j;
      if (j < tokens.size() && tokens[j].is(Lex::Verb) && !tokens[j].sentence_end &&
          (clause_has_verb || !cur.tokens.empty())) {
        close(t.end);
        clause_has_verb = false;
        continue;
      }
    }
    if (cur.tokens.empty() && (splitter || t.only_filler())) continue;  // "..., then delete": no stray "then"
    if (cur.tokens.empty()) cur.word_begin = t.begin;
    if (t.is(Lex::Verb)) clause_has_verb = true;
    if (!t.comma) cur.tokens.push_back(t);
  }
  close(words.size());

  ObjectDesc last_np;
  ClauseReader reader(*vocab_, last_np);
  std::vector<std::vector<Change>> per_clause;
  for (auto& clause : clauses) {
    reader.chunk(clause, out.unknown_words, out.other_pronouns);
    std::vector<Change> changes = clause.keep ? std::vector<Change>{} : reader.interpret(clause);
    bool content = std::any_of(clause.tokens.begin(), clause.tokens.end(), [](const Token& t) {
      if (t.readings.empty()) return true;
      for (const auto& r : t.readings) {
        if (r.kind != Lex::Filler && r.kind != Lex::Prep && r.kind != Lex::Conj) return true;
      }
      return false;
    });
    if (changes.empty() && !clause.keep && content) out.unparsed.push_back(clause.text);
    for (auto& c : changes) out.changes.push_back(c);
    per_clause.push_back(std::move(changes));
  }

  for (const auto& th : term_hits) {
    if (th.hit.kind == TermKind::VagueVerb) {
      // adjust/modify/process/optimize are forbidden only "without explicit target state".
      bool vague = false;
      for (size_t k = 0; k < clauses.size(); ++k) {
        if (th.word < clauses[k].word_begin || th.word >= clauses[k].word_end) continue;
        for (const auto& c : per_clause[k]) {
          if (c.vague_verb && !has_target(c)) vague = true;
        }
        if (per_clause[k].empty()) vague = true;
      }
      if (!vague) continue;
    }
    out.terms.push_back(th.hit);
  }
  return out;
}

}  // namespace ec::eval
