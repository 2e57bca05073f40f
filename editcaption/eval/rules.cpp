#include "editcaption/eval/rules.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace ec::eval {
namespace {

constexpr double kEps = 1e-9;

bool is_major(const Finding& f) {
  if (f.scope != Scope::Primary) return false;
  switch (f.kind) {
    case FindingKind::AttributeWrong:
    case FindingKind::SpatialWrong:
    case FindingKind::DirectionReversed:
    case FindingKind::Viewpoint:
    case FindingKind::WrongSubject:
    case FindingKind::TextWrong:
      return true;
    default:
      return false;
  }
}

bool is_minor(const Finding& f) {
  switch (f.kind) {
    case FindingKind::AttributeWrong:
    case FindingKind::SpatialWrong:
    case FindingKind::DirectionReversed:
    case FindingKind::Viewpoint:
    case FindingKind::WrongSubject:
    case FindingKind::TextWrong:
      return f.scope != Scope::Primary;
    case FindingKind::ExtraClaim:
    case FindingKind::Unparsed:
      return true;
    default:
      return false;
  }
}

bool executable(const Change& c) {
  if (!c.unspecified.empty()) return false;
  if (c.object.noun.empty()) return false;
  switch (c.action) {
    case Action::Modify: return !c.to.empty() || !c.direction.empty();
    case Action::Replace: return c.with.has_value();
    case Action::Move:
    case Action::Rotate:
    case Action::Zoom:
    case Action::Pan:
    case Action::Tone: return !c.direction.empty();
    default: return true;
  }
}

}  // namespace

double weighted_score(double accuracy, double completeness, double clarity) {
  return 0.4 * accuracy + 0.4 * completeness + 0.2 * clarity;
}

int accuracy_rubric(bool related, int major, int minor, int hallucinations, double coverage) {
  if (!related) return 1;
  if (hallucinations > 0 || major >= 2) return 2;
  if (major == 1 || coverage < 0.3 - kEps) return 3;
  if (minor > 0 || coverage < 0.5 - kEps) return 4;
  return 5;
}

AccuracyResult accuracy(const Alignment& a) {
  AccuracyResult r;
  for (const auto& f : a.findings) {
    if (is_major(f)) ++r.major_errors;
    if (is_minor(f)) ++r.minor_errors;
    if (f.kind == FindingKind::Fabricated) ++r.hallucinations;
  }
  int n = a.primary_total();
  r.coverage = n == 0 ? 1.0 : a.primary_hits() / n;
  r.related = a.any_related();
  if (n == 0 && a.instr.empty()) {
    // Two identical images and an instruction that claims nothing: nothing is wrong.
    r.score = 5;
    r.related = true;
  } else {
    r.score = accuracy_rubric(r.related, r.major_errors, r.minor_errors, r.hallucinations, r.coverage);
  }
  r.reasoning = fmt::format("{} major error(s), {} minor, {} hallucination(s), coverage {:.0f}%{}", r.major_errors,
                            r.minor_errors, r.hallucinations, 100 * r.coverage,
                            r.related ? "" : "; nothing stated concerns the edit");
  return r;
}

double completeness_lookup(double R, bool any_full_hit, CompletenessRule rule) {
  if (R >= 1.0 - kEps) return 5.0;
  if (R >= 0.75 - kEps) return 4.5;
  if (R >= 0.60 - kEps) return 4.0;
  if (R >= 0.50 - kEps) return 3.0;
  if (R <= kEps) return 1.0;
  if (rule == CompletenessRule::PaperExamples) return any_full_hit ? 3.0 : 2.0;
  return 2.0;
}

double completeness_rubric(double R, bool any_full_hit, bool secondary_covered, CompletenessRule rule) {
  double s = completeness_lookup(R, any_full_hit, rule);
  if (R > kEps && R < 1.0 - kEps && secondary_covered) s += 0.5;
  return std::min(s, 5.0);
}

CompletenessResult completeness(const Alignment& a, CompletenessRule rule) {
  CompletenessResult r;
  r.total = a.primary_total();
  r.hits = a.primary_hits();
  if (r.total == 0) {
    r.coverage = 1;
    r.score = 5;
    r.reasoning = "no primary change";
    return r;
  }
  r.coverage = r.hits / r.total;
  bool full = std::any_of(a.gt.begin(), a.gt.end(), [](const GtMatch& m) { return m.scope == Scope::Primary && m.full_hit; });
  bool secondary = a.secondary_hit();
  r.score = completeness_rubric(r.coverage, full, secondary, rule);
  r.bonus = r.coverage > kEps && r.coverage < 1.0 - kEps && secondary;
  r.reasoning = fmt::format("{} changes, {:g} hits (R={:.0f}%){}", r.total, r.hits, 100 * r.coverage,
                            r.bonus ? ", +0.5 for a covered secondary change" : "");
  return r;
}

double forbidden_term_ceiling(int terms) {
  if (terms <= 0) return 5.0;
  if (terms == 1) return 3.0;
  if (terms == 2) return 2.5;
  return 2.0;
}

ClarityResult clarity(const Alignment& a, const ParsedInstruction& p) {
  ClarityResult r;
  for (const auto& t : p.terms) {
    if (t.kind != TermKind::Leak) ++r.forbidden_terms;
  }
  for (const auto& s : a.slots) {
    if (s.state == SlotState::Missing) ++r.missing_slots;
    if (s.state == SlotState::Coarse) ++r.coarse_slots;
  }
  r.unclear_references = a.unclear_references;
  r.unparsed = static_cast<int>(p.unparsed.size());
  r.unknown_words = static_cast<int>(p.unknown_words.size());
  r.executable = std::any_of(a.instr.begin(), a.instr.end(), executable);
  int info_points = 0;
  for (const auto& c : a.instr) info_points += 1 + static_cast<int>(c.to.size() + c.object.attrs.size());
  r.verbose = p.word_count > 150 && info_points < 5;
  r.ceiling = forbidden_term_ceiling(r.forbidden_terms);
  if (!r.executable) {
    r.score = 1.0;
    r.reasoning = "nothing in the instruction can be executed";
    return r;
  }
  double s = 5.0;
  s -= 1.0 * r.forbidden_terms;
  s -= 1.0 * r.unclear_references;
  s -= 0.5 * r.missing_slots + 0.25 * r.coarse_slots;
  s -= 0.5 * r.unparsed;
  s -= std::min(1.0, 0.25 * r.unknown_words);
  if (r.verbose) s -= 0.5;
  r.score = std::clamp(std::min(s, r.ceiling), 1.0, 5.0);
  r.reasoning = fmt::format("{} forbidden term(s) (max {:g}), {} unclear reference(s), {} missing and {} coarse attribute(s)",
                            r.forbidden_terms, r.ceiling, r.unclear_references, r.missing_slots, r.coarse_slots);
  if (r.unparsed) r.reasoning += fmt::format(", {} unreadable clause(s)", r.unparsed);
  if (r.unknown_words) r.reasoning += fmt::format(", {} unknown word(s)", r.unknown_words);
  return r;
}

const char* verdict_name(Verdict v) {
  switch (v) {
    case Verdict::Correct: return "correct";
    case Verdict::P0: return "P0";
    case Verdict::P1: return "P1";
    case Verdict::P2: return "P2";
  }
  return "?";
}

std::vector<Defect> classify_defects(const Alignment& a, const ParsedInstruction& p) {
  std::vector<Defect> out;
  auto add = [&](ErrorType type, Severity sev, int row, const std::string& rule, const std::string& msg) {
    out.push_back({type, sev, row, rule, msg, false});
  };
  auto by_scope = [](Scope s, Severity primary, Severity other) { return s == Scope::Primary ? primary : other; };
  for (const auto& f : a.findings) {
    std::string rule = finding_name(f.kind);
    switch (f.kind) {
      case FindingKind::TextWrong:
        add(ErrorType::Text, by_scope(f.scope, Severity::P0, Severity::P1), 1, rule, f.message);
        break;
      case FindingKind::AttributeWrong:
        add(ErrorType::Attribute, by_scope(f.scope, Severity::P0, Severity::P1), 2, rule, f.message);
        break;
      case FindingKind::ExtraClaim:
        add(ErrorType::Attribute, Severity::P1, 2, rule, f.message);
        break;
      case FindingKind::Fabricated:
        add(ErrorType::Other, Severity::P1, 2, rule, f.message);
        break;
      case FindingKind::WrongSubject:
        add(ErrorType::Subject, by_scope(f.scope, Severity::P0, Severity::P1), 2, rule, f.message);
        break;
      case FindingKind::Omitted:
        // A global visual change left out is row 5; other secondary omissions are row 3 (P1).
        add(ErrorType::Omission, by_scope(f.scope, Severity::P0, Severity::P1),
            f.action == Action::Tone && f.scope != Scope::Primary ? 5 : 3, rule, f.message);
        break;
      case FindingKind::MissingCore:
        add(ErrorType::Attribute, by_scope(f.scope, Severity::P0, Severity::P1), 3, rule, f.message);
        break;
      case FindingKind::MissingDetail:
        add(ErrorType::Attribute, by_scope(f.scope, Severity::P1, Severity::P2), 3, rule, f.message);
        break;
      case FindingKind::Ambiguous:
        add(ErrorType::Subject, by_scope(f.scope, Severity::P0, Severity::P1), 3, rule, f.message);
        break;
      case FindingKind::SpatialWrong:
      case FindingKind::Viewpoint:
        add(f.kind == FindingKind::Viewpoint ? ErrorType::Viewpoint : ErrorType::Orientation, Severity::P0, 4, rule,
            f.message);
        break;
      case FindingKind::DirectionReversed: {
        bool spatial = f.action == Action::Move || f.action == Action::Pan || f.action == Action::Zoom ||
                       f.action == Action::Rotate || f.attribute == "position";
        if (spatial) {
          add(ErrorType::Orientation, Severity::P0, 4, rule, f.message);
        } else if (f.action == Action::Tone && f.scope != Scope::Primary) {
          add(ErrorType::Attribute, Severity::P1, 5, rule, f.message);
        } else {
          add(ErrorType::Attribute, by_scope(f.scope, Severity::P0, Severity::P1), 2, rule, f.message);
        }
        break;
      }
      case FindingKind::Redundant:
        add(ErrorType::Other, Severity::P2, 7, rule, f.message);
        break;
      case FindingKind::Unparsed:
        add(ErrorType::Other, Severity::P2, 8, rule, f.message);
        break;
    }
  }
  for (const auto& t : p.terms) {
    std::string msg = fmt::format("\"{}\"", t.phrase);
    switch (t.kind) {
      case TermKind::Leak:
        add(ErrorType::Other, Severity::P1, 6, term_kind_name(t.kind), msg + " refers to the target image");
        break;
      case TermKind::VagueDegree:
        add(ErrorType::Attribute, Severity::P2, 7, term_kind_name(t.kind), msg + " is a vague degree");
        break;
      default:
        add(ErrorType::Other, Severity::P2, 7, term_kind_name(t.kind), msg + " is vague");
        break;
    }
  }
  return out;
}

Verdict apply_hierarchy(std::vector<Defect>& defects) {
  bool p0 = false, p1 = false, p2 = false;
  for (const auto& d : defects) {
    p0 = p0 || d.severity == Severity::P0;
    p1 = p1 || d.severity == Severity::P1;
    p2 = p2 || d.severity == Severity::P2;
  }
  if (p0) {
    for (auto& d : defects) d.hidden = d.severity != Severity::P0;
    return Verdict::P0;
  }
  return p1 ? Verdict::P1 : p2 ? Verdict::P2 : Verdict::Correct;
}

std::optional<ErrorType> primary_error_type(const std::vector<Defect>& defects) {
  // Among equally severe defects, the paper's named failure modes first.
  auto priority = [](ErrorType t) {
    switch (t) {
      case ErrorType::Subject: return 0;
      case ErrorType::Orientation: return 1;
      case ErrorType::Viewpoint: return 2;
      case ErrorType::Text: return 3;
      case ErrorType::Attribute: return 4;
      case ErrorType::Omission: return 5;
      case ErrorType::Other: return 6;
    }
    return 7;
  };
  const Defect* best = nullptr;
  for (const auto& d : defects) {
    if (d.hidden) continue;
    if (!best || d.severity < best->severity ||
        (d.severity == best->severity && priority(d.type) < priority(best->type))) {
      best = &d;
    }
  }
  if (!best) return std::nullopt;
  return best->type;
}

}  // namespace ec::eval
