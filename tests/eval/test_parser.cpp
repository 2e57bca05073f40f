// The instruction parser: the synthetic grammar, paraphrases of it, wording the rules look at
// (forbidden terms, leaks, pronouns), and content it cannot read.
#include <gtest/gtest.h>

#include "editcaption/core/error.h"
#include "editcaption/eval/grammar.h"
#include "editcaption/eval/parser.h"

namespace ec::eval {
namespace {

class Parser : public ::testing::Test {
 protected:
  ParsedInstruction parse(const std::string& s) const { return parser_.parse(s); }
  Change one(const std::string& s) const {
    ParsedInstruction p = parse(s);
    EXPECT_EQ(p.changes.size(), 1u) << s;
    return p.changes.empty() ? Change{} : p.changes.front();
  }
  InstructionParser parser_{synthetic_vocabulary()};
};

TEST_F(Parser, MoveAndItsParaphrases) {
  for (const char* s : {"Move the small dark red circle left, from the center to the middle left.",
                        "Shift the small dark red circle to the left.",
                        "The small dark red circle moves leftwards.",
                        "move the small deep red circle from the center to the middle-left",
                        "Slide the small dark red circle from the center to the center left."}) {
    Change c = one(s);
    EXPECT_EQ(c.action, Action::Move) << s;
    EXPECT_EQ(c.object.noun, "circle") << s;
    EXPECT_EQ(c.object.get("color"), "dark red") << s;
    EXPECT_EQ(c.direction, "left") << s;
  }
  Change c = one("Move the small dark red circle left, from the center to the middle left.");
  EXPECT_EQ(c.object.get("position"), "center");
  EXPECT_EQ(c.to.at("position"), "middle left");
  EXPECT_EQ(c.object.get("size"), "small");
}

TEST_F(Parser, CameraMoves) {
  Change z = one("Zoom the camera in.");
  EXPECT_EQ(z.action, Action::Zoom);
  EXPECT_EQ(z.direction, "in");
  EXPECT_EQ(one("The camera zooms out.").direction, "out");
  EXPECT_EQ(one("zoom in on the scene").direction, "in");
  Change p = one("Pan the camera to the left.");
  EXPECT_EQ(p.action, Action::Pan);
  EXPECT_EQ(p.direction, "left");
  Change m = one("Move the camera up.");
  EXPECT_EQ(m.action, Action::Pan);
  EXPECT_EQ(m.direction, "up");
  Change all = one("Move all the objects right.");
  EXPECT_EQ(all.action, Action::Move);
  EXPECT_EQ(all.object.ref, Reference::Collective);
}

TEST_F(Parser, AttributeChanges) {
  Change c = one("Change the color of the large light green square to dark blue.");
  EXPECT_EQ(c.action, Action::Modify);
  EXPECT_EQ(c.to.at("color"), "dark blue");
  EXPECT_EQ(c.object.get("size"), "large");
  Change t = one("Make the large light green square striped.");
  EXPECT_EQ(t.to.at("texture"), "striped");
  Change both = one("Change the small dark red circle to a small light blue striped circle.");
  EXPECT_EQ(both.to.at("color"), "light blue");
  EXPECT_EQ(both.to.at("texture"), "striped");
  Change r = one("Turn the star into a heart.");
  EXPECT_EQ(r.action, Action::Replace);
  ASSERT_TRUE(r.with);
  EXPECT_EQ(r.with->noun, "heart");
  Change grow = one("Enlarge the small arrow.");
  EXPECT_EQ(grow.direction, "increase");
  EXPECT_TRUE(grow.to.count("size"));
  Change bigger = one("Make the arrow bigger.");
  EXPECT_EQ(bigger.direction, "increase");
  Change bg = one("Change the background from white to beige.");
  EXPECT_EQ(bg.object.noun, "background");
  EXPECT_EQ(bg.object.get("color"), "white");
  EXPECT_EQ(bg.to.at("color"), "beige");
  Change unspecified = one("Change the color of the circle.");
  ASSERT_EQ(unspecified.unspecified.size(), 1u);
  EXPECT_EQ(unspecified.unspecified.front(), "color");
}

TEST_F(Parser, TextInQuotes) {
  for (const char* s : {"Change the text on the light blue sign from \"SHOP\" to \"OPEN\".",
                        "Change the text on the light blue sign from \xe2\x80\x9cSHOP\xe2\x80\x9d to \xe2\x80\x9cOPEN\xe2\x80\x9d.",
                        "change the sign's text from 'SHOP' to 'OPEN'"}) {
    Change c = one(s);
    EXPECT_EQ(c.object.noun, "sign") << s;
    EXPECT_EQ(c.object.get("text"), "SHOP") << s;
    EXPECT_EQ(c.to.at("text"), "OPEN") << s;
  }
}

TEST_F(Parser, OtherEdits) {
  Change a = one("Add a small dark purple dotted star at the top-left corner.");
  EXPECT_EQ(a.action, Action::Add);
  EXPECT_EQ(a.object.get("position"), "top left");
  EXPECT_EQ(a.object.get("texture"), "dotted");
  Change rm = one("Delete the large light green square.");
  EXPECT_EQ(rm.action, Action::Remove);
  Change rot = one("Rotate the small light red arrow 90\xc2\xb0 counter-clockwise.");
  EXPECT_EQ(rot.action, Action::Rotate);
  EXPECT_EQ(rot.angle, 90);
  EXPECT_EQ(rot.direction, "counterclockwise");
  Change sw = one("Swap the red circle with the blue square.");
  EXPECT_EQ(sw.action, Action::Swap);
  ASSERT_TRUE(sw.with);
  EXPECT_EQ(sw.with->noun, "square");
  Change tone = one("Brighten the image.");
  EXPECT_EQ(tone.action, Action::Tone);
  EXPECT_EQ(tone.direction, "brighter");
}

TEST_F(Parser, SeveralClauses) {
  ParsedInstruction p = parse("Move the red circle left and make the image warmer, then delete the blue star.");
  ASSERT_EQ(p.changes.size(), 3u);
  EXPECT_EQ(p.changes[0].action, Action::Move);
  EXPECT_EQ(p.changes[1].action, Action::Tone);
  EXPECT_EQ(p.changes[2].action, Action::Remove);
  // A pronoun refers to the last object named.
  ParsedInstruction q = parse("Make the green square larger and then move it down.");
  ASSERT_EQ(q.changes.size(), 2u);
  EXPECT_EQ(q.changes[1].object.noun, "square");
  EXPECT_EQ(q.changes[1].object.ref, Reference::Pronoun);
}

TEST_F(Parser, KeepClausesStateNothing) {
  ParsedInstruction p = parse("Move the red circle left. Keep everything else unchanged.");
  EXPECT_EQ(p.changes.size(), 1u);
  EXPECT_TRUE(p.unparsed.empty());
  ParsedInstruction q = parse("Move the red circle left while the square remains unchanged.");
  ASSERT_EQ(q.changes.size(), 1u);
  EXPECT_EQ(q.changes[0].action, Action::Move);
}

TEST_F(Parser, ForbiddenTermsAndLeaks) {
  auto kinds = [&](const std::string& s) {
    std::vector<std::string> out;
    for (const auto& t : parse(s).terms) out.push_back(t.phrase + ":" + term_kind_name(t.kind));
    return out;
  };
  EXPECT_EQ(kinds("Make the circle slightly larger."), std::vector<std::string>{"slightly:vague_degree"});
  EXPECT_EQ(kinds("Move it a little to the left."),
            (std::vector<std::string>{"it:vague_reference", "a little:vague_degree"}));
  // A vague verb is forbidden only without a target state.
  EXPECT_TRUE(kinds("Adjust the color of the circle to dark blue.").empty());
  EXPECT_EQ(kinds("Adjust the circle."), std::vector<std::string>{"adjust:vague_verb"});
  EXPECT_EQ(kinds("Put the star back in place."), std::vector<std::string>{"back in place:target_leak"});
  // "a little" is a degree, not the size "little".
  Change c = one("Make the circle a little larger.");
  EXPECT_EQ(c.to.at("size"), "");
}

TEST_F(Parser, UnknownContentIsReported) {
  ParsedInstruction p = parse("Move the red circle left. Frobnicate the zorgs.");
  EXPECT_EQ(p.changes.size(), 1u);
  ASSERT_EQ(p.unparsed.size(), 1u);
  EXPECT_EQ(p.unparsed[0], "frobnicate the zorgs");
  EXPECT_EQ(p.unknown_words, (std::vector<std::string>{"frobnicate", "zorgs"}));
  EXPECT_TRUE(parse("").changes.empty());
  EXPECT_TRUE(parse("   ...  ").unparsed.empty());
}

TEST_F(Parser, ReadsEverythingTheGrammarWrites) {
  // render_instruction and parse are inverses on the synthetic grammar.
  GroundTruth g = gt_from_json(nlohmann::json::parse(R"({
    "primary": [{"action": "rotate", "object": {"noun": "arrow", "color": "light orange", "size": "large",
                 "texture": "striped", "position": "bottom right"}, "direction": "clockwise", "angle": 90}],
    "secondary": [{"action": "modify", "object": {"noun": "square", "color": "dark green", "size": "small",
                   "texture": "plain", "position": "top left"}, "to": {"color": "light yellow"}}]})"),
                               "test");
  std::string text = render_instruction(g.primary, g.secondary, synthetic_vocabulary());
  EXPECT_EQ(text,
            "Rotate the large light orange striped arrow 90 degrees clockwise. Also change the color of the small dark "
            "green square to light yellow.");
  ParsedInstruction p = parse(text);
  ASSERT_EQ(p.changes.size(), 2u);
  EXPECT_EQ(p.changes[0].action, Action::Rotate);
  EXPECT_EQ(p.changes[0].object.get("texture"), "striped");
  EXPECT_EQ(p.changes[1].to.at("color"), "light yellow");
  EXPECT_TRUE(p.unknown_words.empty());
}

TEST(Vocabulary, ValuesAsFacets) {
  const Vocabulary& v = synthetic_vocabulary();
  EXPECT_EQ(compare_values(v, "color", "dark red", "dark red"), Agreement::Same);
  EXPECT_EQ(compare_values(v, "color", "red", "dark red"), Agreement::Coarse);
  EXPECT_EQ(compare_values(v, "color", "light red", "dark red"), Agreement::Conflict);
  EXPECT_EQ(compare_values(v, "color", "teal", "dark red"), Agreement::Conflict);
  EXPECT_EQ(compare_values(v, "position", "left", "middle left"), Agreement::Coarse);
  EXPECT_EQ(compare_values(v, "position", "right", "middle left"), Agreement::Conflict);
  EXPECT_EQ(compare_values(v, "text", "open", "OPEN"), Agreement::Same);
  EXPECT_TRUE(has_core(v, "color", "red"));
  EXPECT_FALSE(has_core(v, "color", "dark"));
  EXPECT_EQ(v.rank("size", "large"), 1);
}

TEST(Vocabulary, JsonRoundTripAndExtension) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "nouns": [{"name": "vase", "words": ["vase", "vases"]}],
    "attributes": [{"name": "material", "words": ["material"], "descriptive_core": true}],
    "values": [{"attribute": "material", "name": "glass"}, {"attribute": "material", "name": "ceramic"}]})");
  Vocabulary v = synthetic_vocabulary();
  v.extend(vocabulary_from_json(j, "vocab.json"));
  InstructionParser p(v);
  ParsedInstruction parsed = p.parse("Change the material of the vase to glass.");
  ASSERT_EQ(parsed.changes.size(), 1u);
  EXPECT_EQ(parsed.changes[0].object.noun, "vase");
  EXPECT_EQ(parsed.changes[0].to.at("material"), "glass");
  Vocabulary back = vocabulary_from_json(to_json(vocabulary_from_json(j, "x")), "y");
  EXPECT_EQ(back.values.size(), 2u);
  EXPECT_THROW(vocabulary_from_json(nlohmann::json::parse(R"({"values": [{"attribute": "nope", "name": "x"}]})"), "v"),
               UserError);
}

TEST(GroundTruthJson, RoundTripAndErrors) {
  nlohmann::json j = nlohmann::json::parse(R"({
    "primary": [{"action": "swap", "object": {"noun": "circle", "color": "red"}, "with": {"noun": "star"}}],
    "secondary": [], "overall": "The red circle and the star swap places."})");
  GroundTruth g = gt_from_json(j, "m.jsonl:3");
  EXPECT_EQ(nlohmann::json::parse(to_json(g).dump()), j);
  auto message = [](const char* text) {
    try {
      gt_from_json(nlohmann::json::parse(text), "m.jsonl:7 (id x)");
    } catch (const UserError& e) {
      EXPECT_EQ(e.code(), ExitCode::Input);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message(R"({"primary": [{"action": "explode", "object": {"noun": "x"}}]})").find("unknown action 'explode'"),
            std::string::npos);
  EXPECT_NE(message(R"({"primary": [{"action": "move", "object": {"noun": "x"}}]})").find("needs a 'direction'"),
            std::string::npos);
  EXPECT_NE(message(R"({"primary": [{"action": "add", "object": {"color": "red"}}]})").find("'noun'"), std::string::npos);
  EXPECT_NE(message(R"({"primary": "nope"})").find("m.jsonl:7 (id x)"), std::string::npos);
}

}  // namespace
}  // namespace ec::eval
