// The words of the synthetic world, shared by the generator (editcaption/data/synth) and the
// controlled vocabulary the scorer parses instructions with (vocabulary.cpp), so the two cannot
// drift apart. Order matters: generators index these arrays.
#pragma once

#include <array>
#include <string>
#include <string_view>

namespace ec::eval::synthetic {

inline constexpr std::array<std::string_view, 7> kShapes = {"circle", "square", "triangle", "star",
                                                            "heart",  "arrow",  "cross"};
/// Plural forms, same order as kShapes.
inline constexpr std::array<std::string_view, 7> kShapePlurals = {"circles", "squares", "triangles", "stars",
                                                                  "hearts",  "arrows",  "crosses"};
/// Shapes whose quarter turns are visible and differ clockwise vs counterclockwise.
inline constexpr std::array<std::string_view, 3> kRotatable = {"triangle", "heart", "arrow"};
/// The noun of the text-bearing object.
inline constexpr std::string_view kSign = "sign";

inline constexpr std::array<std::string_view, 6> kHues = {"red", "orange", "yellow", "green", "blue", "purple"};
inline constexpr std::array<std::string_view, 2> kShades = {"light", "dark"};
inline constexpr std::array<std::string_view, 2> kSizes = {"small", "large"};
/// kTextures[0] is the default (never needs saying).
inline constexpr std::array<std::string_view, 3> kTextures = {"plain", "striped", "dotted"};
inline constexpr std::array<std::string_view, 4> kBackgrounds = {"white", "grey", "beige", "mint"};
inline constexpr std::array<std::string_view, 3> kRows = {"top", "middle", "bottom"};
inline constexpr std::array<std::string_view, 3> kCols = {"left", "center", "right"};
inline constexpr std::array<std::string_view, 8> kSignWords = {"OPEN", "SHOP", "SALE", "STOP",
                                                               "EXIT", "CAFE", "PARK", "BOOK"};
inline constexpr std::array<std::string_view, 4> kTones = {"brighter", "darker", "warmer", "cooler"};

/// "dark red"
inline std::string color_name(std::string_view shade, std::string_view hue) {
  return std::string(shade) + " " + std::string(hue);
}

/// Grid cell name: "top left", "top center", "middle left", "center", "bottom right"...
inline std::string position_name(int row, int col) {
  if (row == 1 && col == 1) return "center";
  return std::string(kRows[row]) + " " + std::string(kCols[col]);
}

}  // namespace ec::eval::synthetic
