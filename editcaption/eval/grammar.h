// Writes changes as text: the imperative instructions of the synthetic grammar (the SFT targets
// and, from mutated changes, the DPO negatives), declarative descriptions for the ground truth's
// `overall`, and the "[Primary Changes] ..." block the judge prompts quote. The instruction parser
// reads everything render_instruction writes.
#pragma once

#include <string>
#include <vector>

#include "editcaption/eval/change.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::eval {

/// "small dark red striped circle" (attributes in a fixed order, the default pattern left out,
/// position only when asked); "all the objects" for collective references.
std::string describe_object(const ObjectDesc& object, const Vocabulary& vocab, bool with_position = false);

/// One imperative clause without the final period, e.g. "move the small dark red circle left,
/// from the center to the middle left". `vague` (e.g. "slightly") is inserted before the
/// direction of moves, tone changes, resizes, zooms and pans.
std::string render_change(const Change& change, const Vocabulary& vocab, const std::string& vague = "");

/// The instruction: one sentence per primary change (consecutive attribute changes of the same
/// object share a sentence), then "Also ..." for each secondary change. `vague_index` selects the
/// change (in primary-then-secondary order) that gets the word `vague`.
std::string render_instruction(const std::vector<Change>& primary, const std::vector<Change>& secondary,
                               const Vocabulary& vocab, int vague_index = -1, const std::string& vague = "");

/// A declarative sentence for a change: "The small dark red circle moves left from the center to
/// the middle left."
std::string describe_change(const Change& change, const Vocabulary& vocab);

/// The `overall` text of a ground truth: the changes, then the unchanged objects.
std::string describe_overall(const GroundTruth& gt, const Vocabulary& vocab);

/// The ground truth as the judge prompts quote it (paper table 6 layout).
std::string format_gt_text(const GroundTruth& gt, const Vocabulary& vocab);

/// Attribute changes of one object merged (consecutive Modify changes with the same object).
std::vector<Change> merge_attribute_changes(const std::vector<Change>& changes);

}  // namespace ec::eval
