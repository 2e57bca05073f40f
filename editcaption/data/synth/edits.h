// The edits of the synthetic dataset, mirroring the paper's taxonomy (section 4.1): what each
// does to a scene and the structured ground truth it produces.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/data/synth/rng.h"
#include "editcaption/data/synth/scene.h"
#include "editcaption/data/types.h"
#include "editcaption/eval/change.h"

namespace ec::data::synth {

enum class EditKind { Add, Remove, Replace, Background, Color, Texture, Tone, Move, Resize, Rotate, Swap, Zoom, Pan, Text };

inline constexpr std::array<EditKind, 14> kEditKinds = {
    EditKind::Add,  EditKind::Remove, EditKind::Replace, EditKind::Background, EditKind::Color,
    EditKind::Texture, EditKind::Tone, EditKind::Move, EditKind::Resize, EditKind::Rotate,
    EditKind::Swap, EditKind::Zoom, EditKind::Pan, EditKind::Text};

/// The manifest `subcategory`: "add", "remove", ..., "text".
const char* edit_name(EditKind kind);
std::optional<EditKind> parse_edit(std::string_view name);
EditCategory category_of(EditKind kind);

struct EditOptions {
  double secondary_prob = 0.25;
  double multi_change_prob = 0.3;
};

struct Edit {
  EditKind kind = EditKind::Add;
  Scene target;
  eval::GroundTruth gt;
  /// "attribute|object|edit": the combination the test split holds out (e.g. "red|star|move",
  /// "beige|camera|zoom-in").
  std::string combo;
  /// Index in the source scene of the edited object (-1 for camera, tone and background edits).
  int subject = -1;
  /// Source indices of every object the edit (primary or secondary) changes.
  std::vector<int> involved;
};

/// Applies an edit of `kind` to `source`; nullopt when the scene does not allow it (no free cell
/// to move to, no rotatable shape, no sign...).
std::optional<Edit> make_edit(EditKind kind, const Scene& source, Rng& rng, const EditOptions& options);

/// Every combination an edit kind can produce, for choosing the held-out ones.
std::vector<std::string> all_combinations(EditKind kind);

}  // namespace ec::data::synth
