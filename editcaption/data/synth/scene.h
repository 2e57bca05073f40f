// The synthetic world: shapes on a 3x3 grid over a patterned background, seen through a camera
// that can pan and zoom, with a global tone. Indices refer to the word lists of
// editcaption/eval/synthetic_words.h, so descriptions and the scorer's vocabulary agree.
#pragma once

#include <string>
#include <vector>

#include "editcaption/data/synth/rng.h"
#include "editcaption/eval/change.h"

namespace ec::data::synth {

struct Object {
  bool sign = false;  ///< a text sign instead of a shape
  int shape = 0;      ///< kShapes index (shapes only)
  int hue = 0;        ///< kHues index
  int shade = 0;      ///< kShades index
  int size = 0;       ///< kSizes index (shapes only)
  int texture = 0;    ///< kTextures index (shapes only)
  int row = 0, col = 0;
  int turns = 0;      ///< clockwise quarter turns
  std::string text;   ///< signs only (a kSignWords entry)
};

struct Camera {
  double dx = 0, dy = 0;  ///< view centre offset in world units (the view is 1 wide at zoom 1)
  double zoom = 1;        ///< > 1 zooms in
};

struct Scene {
  int background = 0;  ///< kBackgrounds index
  std::vector<Object> objects;
  Camera camera;
  int brightness = 0;  ///< -1 darker, 0, +1 brighter
  int warmth = 0;      ///< -1 cooler, 0, +1 warmer
};

struct SceneOptions {
  int min_objects = 2;
  int max_objects = 4;
  double sign_prob = 0.3;
  bool force_sign = false;
};

/// The noun an object is called by ("circle", "sign").
std::string noun_of(const Object& o);
/// "dark red"
std::string color_of(const Object& o);
/// Noun and attributes as the ground truth states them (color, size, texture, position, text).
eval::ObjectDesc describe(const Object& o);
/// Whether (hue, shape) is unused by the other objects of the scene (so every object can be named
/// unambiguously by its colour and noun).
bool distinct_in(const Scene& scene, const Object& o, int ignore = -1);
/// Whether a grid cell is free.
bool cell_free(const Scene& scene, int row, int col, int ignore = -1);

Scene random_scene(Rng& rng, const SceneOptions& options);
/// A random shape for an empty cell, distinct from the scene's objects.
Object random_shape(Rng& rng, const Scene& scene, int row, int col);

}  // namespace ec::data::synth
