#include "trainers/forward_dump.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/io/json_strict.h"
#include "models/nn/shape.h"
#include "models/qwen_vl/positions.h"

namespace ec::train {
namespace fs = std::filesystem;
using nn::shape_str;

namespace {

bool is_integral(const at::Tensor& t) { return at::isIntegralType(t.scalar_type(), /*includeBool=*/true); }

/// [L] becomes [1, L]; anything but [B, L] with L > 0 is refused.
at::Tensor as_rows(at::Tensor t, const fs::path& path, const char* name) {
  if (t.dim() == 1) t = t.unsqueeze(0);
  EC_USER_CHECK(t.dim() == 2 && t.size(0) > 0 && t.size(1) > 0, Input, "{}: tensor \"{}\" has shape {}, expected [B, L] or [L]",
                path.string(), name, shape_str(t));
  return t;
}

/// Checks what the model would otherwise reject deep inside, with the file named: ids in the
/// vocabulary, image tokens matching the images, pixel rows matching the grids.
void validate(const data::ModelInputs& in, const models::QwenVLConfig& c, const fs::path& path) {
  const std::string file = path.string();
  const at::Tensor ids = in.input_ids;
  const at::Tensor real = in.attention_mask.to(at::kBool);
  EC_USER_CHECK(real.any(1).all().item<bool>(), Input, "{}: attention_mask leaves a row without any real token", file);
  const int64_t lo = ids.min().item<int64_t>(), hi = ids.max().item<int64_t>();
  EC_USER_CHECK(lo >= 0 && hi < c.text.vocab_size, Input, "{}: input_ids hold {} .. {}, outside the vocabulary [0, {})",
                file, lo, hi, c.text.vocab_size);
  const int64_t image_tokens = ((ids == c.image_token_id) & real).sum().item<int64_t>();
  if (!in.pixel_values.defined()) {
    EC_USER_CHECK(image_tokens == 0, Input, "{}: input_ids hold {} image token(s) (id {}) but there are no images",
                  file, image_tokens, c.image_token_id);
    return;
  }
  const at::Tensor g = in.image_grid_thw;
  EC_USER_CHECK(g.dim() == 2 && g.size(1) == 3 && g.size(0) > 0, Input,
                "{}: image_grid_thw has shape {}, expected [images, 3]", file, shape_str(g));
  EC_USER_CHECK(g.min().item<int64_t>() > 0, Input, "{}: image_grid_thw holds a zero or negative size", file);
  const int64_t merge = c.vision.spatial_merge_size;
  EC_USER_CHECK((g.select(1, 1) % merge == 0).all().item<bool>() && (g.select(1, 2) % merge == 0).all().item<bool>(),
                Input, "{}: image_grid_thw heights and widths must be multiples of the merge size {}", file, merge);
  const int64_t patches = g.prod(1).sum().item<int64_t>();
  const int64_t row = 3 * c.vision.temporal_patch_size * c.vision.patch_size * c.vision.patch_size;
  EC_USER_CHECK(in.pixel_values.dim() == 2 && in.pixel_values.size(0) == patches && in.pixel_values.size(1) == row,
                Input, "{}: pixel_values has shape {}; image_grid_thw needs [{}, {}]", file, shape_str(in.pixel_values),
                patches, row);
  const int64_t expected = patches / (merge * merge);
  EC_USER_CHECK(image_tokens == expected, Input,
                "{}: input_ids hold {} image token(s) (id {}) where image_grid_thw needs {}", file, image_tokens,
                c.image_token_id, expected);
}

data::ModelInputs read_safetensors_inputs(const fs::path& path) {
  io::SafetensorsFile f(path);
  auto need = [&](const char* name) {
    EC_USER_CHECK(f.contains(name), Input, "{}: no tensor \"{}\"", path.string(), name);
    return f.load(name);
  };
  data::ModelInputs in;
  at::Tensor ids = as_rows(need("input_ids"), path, "input_ids");
  EC_USER_CHECK(is_integral(ids), Input, "{}: input_ids are {}, expected integers", path.string(),
                c10::toString(ids.scalar_type()));
  in.input_ids = ids.to(at::kLong);
  if (f.contains("attention_mask")) {
    at::Tensor m = as_rows(f.load("attention_mask"), path, "attention_mask");
    EC_USER_CHECK(is_integral(m) && m.sizes() == in.input_ids.sizes(), Input,
                  "{}: attention_mask must be integers shaped like input_ids {}, got {} {}", path.string(),
                  shape_str(in.input_ids), c10::toString(m.scalar_type()), shape_str(m));
    m = m.to(at::kLong);
    EC_USER_CHECK(((m == 0) | (m == 1)).all().item<bool>(), Input, "{}: attention_mask holds values other than 0 and 1",
                  path.string());
    in.attention_mask = m;
  } else {
    in.attention_mask = at::ones_like(in.input_ids);
  }
  EC_USER_CHECK(f.contains("pixel_values") == f.contains("image_grid_thw"), Input,
                "{}: pixel_values and image_grid_thw go together", path.string());
  if (f.contains("pixel_values")) {
    at::Tensor pv = f.load("pixel_values");
    EC_USER_CHECK(at::isFloatingType(pv.scalar_type()), Input, "{}: pixel_values are {}, expected floats", path.string(),
                  c10::toString(pv.scalar_type()));
    at::Tensor g = f.load("image_grid_thw");
    EC_USER_CHECK(is_integral(g), Input, "{}: image_grid_thw is {}, expected integers", path.string(),
                  c10::toString(g.scalar_type()));
    in.pixel_values = pv.to(at::kFloat);
    in.image_grid_thw = g.to(at::kLong);
  }
  return in;
}

std::vector<std::vector<int64_t>> json_rows(const nlohmann::json& j, const std::string& file) {
  EC_USER_CHECK(j.contains("input_ids") && j["input_ids"].is_array() && !j["input_ids"].empty(), Input,
                "{}: \"input_ids\" must be a non-empty list of token ids (or of lists of them)", file);
  const nlohmann::json& ids = j["input_ids"];
  const bool batched = ids.front().is_array();
  std::vector<std::vector<int64_t>> rows;
  auto read_row = [&](const nlohmann::json& r, size_t index) {
    EC_USER_CHECK(r.is_array() && !r.empty(), Input, "{}: input_ids[{}] must be a non-empty list of token ids", file,
                  index);
    std::vector<int64_t> row;
    for (size_t k = 0; k < r.size(); ++k) {
      EC_USER_CHECK(r[k].is_number_integer(), Input, "{}: input_ids{} element {} is not an integer: {}", file,
                    batched ? fmt::format("[{}]", index) : std::string(), k, r[k].dump());
      row.push_back(r[k].get<int64_t>());
    }
    return row;
  };
  if (batched) {
    for (size_t i = 0; i < ids.size(); ++i) rows.push_back(read_row(ids[i], i));
  } else {
    rows.push_back(read_row(ids, 0));
  }
  return rows;
}

data::ModelInputs read_json_inputs(const fs::path& path, const models::QwenVLConfig& c,
                                   const data::ImageProcessorOptions& image) {
  const std::string file = path.string();
  const nlohmann::json j = io::parse_json_strict(read_file(path), file);
  EC_USER_CHECK(j.is_object(), Input, "{}: expected an object with \"input_ids\" (and \"images\")", file);
  for (const auto& [key, value] : j.items()) {
    EC_USER_CHECK(key == "input_ids" || key == "images", Input, "{}: unknown key \"{}\" (known: input_ids, images)",
                  file, key);
  }
  std::vector<std::vector<int64_t>> rows = json_rows(j, file);

  std::vector<data::ProcessedImage> images;
  if (j.contains("images")) {
    EC_USER_CHECK(j["images"].is_array(), Input, "{}: \"images\" must be a list of image paths", file);
    for (size_t i = 0; i < j["images"].size(); ++i) {
      const nlohmann::json& p = j["images"][i];
      EC_USER_CHECK(p.is_string(), Input, "{}: images[{}] is not a path: {}", file, i, p.dump());
      fs::path ip = p.get<std::string>();
      if (ip.is_relative()) ip = path.parent_path() / ip;
      images.push_back(data::load_and_process_image(ip, image));
    }
  }

  // Each run of image tokens stands for the next image, across rows in order.
  const int64_t merge = c.vision.spatial_merge_size;
  size_t next_image = 0;
  for (size_t r = 0; r < rows.size(); ++r) {
    std::vector<int64_t> out;
    const std::vector<int64_t>& row = rows[r];
    for (size_t k = 0; k < row.size();) {
      if (row[k] != c.image_token_id) {
        out.push_back(row[k++]);
        continue;
      }
      size_t run = 0;
      while (k + run < row.size() && row[k + run] == c.image_token_id) ++run;
      EC_USER_CHECK(next_image < images.size(), Input,
                    "{}: input_ids[{}] has image tokens (id {}) at position {} but only {} image(s) are listed", file, r,
                    c.image_token_id, k, images.size());
      const int64_t n = images[next_image].num_tokens(merge);
      EC_USER_CHECK(run == 1 || static_cast<int64_t>(run) == n, Input,
                    "{}: input_ids[{}] has a run of {} image tokens at position {} for images[{}], which needs {} "
                    "(or a single token, expanded)",
                    file, r, run, k, next_image, n);
      out.insert(out.end(), static_cast<size_t>(n), c.image_token_id);
      ++next_image;
      k += run;
    }
    rows[r] = std::move(out);
  }
  EC_USER_CHECK(next_image == images.size(), Input, "{}: {} image(s) listed but input_ids name {}", file, images.size(),
                next_image);

  size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.size());
  data::ModelInputs in;
  in.input_ids = at::zeros({static_cast<int64_t>(rows.size()), static_cast<int64_t>(width)}, at::kLong);
  in.attention_mask = at::zeros_like(in.input_ids);
  for (size_t r = 0; r < rows.size(); ++r) {
    const int64_t n = static_cast<int64_t>(rows[r].size());
    in.input_ids[static_cast<int64_t>(r)].narrow(0, 0, n).copy_(at::tensor(rows[r], at::kLong));
    in.attention_mask[static_cast<int64_t>(r)].narrow(0, 0, n).fill_(1);
  }
  if (!images.empty()) {
    std::vector<at::Tensor> pv;
    std::vector<int64_t> grid;
    for (const auto& im : images) {
      pv.push_back(im.pixel_values);
      grid.insert(grid.end(), im.grid_thw.begin(), im.grid_thw.end());
    }
    in.pixel_values = at::cat(pv);
    in.image_grid_thw = at::tensor(grid, at::kLong).view({static_cast<int64_t>(images.size()), 3});
  }
  return in;
}

}  // namespace

data::ModelInputs read_forward_inputs(const fs::path& path, const models::QwenVLConfig& config,
                                      const data::ImageProcessorOptions& image) {
  EC_USER_CHECK(fs::is_regular_file(path), Input, "--inputs {}: no such file", path.string());
  const std::string ext = path.extension().string();
  EC_USER_CHECK(ext == ".safetensors" || ext == ".json", Input,
                "--inputs {}: expected a .safetensors or a .json file (see `editcaption forward --help`)", path.string());
  data::ModelInputs in = ext == ".json" ? read_json_inputs(path, config, image) : read_safetensors_inputs(path);
  validate(in, config, path);
  return in;
}

io::NamedTensors forward_dump(nn::QwenVLImpl& model, const data::ModelInputs& inputs) {
  at::NoGradGuard no_grad;
  model.eval();
  const at::Device dev = model.parameters().front().device();
  const models::QwenVLConfig& c = model.config();

  data::ModelInputs in;
  in.input_ids = inputs.input_ids.to(dev);
  in.attention_mask = inputs.attention_mask.to(dev, at::kBool);
  if (inputs.pixel_values.defined()) {
    in.pixel_values = inputs.pixel_values;
    in.image_grid_thw = inputs.image_grid_thw;
  }
  models::BatchPositions pos = models::batch_positions(in.input_ids, in.attention_mask, in.image_grid_thw, c);
  in.position_ids = pos.position_ids;

  nn::VisionOutput vision;
  nn::ForwardOptions fo;
  if (in.pixel_values.defined()) {
    vision = model.encode_images(in.pixel_values, in.image_grid_thw);
    fo.vision = &vision;
  }
  at::Tensor logits = model.forward(in, fo).logits;

  io::NamedTensors out{{"input_ids", inputs.input_ids.to(at::kLong)}, {"attention_mask", inputs.attention_mask.to(at::kLong)}};
  if (inputs.pixel_values.defined()) {
    out.emplace_back("pixel_values", inputs.pixel_values.to(at::kFloat));
    out.emplace_back("image_grid_thw", inputs.image_grid_thw.to(at::kLong));
  }
  out.emplace_back("position_ids", pos.position_ids.cpu());
  out.emplace_back("rope_deltas", (pos.next_position - in.attention_mask.sum(1)).cpu());
  out.emplace_back("logits", logits.to(at::kCPU, at::kFloat));
  if (in.pixel_values.defined()) {
    out.emplace_back("image_embeds", vision.embeds.to(at::kCPU, at::kFloat));
    for (size_t k = 0; k < vision.deepstack.size(); ++k) {
      out.emplace_back("deepstack_" + std::to_string(k), vision.deepstack[k].to(at::kCPU, at::kFloat));
    }
  }
  return out;
}

}  // namespace ec::train
