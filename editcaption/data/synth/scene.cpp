#include "editcaption/data/synth/scene.h"

#include "editcaption/eval/synthetic_words.h"

namespace ec::data::synth {

namespace w = eval::synthetic;

std::string noun_of(const Object& o) { return o.sign ? std::string(w::kSign) : std::string(w::kShapes[o.shape]); }

std::string color_of(const Object& o) { return w::color_name(w::kShades[o.shade], w::kHues[o.hue]); }

eval::ObjectDesc describe(const Object& o) {
  eval::ObjectDesc d;
  d.noun = noun_of(o);
  d.attrs["color"] = color_of(o);
  if (o.sign) {
    d.attrs["text"] = o.text;
  } else {
    d.attrs["size"] = std::string(w::kSizes[o.size]);
    d.attrs["texture"] = std::string(w::kTextures[o.texture]);
  }
  d.attrs["position"] = w::position_name(o.row, o.col);
  return d;
}

bool distinct_in(const Scene& scene, const Object& o, int ignore) {
  for (size_t i = 0; i < scene.objects.size(); ++i) {
    if (static_cast<int>(i) == ignore) continue;
    const Object& x = scene.objects[i];
    if (x.sign != o.sign) continue;
    if (x.hue == o.hue && (o.sign || x.shape == o.shape)) return false;
  }
  return true;
}

bool cell_free(const Scene& scene, int row, int col, int ignore) {
  for (size_t i = 0; i < scene.objects.size(); ++i) {
    if (static_cast<int>(i) == ignore) continue;
    if (scene.objects[i].row == row && scene.objects[i].col == col) return false;
  }
  return true;
}

Object random_shape(Rng& rng, const Scene& scene, int row, int col) {
  Object o;
  for (int attempt = 0; attempt < 64; ++attempt) {
    o.shape = rng.uniform(static_cast<int>(w::kShapes.size()));
    o.hue = rng.uniform(static_cast<int>(w::kHues.size()));
    if (distinct_in(scene, o)) break;
  }
  o.shade = rng.uniform(static_cast<int>(w::kShades.size()));
  o.size = rng.uniform(static_cast<int>(w::kSizes.size()));
  // Most shapes are plain so that patterns stay a salient attribute.
  o.texture = rng.bernoulli(0.6) ? 0 : 1 + rng.uniform(static_cast<int>(w::kTextures.size()) - 1);
  o.turns = rng.uniform(4);
  o.row = row;
  o.col = col;
  return o;
}

Scene random_scene(Rng& rng, const SceneOptions& opt) {
  Scene s;
  s.background = rng.uniform(static_cast<int>(w::kBackgrounds.size()));
  std::vector<int> cells(9);
  for (int i = 0; i < 9; ++i) cells[i] = i;
  rng.shuffle(cells);
  int n = opt.min_objects + rng.uniform(opt.max_objects - opt.min_objects + 1);
  size_t next = 0;
  for (int i = 0; i < n && next < cells.size(); ++i, ++next) {
    s.objects.push_back(random_shape(rng, s, cells[next] / 3, cells[next] % 3));
  }
  if ((opt.force_sign || rng.bernoulli(opt.sign_prob)) && next < cells.size()) {
    Object sign;
    sign.sign = true;
    sign.hue = rng.uniform(static_cast<int>(w::kHues.size()));
    sign.shade = 0;  // light signs keep the dark text legible
    sign.text = std::string(w::kSignWords[rng.uniform(static_cast<int>(w::kSignWords.size()))]);
    sign.row = cells[next] / 3;
    sign.col = cells[next] % 3;
    s.objects.push_back(sign);
  }
  return s;
}

}  // namespace ec::data::synth
