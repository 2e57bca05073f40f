#include "editcaption/data/synth/negatives.h"

#include <algorithm>

#include "editcaption/core/check.h"
#include "editcaption/eval/grammar.h"
#include "editcaption/eval/synthetic_words.h"
#include "editcaption/eval/vocabulary.h"

namespace ec::data::synth {
namespace {

namespace w = eval::synthetic;
using eval::Action;
using eval::Change;

constexpr std::array<const char*, 3> kVagueWords = {"slightly", "a bit", "somewhat"};

std::vector<int> bystanders(const Edit& e, const Scene& src) {
  std::vector<int> out;
  for (size_t i = 0; i < src.objects.size(); ++i) {
    if (src.objects[i].sign) continue;
    if (std::find(e.involved.begin(), e.involved.end(), static_cast<int>(i)) != e.involved.end()) continue;
    out.push_back(static_cast<int>(i));
  }
  return out;
}

bool center(int row, int col) { return row == 1 && col == 1; }

/// (row, col) of a grid position name.
std::pair<int, int> cell_of(const std::string& position) {
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) {
      if (w::position_name(r, c) == position) return {r, c};
    }
  }
  return {-1, -1};
}

/// A colour other than every one in `avoid` (names like "dark red").
std::string other_color(Rng& rng, const std::vector<std::string>& avoid, const std::string& like) {
  // Half the time keep the hue and change the shade: the fine-grained mistake.
  for (int attempt = 0; attempt < 64; ++attempt) {
    std::string c;
    if (attempt < 8 && rng.bernoulli(0.5) && like.find(' ') != std::string::npos) {
      std::string shade = like.substr(0, like.find(' ')), hue = like.substr(like.find(' ') + 1);
      c = w::color_name(shade == "light" ? "dark" : "light", hue);
    } else {
      c = w::color_name(w::kShades[rng.uniform(2)], w::kHues[rng.uniform(static_cast<int>(w::kHues.size()))]);
    }
    if (std::find(avoid.begin(), avoid.end(), c) == avoid.end()) return c;
  }
  return "dark purple";
}

std::string flip_shade(const std::string& color) {
  auto space = color.find(' ');
  if (space == std::string::npos) return color;
  std::string shade = color.substr(0, space);
  return w::color_name(shade == "light" ? "dark" : "light", color.substr(space + 1));
}

std::string hue_only(const std::string& color) {
  auto space = color.find(' ');
  return space == std::string::npos ? color : color.substr(space + 1);
}

eval::ObjectDesc collective() {
  eval::ObjectDesc d;
  d.noun = "all";
  d.ref = eval::Reference::Collective;
  return d;
}

}  // namespace

const char* failure_name(Failure f) {
  switch (f) {
    case Failure::OrientationFlip: return "orientation_flip";
    case Failure::ViewpointConfusion: return "viewpoint_confusion";
    case Failure::AttributeWrong: return "attribute_wrong";
    case Failure::AttributeOmission: return "attribute_omission";
    case Failure::VagueWording: return "vague_wording";
    case Failure::WrongSubject: return "wrong_subject";
    case Failure::ChangeOmission: return "change_omission";
    case Failure::TextWrong: return "text_wrong";
  }
  return "?";
}

std::optional<Failure> parse_failure(std::string_view name) {
  for (Failure f : kFailures) {
    if (name == failure_name(f)) return f;
  }
  return std::nullopt;
}

std::vector<Failure> applicable_failures(const Edit& e, const Scene& src) {
  std::vector<Failure> out;
  EditKind k = e.kind;
  const Change& p = e.gt.primary.front();
  bool add_off_center = k == EditKind::Add && !center(cell_of(p.object.get("position")).first,
                                                      cell_of(p.object.get("position")).second);
  if (k == EditKind::Move || k == EditKind::Rotate || k == EditKind::Zoom || k == EditKind::Pan || add_off_center) {
    out.push_back(Failure::OrientationFlip);
  }
  if (k == EditKind::Move || k == EditKind::Zoom || k == EditKind::Pan || k == EditKind::Resize) {
    out.push_back(Failure::ViewpointConfusion);
  }
  if (k != EditKind::Zoom && k != EditKind::Pan) out.push_back(Failure::AttributeWrong);
  if (k == EditKind::Color || k == EditKind::Add || k == EditKind::Replace || k == EditKind::Move ||
      k == EditKind::Rotate) {
    out.push_back(Failure::AttributeOmission);
  }
  if (k == EditKind::Tone || k == EditKind::Resize || k == EditKind::Zoom || k == EditKind::Pan || k == EditKind::Move) {
    out.push_back(Failure::VagueWording);
  }
  size_t others = bystanders(e, src).size();
  bool subject_edit = k == EditKind::Remove || k == EditKind::Replace || k == EditKind::Color ||
                      k == EditKind::Texture || k == EditKind::Move || k == EditKind::Resize || k == EditKind::Rotate ||
                      k == EditKind::Swap;
  if (subject_edit && others >= 1) out.push_back(Failure::WrongSubject);
  if (!e.gt.secondary.empty() || e.gt.primary.size() >= 2) out.push_back(Failure::ChangeOmission);
  if (k == EditKind::Text) out.push_back(Failure::TextWrong);
  return out;
}

Negative make_negative(Failure f, const Edit& e, const Scene& src, Rng& rng) {
  const eval::Vocabulary& vocab = eval::synthetic_vocabulary();
  std::vector<Change> p = e.gt.primary, s = e.gt.secondary;
  Change& c = p.front();
  Negative n;
  n.failure = f;
  int vague_index = -1;
  std::string vague;
  switch (f) {
    case Failure::OrientationFlip: {
      n.error_type = ErrorType::Orientation;
      if (c.action == Action::Add) {
        auto [r, col] = cell_of(c.object.get("position"));
        c.object.attrs["position"] = col != 1 ? w::position_name(r, 2 - col) : w::position_name(2 - r, col);
        break;
      }
      c.direction = eval::opposite_direction(c.direction);
      if (c.action == Action::Move) {
        auto [r0, c0] = cell_of(c.object.get("position"));
        auto [r1, c1] = cell_of(c.to["position"]);
        int r2 = 2 * r0 - r1, c2 = 2 * c0 - c1;
        if (r2 >= 0 && r2 <= 2 && c2 >= 0 && c2 <= 2) {
          c.to["position"] = w::position_name(r2, c2);
        } else {
          // Mirror the whole grid along the move's axis: a consistent, wrong description.
          bool horizontal = r0 == r1;
          c.object.attrs["position"] = horizontal ? w::position_name(r0, 2 - c0) : w::position_name(2 - r0, c0);
          c.to["position"] = horizontal ? w::position_name(r1, 2 - c1) : w::position_name(2 - r1, c1);
        }
      }
      break;
    }
    case Failure::ViewpointConfusion: {
      n.error_type = ErrorType::Viewpoint;
      Change v;
      if (e.kind == EditKind::Move) {
        // Only one shape moved; told as the camera panning the other way.
        v.action = Action::Pan;
        v.object.noun = "camera";
        v.direction = eval::opposite_direction(c.direction);
      } else if (e.kind == EditKind::Zoom) {
        v.action = Action::Modify;
        v.object = collective();
        v.to["size"] = "";
        v.direction = c.direction == "in" ? "increase" : "decrease";
      } else if (e.kind == EditKind::Pan) {
        v.action = Action::Move;
        v.object = collective();
        v.direction = eval::opposite_direction(c.direction);
      } else {  // resize
        v.action = Action::Zoom;
        v.object.noun = "camera";
        v.direction = c.to["size"] == "large" ? "in" : "out";
      }
      c = v;
      break;
    }
    case Failure::AttributeWrong: {
      n.error_type = ErrorType::Attribute;
      switch (e.kind) {
        case EditKind::Color:
          c.to["color"] = other_color(rng, {c.to["color"], c.object.get("color")}, c.to["color"]);
          break;
        case EditKind::Texture: {
          std::string now = c.to["texture"], was = c.object.get("texture");
          for (auto t : w::kTextures) {
            if (t != now && t != was) c.to["texture"] = std::string(t);
          }
          break;
        }
        case EditKind::Add:
          c.object.attrs["color"] = other_color(rng, {c.object.get("color")}, c.object.get("color"));
          break;
        case EditKind::Replace:
          c.with->attrs["color"] = other_color(rng, {c.with->get("color")}, c.with->get("color"));
          break;
        case EditKind::Background: {
          std::vector<std::string> bgs;
          for (auto b : w::kBackgrounds) {
            if (b != c.to["color"] && b != c.object.get("color")) bgs.emplace_back(b);
          }
          c.to["color"] = rng.pick(bgs);
          break;
        }
        case EditKind::Tone:
          c.direction = eval::opposite_direction(c.direction);
          break;
        case EditKind::Resize:
          c.direction = c.to["size"] == "large" ? "decrease" : "increase";
          break;
        default:
          // Remove, move, rotate, swap, text: the edited object described with the wrong shade.
          c.object.attrs["color"] = flip_shade(c.object.get("color"));
          break;
      }
      break;
    }
    case Failure::AttributeOmission: {
      n.error_type = ErrorType::Attribute;
      n.severity = Severity::P1;
      switch (e.kind) {
        case EditKind::Color:
          c.to["color"] = hue_only(c.to["color"]);
          break;
        case EditKind::Add:
          c.object.attrs.erase("size");
          break;
        case EditKind::Replace:
          c.with->attrs["color"] = hue_only(c.with->get("color"));
          break;
        case EditKind::Move:
          c.to.erase("position");
          break;
        default:  // rotate
          c.angle = 0;
          break;
      }
      break;
    }
    case Failure::VagueWording:
      n.error_type = ErrorType::Attribute;
      n.severity = Severity::P2;
      vague_index = 0;
      vague = kVagueWords[rng.uniform(static_cast<int>(kVagueWords.size()))];
      break;
    case Failure::WrongSubject: {
      n.error_type = ErrorType::Subject;
      std::vector<int> others = bystanders(e, src);
      EC_CHECK(!others.empty(), "wrong_subject needs another shape");
      const Object& o = src.objects[rng.pick(others)];
      if (e.kind == EditKind::Swap) {
        c.with = describe(o);
        break;
      }
      eval::ObjectDesc was = c.object;
      for (auto& x : p) {
        if (x.object == was) x.object = describe(o);
      }
      if (c.action == Action::Move) {
        auto [r0, c0] = cell_of(was.get("position"));
        auto [r1, c1] = cell_of(e.gt.primary.front().to.at("position"));
        int r2 = o.row + (r1 - r0), c2 = o.col + (c1 - c0);
        if (r2 >= 0 && r2 <= 2 && c2 >= 0 && c2 <= 2) {
          c.to["position"] = w::position_name(r2, c2);
        } else {
          c.to.erase("position");
        }
      }
      break;
    }
    case Failure::ChangeOmission:
      n.error_type = ErrorType::Omission;
      if (!s.empty()) {
        n.severity = Severity::P1;
        s.clear();
      } else {
        p.erase(p.begin() + 1);
      }
      break;
    case Failure::TextWrong: {
      n.error_type = ErrorType::Text;
      std::string now = c.to["text"], was = c.object.get("text");
      std::string word;
      do {
        word = std::string(w::kSignWords[rng.uniform(static_cast<int>(w::kSignWords.size()))]);
      } while (word == now || word == was);
      c.to["text"] = word;
      break;
    }
  }
  n.instruction = eval::render_instruction(p, s, vocab, vague_index, vague);
  return n;
}

}  // namespace ec::data::synth
