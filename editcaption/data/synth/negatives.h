// Rejected instructions for the DPO manifests: the chosen (exact) instruction with exactly one
// labelled failure, built by changing the ground-truth changes and rendering them with the same
// grammar. The failure kinds are the paper's failure modes (section 4.2) plus omissions and text.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/data/synth/edits.h"
#include "editcaption/data/synth/rng.h"
#include "editcaption/data/types.h"

namespace ec::data::synth {

enum class Failure {
  OrientationFlip,     ///< left/right, up/down, clockwise/counterclockwise, zoom in/out reversed (P0)
  ViewpointConfusion,  ///< a camera move told as an object move, or back (P0)
  AttributeWrong,      ///< a wrong colour, pattern, size or background, or a wrong description (P0)
  AttributeOmission,   ///< a fine-grained attribute dropped: shade, size, destination, angle (P1)
  VagueWording,        ///< "slightly", "a bit", "somewhat" (P2)
  WrongSubject,        ///< the edit applied to another object of the scene (P0)
  ChangeOmission,      ///< a secondary change (P1) or one of two primary changes (P0) left out
  TextWrong,           ///< a sign's new text misstated (P0)
};

inline constexpr std::array<Failure, 8> kFailures = {
    Failure::OrientationFlip, Failure::ViewpointConfusion, Failure::AttributeWrong, Failure::AttributeOmission,
    Failure::VagueWording,    Failure::WrongSubject,       Failure::ChangeOmission, Failure::TextWrong};

const char* failure_name(Failure f);
std::optional<Failure> parse_failure(std::string_view name);

struct Negative {
  Failure failure = Failure::OrientationFlip;
  ErrorType error_type = ErrorType::Other;
  Severity severity = Severity::P0;
  std::string instruction;
};

/// The failures that can be built for this edit of this scene.
std::vector<Failure> applicable_failures(const Edit& edit, const Scene& source);

/// A rejected instruction with exactly this failure (which must be applicable).
Negative make_negative(Failure failure, const Edit& edit, const Scene& source, Rng& rng);

}  // namespace ec::data::synth
