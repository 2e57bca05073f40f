// Reads an editing instruction into typed changes with a controlled vocabulary: the synthetic
// grammar (grammar.h writes it) and reasonable paraphrases ("shift the red circle to the left",
// "the camera zooms in", "dress to blue", "replace the necklace with a silver one"). It also
// records what the clarity and defect rules need to see in the wording: forbidden vague terms,
// target-leak phrases, words it does not know and clauses it could not read.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/eval/change.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::eval {

struct TermHit {
  std::string phrase;
  TermKind kind = TermKind::VagueDegree;
};

struct ParsedInstruction {
  std::vector<Change> changes;
  /// Forbidden terms (listing 3) and leak phrases found. Vague verbs count only in clauses that
  /// state no target.
  std::vector<TermHit> terms;
  /// Clauses with content that yielded no change: unverifiable, so they count against the
  /// instruction (docs/evaluation.md).
  std::vector<std::string> unparsed;
  /// Words outside the vocabulary (each once per occurrence).
  std::vector<std::string> unknown_words;
  /// Pronouns other than the forbidden it/this/that ("them", "they"): unclear references.
  int other_pronouns = 0;
  int word_count = 0;
};

class InstructionParser {
 public:
  explicit InstructionParser(const Vocabulary& vocab);
  ~InstructionParser();
  InstructionParser(InstructionParser&&) noexcept;
  InstructionParser& operator=(InstructionParser&&) noexcept;
  InstructionParser(const InstructionParser&) = delete;
  InstructionParser& operator=(const InstructionParser&) = delete;

  ParsedInstruction parse(std::string_view instruction) const;
  const Vocabulary& vocabulary() const { return *vocab_; }

 private:
  struct Lexicon;
  const Vocabulary* vocab_;
  std::unique_ptr<Lexicon> lexicon_;
};

}  // namespace ec::eval
