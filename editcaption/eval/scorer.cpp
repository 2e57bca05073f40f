#include "editcaption/eval/scorer.h"

#include "editcaption/core/fs.h"
#include "editcaption/core/check.h"

namespace ec::eval {

StructuredScorer::StructuredScorer(CompletenessRule rule, const Vocabulary& vocab)
    : rule_(rule), vocab_(std::make_unique<Vocabulary>(vocab)), parser_(std::make_unique<InstructionParser>(*vocab_)) {}

StructuredScorer StructuredScorer::from_config(const ScorerConfig& config) {
  if (config.vocabulary.empty()) return StructuredScorer(config.completeness_rule);
  std::string text = read_file(config.vocabulary);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw EC_USER_ERROR(Input, "{}: not valid JSON: {}", config.vocabulary.string(), e.what());
  }
  Vocabulary v = synthetic_vocabulary();
  v.extend(vocabulary_from_json(j, config.vocabulary.string()));
  return StructuredScorer(config.completeness_rule, v);
}

SampleScore StructuredScorer::score(const GroundTruth& gt, std::string_view instruction) const {
  return score(gt, parser_->parse(instruction));
}

SampleScore StructuredScorer::score(const GroundTruth& gt, const ParsedInstruction& parsed) const {
  Alignment a = align(gt, parsed, *vocab_);
  SampleScore s;
  s.accuracy_detail = eval::accuracy(a);
  s.completeness_detail = eval::completeness(a, rule_);
  s.clarity_detail = eval::clarity(a, parsed);
  s.accuracy = s.accuracy_detail.score;
  s.completeness = s.completeness_detail.score;
  s.clarity = s.clarity_detail.score;
  s.s = weighted_score(s.accuracy, s.completeness, s.clarity);
  s.defects = classify_defects(a, parsed);
  s.verdict = apply_hierarchy(s.defects);
  s.error_type = primary_error_type(s.defects);
  for (const auto& d : s.defects) {
    s.orientation_error = s.orientation_error || d.type == ErrorType::Orientation;
    s.viewpoint_error = s.viewpoint_error || d.type == ErrorType::Viewpoint;
    // A reversed value that is not spatial (warmer for cooler, darker for brighter) is a wrong
    // attribute value too; the spatial reversals are orientation errors.
    s.attribute_error = s.attribute_error ||
                        (d.type == ErrorType::Attribute && d.rule == finding_name(FindingKind::DirectionReversed));
  }
  for (const auto& f : a.findings) {
    s.attribute_error = s.attribute_error || f.kind == FindingKind::AttributeWrong;
    s.missing_attribute = s.missing_attribute || f.kind == FindingKind::MissingCore || f.kind == FindingKind::MissingDetail;
  }
  s.findings = std::move(a.findings);
  return s;
}

nlohmann::ordered_json to_json(const SampleScore& s) {
  nlohmann::ordered_json j;
  j["s"] = s.s;
  j["accuracy"] = s.accuracy;
  j["completeness"] = s.completeness;
  j["clarity"] = s.clarity;
  j["verdict"] = verdict_name(s.verdict);
  j["error_type"] = s.error_type ? nlohmann::ordered_json(config::enum_name(*s.error_type)) : nlohmann::ordered_json(nullptr);
  j["defects"] = nlohmann::ordered_json::array();
  for (const auto& d : s.defects) {
    j["defects"].push_back({{"type", config::enum_name(d.type)},
                            {"severity", config::enum_name(d.severity)},
                            {"checklist_row", d.checklist_row},
                            {"rule", d.rule},
                            {"message", d.message},
                            {"hidden", d.hidden}});
  }
  j["reasoning"] = {{"accuracy", s.accuracy_detail.reasoning},
                    {"completeness", s.completeness_detail.reasoning},
                    {"clarity", s.clarity_detail.reasoning}};
  return j;
}

}  // namespace ec::eval
