// One test per scoring rule: the accuracy rubric (listing 1), the completeness lookup and bonus
// (listing 2), the clarity ceilings and deductions (listing 3), every row of the defect
// checklist (table 5) and the P0-hides-lower rule, on synthetic-world ground truths.
#include <gtest/gtest.h>

#include "editcaption/eval/scorer.h"

namespace ec::eval {
namespace {

GroundTruth gt(const char* json) { return gt_from_json(nlohmann::json::parse(json), "test"); }

// A small dark red circle moves left from the center; a large light green square stays.
const char* kMove = R"({
  "primary": [{"action": "move", "object": {"noun": "circle", "color": "dark red", "size": "small",
               "texture": "plain", "position": "center"}, "direction": "left", "to": {"position": "middle left"}}],
  "unchanged": [{"noun": "square", "color": "light green", "size": "large", "texture": "plain", "position": "top right"}]
})";
const char* kMoveInstruction = "Move the small dark red circle left, from the center to the middle left.";

// The circle turns light blue and striped (two primary changes) and the image gets brighter.
const char* kRestyle = R"({
  "primary": [
    {"action": "modify", "object": {"noun": "circle", "color": "dark red", "size": "small", "texture": "plain",
     "position": "center"}, "to": {"color": "light blue"}},
    {"action": "modify", "object": {"noun": "circle", "color": "dark red", "size": "small", "texture": "plain",
     "position": "center"}, "to": {"texture": "striped"}}],
  "secondary": [{"action": "tone", "direction": "brighter"}],
  "unchanged": [{"noun": "square", "color": "light green", "size": "large", "texture": "plain", "position": "top right"},
                {"noun": "circle", "color": "dark blue", "size": "large", "texture": "plain", "position": "bottom left"}]
})";

const char* kAdd = R"({
  "primary": [{"action": "add", "object": {"noun": "star", "color": "dark purple", "size": "small",
               "texture": "dotted", "position": "top left"}}],
  "unchanged": [{"noun": "square", "color": "light green", "size": "large", "texture": "plain", "position": "top right"}]
})";

const char* kText = R"({
  "primary": [{"action": "modify", "object": {"noun": "sign", "color": "light blue", "text": "SHOP",
               "position": "center"}, "to": {"text": "OPEN"}}],
  "secondary": [{"action": "modify", "object": {"noun": "sign", "color": "light red", "text": "CAFE",
                 "position": "top left"}, "to": {"text": "BOOK"}}]
})";

const char* kZoom = R"({"primary": [{"action": "zoom", "direction": "in"}]})";
const char* kReplace = R"({
  "primary": [{"action": "replace", "object": {"noun": "circle", "color": "dark red", "size": "small", "texture": "plain",
               "position": "center"}, "with": {"noun": "heart", "color": "light blue", "size": "large",
               "texture": "plain", "position": "center"}}]
})";

class Rules : public ::testing::Test {
 protected:
  SampleScore score(const char* g, const std::string& instruction) const { return scorer_.score(gt(g), instruction); }
  static bool has(const SampleScore& s, ErrorType type, Severity sev, int row = 0) {
    for (const auto& d : s.defects) {
      if (d.type == type && d.severity == sev && (row == 0 || d.checklist_row == row)) return true;
    }
    return false;
  }
  static std::string dump(const SampleScore& s) { return to_json(s).dump(1); }
  StructuredScorer scorer_;
};

// ---------------------------------------------------------------------------------------------
// Accuracy (listing 1)

TEST(AccuracyRubric, Levels) {
  EXPECT_EQ(accuracy_rubric(false, 0, 0, 0, 0.0), 1);  // nothing concerns the edit
  EXPECT_EQ(accuracy_rubric(true, 0, 0, 1, 1.0), 2);   // any hallucination -> max 2
  EXPECT_EQ(accuracy_rubric(true, 2, 0, 0, 1.0), 2);   // two major errors
  EXPECT_EQ(accuracy_rubric(true, 1, 0, 0, 1.0), 3);   // one major error
  EXPECT_EQ(accuracy_rubric(true, 0, 0, 0, 0.29), 3);  // coverage below 30%: conservative penalty
  EXPECT_EQ(accuracy_rubric(true, 0, 0, 0, 0.30), 4);  // covered enough for 4, not for 5
  EXPECT_EQ(accuracy_rubric(true, 0, 1, 0, 1.0), 4);   // an error on a non-core element
  EXPECT_EQ(accuracy_rubric(true, 0, 0, 0, 0.5), 5);
}

TEST_F(Rules, AccuracyOnInstructions) {
  EXPECT_EQ(score(kMove, kMoveInstruction).accuracy, 5);
  EXPECT_EQ(score(kMove, "Move the small dark red circle right, from the center to the middle right.").accuracy, 3);
  EXPECT_EQ(score(kMove, "Move the large light green square left.").accuracy, 1);  // wrong subject only
  EXPECT_EQ(score(kMove, std::string(kMoveInstruction) + " Add a small blue heart at the top left.").accuracy, 2);
  EXPECT_EQ(score(kMove, std::string(kMoveInstruction) + " Make the large light green square smaller.").accuracy, 4);
  EXPECT_EQ(score(kMove, "").accuracy, 1);
  // Omitting the degree of an attribute is a clarity matter, not a factual error.
  EXPECT_EQ(score(kRestyle, "Change the small dark red circle to a small blue striped circle. Also make the image brighter.")
                .accuracy,
            5);
}

// ---------------------------------------------------------------------------------------------
// Completeness (listing 2)

TEST(CompletenessRubric, LookupTable) {
  for (auto rule : {CompletenessRule::PaperExamples, CompletenessRule::Listing2}) {
    EXPECT_EQ(completeness_lookup(1.0, true, rule), 5.0);
    EXPECT_EQ(completeness_lookup(0.99, true, rule), 4.5);
    EXPECT_EQ(completeness_lookup(0.75, true, rule), 4.5);
    EXPECT_EQ(completeness_lookup(0.74, true, rule), 4.0);
    EXPECT_EQ(completeness_lookup(0.60, true, rule), 4.0);
    EXPECT_EQ(completeness_lookup(0.59, true, rule), 3.0);
    EXPECT_EQ(completeness_lookup(0.50, true, rule), 3.0);
    EXPECT_EQ(completeness_lookup(0.0, false, rule), 1.0);
    EXPECT_EQ(completeness_lookup(0.2, false, rule), 2.0);
    EXPECT_EQ(completeness_lookup(0.1, false, rule), 2.0);
  }
  EXPECT_EQ(completeness_lookup(0.4, true, CompletenessRule::PaperExamples), 3.0);
  EXPECT_EQ(completeness_lookup(0.4, true, CompletenessRule::Listing2), 2.0);
}

TEST(CompletenessRubric, MinorChangeBonusOnlyUpward) {
  auto rule = CompletenessRule::PaperExamples;
  EXPECT_EQ(completeness_rubric(0.5, true, true, rule), 3.5);
  EXPECT_EQ(completeness_rubric(0.75, true, true, rule), 5.0);  // 4.5 + 0.5, capped at 5
  EXPECT_EQ(completeness_rubric(1.0, true, true, rule), 5.0);   // only when R < 100%
  EXPECT_EQ(completeness_rubric(0.0, false, true, rule), 1.0);  // a minor change alone earns nothing
  EXPECT_EQ(completeness_rubric(0.5, true, false, rule), 3.0);
}

TEST_F(Rules, CompletenessHitsAndMisses) {
  const std::string tone = " Also make the image brighter.";
  EXPECT_EQ(score(kRestyle, "Change the small dark red circle to a small light blue striped circle." + tone).completeness, 5.0);
  // One of two primary changes, plus the secondary change: 3.0 + 0.5.
  EXPECT_EQ(score(kRestyle, "Change the color of the small dark red circle to light blue." + tone).completeness, 3.5);
  // A wrong attribute still hits; a reversed direction misses.
  EXPECT_EQ(score(kRestyle, "Change the color of the small dark red circle to dark green." + tone).completeness, 3.5);
  EXPECT_EQ(score(kMove, "Move the small dark red circle right.").completeness, 1.0);
  // Mentioned without a target: half a hit.
  EXPECT_NEAR(score(kRestyle, "Change the color of the small dark red circle.").completeness_detail.coverage, 0.25, 1e-9);
}

// ---------------------------------------------------------------------------------------------
// Clarity (listing 3)

TEST(ClarityRubric, ForbiddenTermCeilings) {
  EXPECT_EQ(forbidden_term_ceiling(0), 5.0);
  EXPECT_EQ(forbidden_term_ceiling(1), 3.0);
  EXPECT_EQ(forbidden_term_ceiling(2), 2.5);
  EXPECT_EQ(forbidden_term_ceiling(3), 2.0);
  EXPECT_EQ(forbidden_term_ceiling(7), 2.0);
}

TEST_F(Rules, ClarityDeductions) {
  EXPECT_EQ(score(kMove, kMoveInstruction).clarity, 5.0);
  // One forbidden degree: max 3.0.
  EXPECT_EQ(score(kMove, "Move the small dark red circle a bit left, from the center to the middle left.").clarity, 3.0);
  // Two and three forbidden terms.
  EXPECT_EQ(score(kMove, "Move the small dark red circle slightly left, somewhat from the center to the middle left.")
                .clarity,
            2.5);
  EXPECT_EQ(score(kMove, "Move the small dark red circle slightly left and make it somewhat appropriate.").clarity, 1.0);
  // The destination left out: -0.5.
  EXPECT_EQ(score(kMove, "Move the small dark red circle left.").clarity, 4.5);
  // A coarse colour: -0.25.
  EXPECT_EQ(score(kRestyle, "Change the small dark red circle to a small blue striped circle. Also make the image brighter.")
                .clarity,
            4.75);
  // A generic noun that still identifies the object: -1.
  EXPECT_EQ(score(kMove, "Move the object left, from the center to the middle left.").clarity, 4.0);
  // Ambiguous: two circles fit "the circle".
  SampleScore amb = score(kRestyle, "Change the circle to a light blue striped circle. Also make the image brighter.");
  EXPECT_EQ(amb.clarity, 4.0) << dump(amb);
  // An unreadable clause: -0.5.
  EXPECT_EQ(score(kMove, std::string(kMoveInstruction) + " Frobnicate the zorgs.").clarity, 4.0);
  // Nothing executable.
  EXPECT_EQ(score(kMove, "Adjust the circle.").clarity, 1.0);
}

TEST_F(Rules, ClarityVerbosity) {
  std::string rambling = "Move the circle left.";
  for (int i = 0; i < 40; ++i) rambling += " It is a nice and very good day.";
  SampleScore s = score(kMove, rambling);
  EXPECT_TRUE(s.clarity_detail.verbose);
}

// ---------------------------------------------------------------------------------------------
// Defects (table 5)

TEST_F(Rules, Row1TextErrors) {
  SampleScore p0 = score(kText,
                         "Change the text on the light blue sign from \"SHOP\" to \"SALE\". Also change the text on the "
                         "light red sign from \"CAFE\" to \"BOOK\".");
  EXPECT_TRUE(has(p0, ErrorType::Text, Severity::P0, 1)) << dump(p0);
  SampleScore p1 = score(kText,
                         "Change the text on the light blue sign from \"SHOP\" to \"OPEN\". Also change the text on the "
                         "light red sign from \"CAFE\" to \"STOP\".");
  EXPECT_EQ(p1.verdict, Verdict::P1) << dump(p1);
  EXPECT_TRUE(has(p1, ErrorType::Text, Severity::P1, 1));
}

TEST_F(Rules, Row2AttributeErrors) {
  const std::string tone = " Also make the image brighter.";
  SampleScore p0 = score(kRestyle, "Change the small dark red circle to a small dark green striped circle." + tone);
  EXPECT_TRUE(has(p0, ErrorType::Attribute, Severity::P0, 2)) << dump(p0);
  EXPECT_TRUE(p0.attribute_error);
  // A claim about an unchanged element: non-subject, P1.
  SampleScore p1 = score(kMove, std::string(kMoveInstruction) + " Make the large light green square smaller.");
  EXPECT_EQ(p1.verdict, Verdict::P1) << dump(p1);
  EXPECT_TRUE(has(p1, ErrorType::Attribute, Severity::P1, 2));
  // The subject described with a wrong attribute.
  SampleScore desc = score(kMove, "Move the small light red circle left, from the center to the middle left.");
  EXPECT_TRUE(has(desc, ErrorType::Attribute, Severity::P0, 2)) << dump(desc);
}

TEST_F(Rules, ReversedToneIsAWrongAttributeValue) {
  const char* tone = R"({"primary": [{"action": "tone", "object": {"noun": "image"}, "direction": "warmer"}]})";
  SampleScore s = score(tone, "Make the image cooler.");
  EXPECT_TRUE(has(s, ErrorType::Attribute, Severity::P0, 2)) << dump(s);
  EXPECT_TRUE(s.attribute_error);
  EXPECT_FALSE(s.orientation_error);
  // A reversed zoom is spatial: an orientation error, not an attribute one.
  SampleScore zoom = score(kZoom, "Zoom the camera out.");
  EXPECT_TRUE(zoom.orientation_error) << dump(zoom);
  EXPECT_FALSE(zoom.attribute_error);
  EXPECT_FALSE(score(tone, "Make the image warmer.").attribute_error);
}

TEST_F(Rules, Row2WrongSubject) {
  SampleScore s = score(kMove, "Move the large light green square left, from the top right to the top center.");
  EXPECT_EQ(s.verdict, Verdict::P0);
  EXPECT_EQ(s.error_type, ErrorType::Subject) << dump(s);
}

TEST_F(Rules, Row3Omissions) {
  SampleScore primary = score(kRestyle, "Change the color of the small dark red circle to light blue. Also make the image brighter.");
  EXPECT_TRUE(has(primary, ErrorType::Omission, Severity::P0, 3)) << dump(primary);
  SampleScore add_no_color = score(kAdd, "Add a small dotted star at the top left.");
  EXPECT_TRUE(has(add_no_color, ErrorType::Attribute, Severity::P0, 3)) << dump(add_no_color);
  SampleScore add_no_size = score(kAdd, "Add a dark purple dotted star at the top left.");
  EXPECT_EQ(add_no_size.verdict, Verdict::P1) << dump(add_no_size);
  EXPECT_TRUE(add_no_size.missing_attribute);
  SampleScore ambiguous = score(kRestyle, "Change the circle to a light blue striped circle. Also make the image brighter.");
  EXPECT_TRUE(has(ambiguous, ErrorType::Subject, Severity::P0, 3)) << dump(ambiguous);
}

TEST_F(Rules, Row4ViewpointAndSpatial) {
  SampleScore flip = score(kMove, "Move the small dark red circle right, from the center to the middle right.");
  EXPECT_EQ(flip.error_type, ErrorType::Orientation);
  EXPECT_TRUE(has(flip, ErrorType::Orientation, Severity::P0, 4));
  EXPECT_TRUE(flip.orientation_error);
  SampleScore dest = score(kMove, "Move the small dark red circle left, from the center to the bottom left.");
  EXPECT_TRUE(has(dest, ErrorType::Orientation, Severity::P0, 4)) << dump(dest);
  SampleScore camera = score(kMove, "Pan the camera to the right.");
  EXPECT_EQ(camera.error_type, ErrorType::Viewpoint) << dump(camera);
  EXPECT_TRUE(camera.viewpoint_error);
  SampleScore objects = score(kZoom, "Make all the objects larger.");
  EXPECT_EQ(objects.error_type, ErrorType::Viewpoint) << dump(objects);
  SampleScore out = score(kZoom, "Zoom the camera out.");
  EXPECT_EQ(out.error_type, ErrorType::Orientation) << dump(out);
}

TEST_F(Rules, Row5GlobalVisualAttribute) {
  const std::string main = "Change the small dark red circle to a small light blue striped circle.";
  SampleScore missing = score(kRestyle, main);
  EXPECT_EQ(missing.verdict, Verdict::P1) << dump(missing);
  EXPECT_TRUE(has(missing, ErrorType::Omission, Severity::P1, 5));
  SampleScore wrong = score(kRestyle, main + " Also make the image darker.");
  EXPECT_TRUE(has(wrong, ErrorType::Attribute, Severity::P1, 5)) << dump(wrong);
}

TEST_F(Rules, Row6TargetLeak) {
  SampleScore s = score(kMove, std::string(kMoveInstruction) + " Make it look as in the target image.");
  EXPECT_TRUE(has(s, ErrorType::Other, Severity::P1, 6)) << dump(s);
}

TEST_F(Rules, Row7Redundancy) {
  SampleScore s = score(kReplace, "Remove the small dark red circle from the center. Add a large light blue heart at the center.");
  EXPECT_EQ(s.verdict, Verdict::P2) << dump(s);
  EXPECT_TRUE(has(s, ErrorType::Other, Severity::P2, 7));
  EXPECT_EQ(s.accuracy, 5);
  SampleScore noop = score(kMove, std::string(kMoveInstruction) + " Change the color of the large light green square to light green.");
  EXPECT_EQ(noop.verdict, Verdict::P2) << dump(noop);
  SampleScore vague = score(kMove, "Move the small dark red circle a bit left, from the center to the middle left.");
  EXPECT_EQ(vague.verdict, Verdict::P2);
  EXPECT_EQ(vague.error_type, ErrorType::Attribute);
}

TEST_F(Rules, Row8Unparsed) {
  SampleScore s = score(kMove, std::string(kMoveInstruction) + " Frobnicate the zorgs.");
  EXPECT_EQ(s.verdict, Verdict::P2) << dump(s);
  EXPECT_TRUE(has(s, ErrorType::Other, Severity::P2, 8));
  EXPECT_EQ(s.accuracy, 4);  // an unverifiable assertion counts against the instruction
}

TEST_F(Rules, P0HidesLowerLevels) {
  SampleScore s = score(kMove, "Move the small dark red circle a bit right, from the center to the middle right.");
  EXPECT_EQ(s.verdict, Verdict::P0);
  bool hidden_p2 = false;
  for (const auto& d : s.defects) {
    if (d.severity == Severity::P2) hidden_p2 = d.hidden;
    if (d.severity == Severity::P0) {
      EXPECT_FALSE(d.hidden);
    }
  }
  EXPECT_TRUE(hidden_p2) << dump(s);
  EXPECT_EQ(s.error_type, ErrorType::Orientation);
}

TEST_F(Rules, CorrectInstructionHasNoDefect) {
  for (const auto& [g, text] : std::vector<std::pair<const char*, std::string>>{
           {kMove, kMoveInstruction},
           {kAdd, "Add a small dark purple dotted star at the top left."},
           {kZoom, "Zoom the camera in."},
           {kReplace, "Replace the small dark red circle with a large light blue heart."},
           {kRestyle, "Change the small dark red circle to a small light blue striped circle. Also make the image brighter."},
       }) {
    SampleScore s = score(g, text);
    EXPECT_EQ(s.verdict, Verdict::Correct) << text << dump(s);
    EXPECT_DOUBLE_EQ(s.s, 5.0) << text;
  }
}

TEST(WeightedScore, PaperFormula) {
  EXPECT_DOUBLE_EQ(weighted_score(5, 5, 5), 5.0);
  EXPECT_DOUBLE_EQ(weighted_score(4.71, 4.87, 4.40), 0.4 * 4.71 + 0.4 * 4.87 + 0.2 * 4.40);
  EXPECT_NEAR(weighted_score(3, 1, 5), 2.6, 1e-12);
}

}  // namespace
}  // namespace ec::eval
