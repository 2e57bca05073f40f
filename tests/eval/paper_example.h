// The paper's worked example (appendix B.4, tables 6-9): a woman's grey wide-strap midi dress
// becomes a pink spaghetti-strap mini dress and her gold necklace a thin silver one. Expressed
// as a domain vocabulary on top of base_vocabulary() and a structured ground truth.
#pragma once

#include "editcaption/eval/change.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::eval::test {

inline Vocabulary fashion_vocabulary() {
  Vocabulary v = base_vocabulary();
  v.nouns.push_back({"dress", NounKind::Object, {"dress", "dresses"}, {}});
  v.nouns.push_back({"necklace", NounKind::Object, {"necklace", "necklaces", "chain"}, {}});
  v.nouns.push_back({"handbag", NounKind::Object, {"handbag", "bag", "purse"}, {}});
  v.nouns.push_back({"woman", NounKind::Object, {"woman", "lady"}, {}});
  v.nouns.push_back({"hat", NounKind::Object, {"hat", "hats"}, {}});
  v.nouns.push_back({"car", NounKind::Object, {"car", "cars"}, {}});
  v.nouns.push_back({"clothing", NounKind::Generic, {"clothing", "clothes", "garment", "outfit"}, {"dress", "hat"}});

  AttributeDef color;
  color.name = "color";
  color.words = {"color", "colour"};
  color.facets = {"hue"};
  color.descriptive_core = true;
  AttributeDef style;
  style.name = "style";
  style.words = {"style", "strap", "straps"};
  style.facets = {"kind", "width"};
  style.core_facets = {"kind"};
  AttributeDef length;
  length.name = "length";
  length.words = {"length"};
  length.facets = {"class", "exact"};
  length.core_facets = {"class"};
  length.order = {"mini", "midi", "maxi"};
  length.increase_words = {"longer"};
  length.decrease_words = {"shorter"};
  length.increase_verbs = {"lengthen"};
  length.decrease_verbs = {"shorten"};
  AttributeDef thickness;
  thickness.name = "thickness";
  thickness.words = {"thickness"};
  v.attributes.insert(v.attributes.end(), {color, style, length, thickness});

  for (const char* c : {"pink", "blue", "silver", "gold", "white", "red"}) v.values.push_back({"color", c, {{"hue", c}}, {}});
  v.values.push_back({"color", "grey", {{"hue", "grey"}}, {"grey", "gray"}});
  v.values.push_back({"style", "wide-strap", {{"kind", "strap"}, {"width", "wide"}}, {"wide strap", "wide straps"}});
  v.values.push_back({"style", "spaghetti-strap", {{"kind", "strap"}, {"width", "thin"}},
                      {"spaghetti strap", "spaghetti straps", "thin strap", "thin straps"}});
  v.values.push_back({"style", "strappy", {{"kind", "strap"}}, {"strappy"}});
  v.values.push_back({"length", "mini", {{"class", "short"}, {"exact", "mini"}}, {"mini"}});
  v.values.push_back({"length", "midi", {{"class", "medium"}, {"exact", "midi"}}, {"midi"}});
  v.values.push_back({"length", "maxi", {{"class", "long"}, {"exact", "maxi"}}, {"maxi"}});
  v.values.push_back({"length", "short", {{"class", "short"}}, {"short"}});
  v.values.push_back({"length", "long", {{"class", "long"}}, {"long"}});
  v.values.push_back({"thickness", "thin", {{"thickness", "thin"}}, {"thin"}});
  v.values.push_back({"thickness", "thick", {{"thickness", "thick"}}, {"thick"}});
  return v;
}

/// Table 6 as structured ground truth: three primary changes of the dress, the necklace
/// replacement as the secondary change, the handbag and the woman unchanged.
inline GroundTruth dress_ground_truth() {
  return gt_from_json(nlohmann::json::parse(R"({
    "primary": [
      {"action": "modify", "object": {"noun": "dress", "color": "grey", "style": "wide-strap", "length": "midi"},
       "to": {"color": "pink"}},
      {"action": "modify", "object": {"noun": "dress", "color": "grey", "style": "wide-strap", "length": "midi"},
       "to": {"style": "spaghetti-strap"}},
      {"action": "modify", "object": {"noun": "dress", "color": "grey", "style": "wide-strap", "length": "midi"},
       "to": {"length": "mini"}}
    ],
    "secondary": [
      {"action": "replace", "object": {"noun": "necklace", "color": "gold"},
       "with": {"noun": "necklace", "color": "silver", "thickness": "thin"}}
    ],
    "unchanged": [{"noun": "handbag", "color": "white"}, {"noun": "woman"}],
    "overall": "The woman in the image, originally wearing a grey wide-strap midi dress, has been edited to wear a pink spaghetti-strap mini dress. Her gold necklace has been replaced with a thin silver one. Her pose and white handbag remain unchanged."
  })"),
                      "table 6");
}

}  // namespace ec::eval::test
