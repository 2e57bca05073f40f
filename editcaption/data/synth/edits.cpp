#include "editcaption/data/synth/edits.h"

#include <algorithm>

#include "editcaption/eval/grammar.h"
#include "editcaption/eval/synthetic_words.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::data::synth {
namespace {

namespace w = eval::synthetic;
using eval::Action;
using eval::Change;

constexpr double kZoomIn = 1.4;
constexpr double kPan = 0.25;

struct Dir {
  const char* name;
  int dr, dc;
};
constexpr std::array<Dir, 4> kDirs = {{{"left", 0, -1}, {"right", 0, 1}, {"up", -1, 0}, {"down", 1, 0}}};

std::string combo(std::string_view attr, std::string_view object, std::string_view edit) {
  return std::string(attr) + "|" + std::string(object) + "|" + std::string(edit);
}

std::vector<int> shape_indices(const Scene& s) {
  std::vector<int> out;
  for (size_t i = 0; i < s.objects.size(); ++i) {
    if (!s.objects[i].sign) out.push_back(static_cast<int>(i));
  }
  return out;
}

int sign_index(const Scene& s) {
  for (size_t i = 0; i < s.objects.size(); ++i) {
    if (s.objects[i].sign) return static_cast<int>(i);
  }
  return -1;
}

bool rotatable(const Object& o) {
  if (o.sign) return false;
  return std::find(w::kRotatable.begin(), w::kRotatable.end(), w::kShapes[o.shape]) != w::kRotatable.end();
}

Change change(Action a, const eval::ObjectDesc& object) {
  Change c;
  c.action = a;
  c.object = object;
  return c;
}

eval::ObjectDesc named(const char* noun) {
  eval::ObjectDesc d;
  d.noun = noun;
  return d;
}

/// A new colour for object `i` that differs from its own and keeps (hue, shape) unique.
bool recolor(Rng& rng, Scene& s, int i) {
  Object& o = s.objects[i];
  for (int attempt = 0; attempt < 32; ++attempt) {
    Object c = o;
    c.hue = rng.uniform(static_cast<int>(w::kHues.size()));
    c.shade = rng.uniform(static_cast<int>(w::kShades.size()));
    if ((c.hue == o.hue && c.shade == o.shade) || !distinct_in(s, c, i)) continue;
    o.hue = c.hue;
    o.shade = c.shade;
    return true;
  }
  return false;
}

void add_secondary(Edit& e, const Scene& src, Rng& rng, const EditOptions& opt) {
  if (e.kind == EditKind::Tone || !rng.bernoulli(opt.secondary_prob)) return;
  bool camera = e.kind == EditKind::Zoom || e.kind == EditKind::Pan;
  std::vector<int> candidates;
  if (!camera) {
    for (int i : shape_indices(src)) {
      if (std::find(e.involved.begin(), e.involved.end(), i) == e.involved.end()) candidates.push_back(i);
    }
  }
  if (!candidates.empty() && rng.bernoulli(0.4)) {
    int i = rng.pick(candidates);
    // The target scene keeps the same indices except after a removal; find the object by cell.
    const Object& before = src.objects[i];
    for (size_t t = 0; t < e.target.objects.size(); ++t) {
      Object& o = e.target.objects[t];
      if (o.sign || o.row != before.row || o.col != before.col || o.shape != before.shape) continue;
      if (!recolor(rng, e.target, static_cast<int>(t))) return;
      Change c = change(Action::Modify, describe(before));
      c.to["color"] = color_of(e.target.objects[t]);
      e.gt.secondary.push_back(c);
      e.involved.push_back(i);
      return;
    }
    return;
  }
  int tone = rng.uniform(static_cast<int>(w::kTones.size()));
  Change c = change(Action::Tone, named("image"));
  c.direction = std::string(w::kTones[tone]);
  if (tone < 2) {
    e.target.brightness = tone == 0 ? 1 : -1;
  } else {
    e.target.warmth = tone == 2 ? 1 : -1;
  }
  e.gt.secondary.push_back(c);
}

}  // namespace

const char* edit_name(EditKind k) {
  switch (k) {
    case EditKind::Add: return "add";
    case EditKind::Remove: return "remove";
    case EditKind::Replace: return "replace";
    case EditKind::Background: return "background";
    case EditKind::Color: return "color";
    case EditKind::Texture: return "texture";
    case EditKind::Tone: return "tone";
    case EditKind::Move: return "move";
    case EditKind::Resize: return "resize";
    case EditKind::Rotate: return "rotate";
    case EditKind::Swap: return "swap";
    case EditKind::Zoom: return "zoom";
    case EditKind::Pan: return "pan";
    case EditKind::Text: return "text";
  }
  return "?";
}

std::optional<EditKind> parse_edit(std::string_view name) {
  for (EditKind k : kEditKinds) {
    if (name == edit_name(k)) return k;
  }
  return std::nullopt;
}

EditCategory category_of(EditKind k) {
  switch (k) {
    case EditKind::Add:
    case EditKind::Remove:
    case EditKind::Replace:
    case EditKind::Background:
      return EditCategory::Semantic;
    case EditKind::Color:
    case EditKind::Texture:
    case EditKind::Tone:
      return EditCategory::Stylistic;
    default:
      return EditCategory::Structural;
  }
}

std::vector<std::string> all_combinations(EditKind k) {
  std::vector<std::string> out;
  const std::string edit = edit_name(k);
  switch (k) {
    case EditKind::Background:
      for (auto bg : w::kBackgrounds) out.push_back(combo(bg, "background", edit));
      break;
    case EditKind::Tone:
      for (auto bg : w::kBackgrounds) {
        for (auto t : w::kTones) out.push_back(combo(bg, "image", edit + "-" + std::string(t)));
      }
      break;
    case EditKind::Zoom:
      for (auto bg : w::kBackgrounds) {
        for (const char* d : {"in", "out"}) out.push_back(combo(bg, "camera", edit + "-" + d));
      }
      break;
    case EditKind::Pan:
      for (auto bg : w::kBackgrounds) {
        for (const auto& d : kDirs) out.push_back(combo(bg, "camera", edit + "-" + d.name));
      }
      break;
    case EditKind::Text:
      for (auto hue : w::kHues) out.push_back(combo(hue, w::kSign, edit));
      break;
    case EditKind::Rotate:
      for (auto hue : w::kHues) {
        for (auto shape : w::kRotatable) out.push_back(combo(hue, shape, edit));
      }
      break;
    default:
      for (auto hue : w::kHues) {
        for (auto shape : w::kShapes) out.push_back(combo(hue, shape, edit));
      }
  }
  return out;
}

std::optional<Edit> make_edit(EditKind kind, const Scene& src, Rng& rng, const EditOptions& opt) {
  Edit e;
  e.kind = kind;
  e.target = src;
  const std::string edit = edit_name(kind);
  std::vector<int> shapes = shape_indices(src);
  auto subject_combo = [&](const Object& o) { return combo(w::kHues[o.hue], noun_of(o), edit); };
  const std::string bg = std::string(w::kBackgrounds[src.background]);

  switch (kind) {
    case EditKind::Add: {
      std::vector<int> free;
      for (int cell = 0; cell < 9; ++cell) {
        if (cell_free(src, cell / 3, cell % 3)) free.push_back(cell);
      }
      if (free.empty()) return std::nullopt;
      int cell = rng.pick(free);
      Object o = random_shape(rng, src, cell / 3, cell % 3);
      if (!distinct_in(src, o)) return std::nullopt;
      e.target.objects.push_back(o);
      e.gt.primary.push_back(change(Action::Add, describe(o)));
      e.combo = subject_combo(o);
      break;
    }
    case EditKind::Remove: {
      if (shapes.empty()) return std::nullopt;
      e.subject = rng.pick(shapes);
      e.target.objects.erase(e.target.objects.begin() + e.subject);
      e.gt.primary.push_back(change(Action::Remove, describe(src.objects[e.subject])));
      break;
    }
    case EditKind::Replace: {
      if (shapes.empty()) return std::nullopt;
      e.subject = rng.pick(shapes);
      const Object& old = src.objects[e.subject];
      Object n = old;
      bool ok = false;
      for (int attempt = 0; attempt < 32 && !ok; ++attempt) {
        n = random_shape(rng, src, old.row, old.col);
        ok = n.shape != old.shape && distinct_in(src, n, e.subject);
      }
      if (!ok) return std::nullopt;
      e.target.objects[e.subject] = n;
      Change c = change(Action::Replace, describe(old));
      eval::ObjectDesc with = describe(n);
      c.with = with;
      e.gt.primary.push_back(c);
      break;
    }
    case EditKind::Background: {
      int b = (src.background + 1 + rng.uniform(static_cast<int>(w::kBackgrounds.size()) - 1)) %
              static_cast<int>(w::kBackgrounds.size());
      e.target.background = b;
      eval::ObjectDesc d = named("background");
      d.attrs["color"] = bg;
      Change c = change(Action::Modify, d);
      c.to["color"] = std::string(w::kBackgrounds[b]);
      e.gt.primary.push_back(c);
      e.combo = combo(w::kBackgrounds[b], "background", edit);
      break;
    }
    case EditKind::Color:
    case EditKind::Texture: {
      if (shapes.empty()) return std::nullopt;
      e.subject = rng.pick(shapes);
      const Object& o = src.objects[e.subject];
      Object& t = e.target.objects[e.subject];
      bool color = kind == EditKind::Color;
      bool texture = kind == EditKind::Texture || rng.bernoulli(opt.multi_change_prob);
      if (color) {
        if (!recolor(rng, e.target, e.subject)) return std::nullopt;
        Change c = change(Action::Modify, describe(o));
        c.to["color"] = color_of(t);
        e.gt.primary.push_back(c);
      }
      if (texture) {
        t.texture = (o.texture + 1 + rng.uniform(static_cast<int>(w::kTextures.size()) - 1)) %
                    static_cast<int>(w::kTextures.size());
        Change c = change(Action::Modify, describe(o));
        c.to["texture"] = std::string(w::kTextures[t.texture]);
        e.gt.primary.push_back(c);
      }
      break;
    }
    case EditKind::Tone: {
      int tone = rng.uniform(static_cast<int>(w::kTones.size()));
      if (tone < 2) {
        e.target.brightness = tone == 0 ? 1 : -1;
      } else {
        e.target.warmth = tone == 2 ? 1 : -1;
      }
      Change c = change(Action::Tone, named("image"));
      c.direction = std::string(w::kTones[tone]);
      e.gt.primary.push_back(c);
      e.combo = combo(bg, "image", edit + "-" + c.direction);
      break;
    }
    case EditKind::Move: {
      if (shapes.empty()) return std::nullopt;
      e.subject = rng.pick(shapes);
      const Object& o = src.objects[e.subject];
      struct Option {
        int dir, steps;
      };
      std::vector<Option> options;
      for (int d = 0; d < 4; ++d) {
        for (int steps = 1; steps <= 2; ++steps) {
          int r = o.row + kDirs[d].dr * steps, c = o.col + kDirs[d].dc * steps;
          if (r < 0 || r > 2 || c < 0 || c > 2) break;
          if (!cell_free(src, r, c, e.subject)) break;
          options.push_back({d, steps});
        }
      }
      if (options.empty()) return std::nullopt;
      Option pick = rng.pick(options);
      Object& t = e.target.objects[e.subject];
      t.row += kDirs[pick.dir].dr * pick.steps;
      t.col += kDirs[pick.dir].dc * pick.steps;
      Change c = change(Action::Move, describe(o));
      c.direction = kDirs[pick.dir].name;
      c.to["position"] = w::position_name(t.row, t.col);
      e.gt.primary.push_back(c);
      break;
    }
    case EditKind::Resize: {
      if (shapes.empty()) return std::nullopt;
      e.subject = rng.pick(shapes);
      const Object& o = src.objects[e.subject];
      e.target.objects[e.subject].size = 1 - o.size;
      Change c = change(Action::Modify, describe(o));
      c.to["size"] = std::string(w::kSizes[1 - o.size]);
      e.gt.primary.push_back(c);
      break;
    }
    case EditKind::Rotate: {
      std::vector<int> rot;
      for (int i : shapes) {
        if (rotatable(src.objects[i])) rot.push_back(i);
      }
      if (rot.empty()) return std::nullopt;
      e.subject = rng.pick(rot);
      bool cw = rng.bernoulli(0.5);
      e.target.objects[e.subject].turns += cw ? 1 : 3;
      Change c = change(Action::Rotate, describe(src.objects[e.subject]));
      c.direction = cw ? "clockwise" : "counterclockwise";
      c.angle = 90;
      e.gt.primary.push_back(c);
      break;
    }
    case EditKind::Swap: {
      if (shapes.size() < 2) return std::nullopt;
      std::vector<int> order = shapes;
      rng.shuffle(order);
      e.subject = order[0];
      int other = order[1];
      Object& a = e.target.objects[e.subject];
      Object& b = e.target.objects[other];
      std::swap(a.row, b.row);
      std::swap(a.col, b.col);
      Change c = change(Action::Swap, describe(src.objects[e.subject]));
      c.with = describe(src.objects[other]);
      e.gt.primary.push_back(c);
      e.involved.push_back(other);
      break;
    }
    case EditKind::Zoom: {
      bool in = rng.bernoulli(0.5);
      e.target.camera.zoom = in ? kZoomIn : 1.0 / kZoomIn;
      Change c = change(Action::Zoom, named("camera"));
      c.direction = in ? "in" : "out";
      e.gt.primary.push_back(c);
      e.combo = combo(bg, "camera", edit + "-" + c.direction);
      break;
    }
    case EditKind::Pan: {
      const Dir& d = kDirs[rng.uniform(4)];
      // The camera turning left shows what was to the left: the scene slides right.
      e.target.camera.dx = d.dc * kPan;
      e.target.camera.dy = d.dr * kPan;
      Change c = change(Action::Pan, named("camera"));
      c.direction = d.name;
      e.gt.primary.push_back(c);
      e.combo = combo(bg, "camera", edit + "-" + c.direction);
      break;
    }
    case EditKind::Text: {
      int s = sign_index(src);
      if (s < 0) return std::nullopt;
      e.subject = s;
      const Object& o = src.objects[s];
      std::string word;
      do {
        word = std::string(w::kSignWords[rng.uniform(static_cast<int>(w::kSignWords.size()))]);
      } while (word == o.text);
      e.target.objects[s].text = word;
      Change c = change(Action::Modify, describe(o));
      c.to["text"] = word;
      e.gt.primary.push_back(c);
      break;
    }
  }
  if (e.subject >= 0) {
    e.involved.push_back(e.subject);
    if (e.combo.empty()) e.combo = subject_combo(src.objects[e.subject]);
  }
  add_secondary(e, src, rng, opt);
  if (kind != EditKind::Zoom && kind != EditKind::Pan) {
    for (size_t i = 0; i < src.objects.size(); ++i) {
      if (std::find(e.involved.begin(), e.involved.end(), static_cast<int>(i)) == e.involved.end()) {
        e.gt.unchanged.push_back(describe(src.objects[i]));
      }
    }
  }
  if (kind != EditKind::Background) {
    eval::ObjectDesc b = named("background");
    b.attrs["color"] = bg;
    e.gt.unchanged.push_back(b);
  }
  e.gt.overall = eval::describe_overall(e.gt, eval::synthetic_vocabulary());
  return e;
}

}  // namespace ec::data::synth
