// Draws a synthetic scene with OpenCV: a shaded, gridded background that moves with the camera
// (so a pan or zoom looks different from moving the shapes), shapes with colours, shades,
// patterns and outlines, text signs, then the global tone. Drawn at 2x and area-downsampled for
// anti-aliasing; deterministic for a given OpenCV build.
#pragma once

#include <opencv2/core.hpp>

#include "editcaption/data/synth/scene.h"

namespace ec::data::synth {

struct RenderOptions {
  int size = 112;
  int supersample = 2;
};

/// BGR, 8 bits per channel, size x size.
cv::Mat render(const Scene& scene, const RenderOptions& options);

}  // namespace ec::data::synth
