#include "models/qwen_vl/config.h"

#include <ATen/ATen.h>

#include <cmath>
#include <numeric>

#include "editcaption/core/check.h"
#include "models/nn/rotary.h"

namespace ec::models {
namespace {

struct Problem {
  std::string key;
  std::string message;
};

std::vector<Problem> architecture_problems(const QwenVLConfig& c) {
  std::vector<Problem> p;
  auto add = [&p](std::string key, std::string msg) { p.push_back({std::move(key), std::move(msg)}); };
  const QwenTextConfig& t = c.text;
  if (t.num_heads % t.num_kv_heads != 0) {
    add("text.num_kv_heads", fmt::format("must divide num_heads ({}), got {}", t.num_heads, t.num_kv_heads));
  }
  if (t.head_dim == 0 && t.hidden_size % t.num_heads != 0) {
    add("text.head_dim", fmt::format("is 0 but hidden_size {} is not a multiple of num_heads {}", t.hidden_size, t.num_heads));
  }
  const int64_t hd = t.resolved_head_dim();
  if (hd % 2 != 0) add("text.head_dim", fmt::format("must be even for RoPE, got {}", hd));
  if (t.mrope_section.size() != 3) {
    add("text.mrope_section", fmt::format("needs 3 entries (temporal, height, width), got {}", t.mrope_section.size()));
  } else {
    const int64_t sum = std::accumulate(t.mrope_section.begin(), t.mrope_section.end(), int64_t{0});
    if (sum != hd / 2) {
      add("text.mrope_section", fmt::format("must sum to head_dim / 2 = {}, got {}", hd / 2, sum));
    } else if (t.mrope_interleaved) {
      auto axes = nn::mrope_slot_axes(t.mrope_section, true);
      for (int64_t a = 0; a < 3; ++a) {
        if (std::count(axes.begin(), axes.end(), a) != t.mrope_section[a]) {
          add("text.mrope_section", "cannot be interleaved over head_dim / 2 slots (axis counts differ)");
          break;
        }
      }
    }
  }
  const QwenVisionConfig& v = c.vision;
  if (v.hidden_size % v.num_heads != 0) {
    add("vision.num_heads", fmt::format("must divide hidden_size {}, got {}", v.hidden_size, v.num_heads));
  } else if (v.head_dim() % 4 != 0) {
    add("vision.num_heads", fmt::format("vision head width {} must be a multiple of 4 (2-D RoPE)", v.head_dim()));
  }
  if (c.family == ModelFamily::Qwen25VL) {
    const int64_t unit = v.spatial_merge_size * v.patch_size;
    if (v.window_size % unit != 0) {
      add("vision.window_size", fmt::format("must be a multiple of spatial_merge_size * patch_size = {}", unit));
    }
    for (int64_t i : v.fullatt_block_indexes) {
      if (i < 0 || i >= v.depth) add("vision.fullatt_block_indexes", fmt::format("{} is not a block (depth {})", i, v.depth));
    }
  }
  if (c.family == ModelFamily::Qwen3VL) {
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(v.num_position_embeddings))));
    if (side * side != v.num_position_embeddings) {
      add("vision.num_position_embeddings", fmt::format("must be a square number, got {}", v.num_position_embeddings));
    }
    for (int64_t i : v.deepstack_visual_indexes) {
      if (i < 0 || i >= v.depth) add("vision.deepstack_visual_indexes", fmt::format("{} is not a block (depth {})", i, v.depth));
    }
    if (static_cast<int64_t>(v.deepstack_visual_indexes.size()) > t.num_layers) {
      add("vision.deepstack_visual_indexes", fmt::format("has more entries than the LLM has layers ({})", t.num_layers));
    }
  }
  if (v.out_hidden_size != t.hidden_size) {
    add("vision.out_hidden_size", fmt::format("must equal text.hidden_size {}, got {}", t.hidden_size, v.out_hidden_size));
  }
  for (auto [key, id] : {std::pair<const char*, int64_t>{"image_token_id", c.image_token_id},
                         {"video_token_id", c.video_token_id},
                         {"vision_start_token_id", c.vision_start_token_id},
                         {"vision_end_token_id", c.vision_end_token_id}}) {
    if (id >= t.vocab_size) add(key, fmt::format("{} is outside the vocabulary ({} ids)", id, t.vocab_size));
  }
  return p;
}

}  // namespace

at::ScalarType to_scalar_type(ParamDtype d) {
  switch (d) {
    case ParamDtype::Float32:
      return at::kFloat;
    case ParamDtype::BFloat16:
      return at::kBFloat16;
    case ParamDtype::Float16:
      return at::kHalf;
  }
  return at::kFloat;
}

void QwenVLConfig::validate(config::Validation& v) const {
  if (lora.rank > 0 && lora.targets.empty()) v.error("lora", "rank {} needs at least one target", lora.rank);
  if (!pretrained.empty()) return;  // the architecture comes from the checkpoint
  for (const auto& p : architecture_problems(*this)) v.error(p.key, "{}", p.message);
}

void check_architecture(const QwenVLConfig& c, const std::string& source) {
  auto problems = architecture_problems(c);
  if (problems.empty()) return;
  std::string text;
  for (const auto& p : problems) text += fmt::format("\n  {}: {}", p.key, p.message);
  throw EC_USER_ERROR(Usage, "{}: unusable model architecture:{}", source, text);
}

void check_tokens(const QwenVLConfig& c, const SpecialTokenIds& tokens, int64_t tokenizer_vocab_size) {
  EC_USER_CHECK(tokenizer_vocab_size <= c.text.vocab_size, Usage,
                "the tokenizer has {} ids but the model's vocabulary has only {} rows", tokenizer_vocab_size,
                c.text.vocab_size);
  auto same = [](const char* name, int64_t model, int64_t tok) {
    EC_USER_CHECK(model == tok, Usage, "model.{} is {} but the tokenizer gives that token id {}", name, model, tok);
  };
  same("image_token_id", c.image_token_id, tokens.image_pad);
  same("video_token_id", c.video_token_id, tokens.video_pad);
  same("vision_start_token_id", c.vision_start_token_id, tokens.vision_start);
  same("vision_end_token_id", c.vision_end_token_id, tokens.vision_end);
}

}  // namespace ec::models
