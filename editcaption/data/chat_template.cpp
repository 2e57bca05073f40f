#include "editcaption/data/chat_template.h"

#include "editcaption/core/check.h"
#include "editcaption/data/unicode_text.h"

namespace ec::data {

ChatLayout chat_layout(ModelFamily family) {
  return family == ModelFamily::Qwen3VL ? ChatLayout::Qwen3VL : ChatLayout::Qwen2VL;
}

std::optional<std::string> find_chat_special_token(std::string_view text) {
  for (const auto& t : chat_special_tokens()) {
    if (text.find(t) != std::string_view::npos) return t;
  }
  return std::nullopt;
}

void PromptConfig::validate(config::Validation& v) const {
  if (auto t = find_chat_special_token(text)) v.error("text", "must not contain the special token '{}'", *t);
  if (system) {
    if (auto t = find_chat_special_token(*system)) v.error("system", "must not contain the special token '{}'", *t);
  }
}

ChatOptions make_chat_options(const PromptConfig& prompt, ModelFamily family) {
  ChatOptions o;
  o.layout = chat_layout(family);
  o.prompt = prompt.text;
  o.system_prompt = prompt.system;
  o.add_vision_id = prompt.add_vision_id;
  return o;
}

std::string render_chat_prompt(const ChatOptions& o, size_t num_images) {
  std::string s;
  if (o.system_prompt) {
    s += "<|im_start|>system\n" + *o.system_prompt + "<|im_end|>\n";
  } else if (o.layout == ChatLayout::Qwen2VL) {
    s += "<|im_start|>system\n" + std::string(kQwen2DefaultSystemPrompt) + "<|im_end|>\n";
  }
  s += "<|im_start|>user\n";
  for (size_t k = 0; k < num_images; ++k) {
    if (o.add_vision_id) s += fmt::format("Picture {}: ", k + 1);
    s += "<|vision_start|><|image_pad|><|vision_end|>";
  }
  s += o.prompt;
  s += "<|im_end|>\n<|im_start|>assistant\n";
  return s;
}

std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, const ChatOptions& o,
                                        std::span<const int64_t> image_tokens) {
  for (const std::string* text : {&o.prompt, o.system_prompt ? &*o.system_prompt : nullptr}) {
    if (!text) continue;
    if (auto t = find_chat_special_token(*text)) {
      throw EC_USER_ERROR(Usage, "the {} prompt contains the special token '{}'", text == &o.prompt ? "user" : "system", *t);
    }
  }
  SpecialTokenIds sp = tokenizer.special_tokens();
  std::vector<int32_t> rendered = tokenizer.encode(render_chat_prompt(o, image_tokens.size()));
  // Each image's single <|image_pad|> becomes its visual tokens, as the HF processors expand them.
  size_t total = rendered.size();
  for (int64_t n : image_tokens) total += static_cast<size_t>(n);
  std::vector<int32_t> ids;
  ids.reserve(total);
  size_t image = 0;
  for (int32_t id : rendered) {
    if (id != sp.image_pad) {
      ids.push_back(id);
      continue;
    }
    EC_CHECK(image < image_tokens.size(), "more image pads than images in the rendered prompt");
    EC_CHECK(image_tokens[image] > 0, "image {} has {} visual tokens", image, image_tokens[image]);
    ids.insert(ids.end(), static_cast<size_t>(image_tokens[image]), sp.image_pad);
    ++image;
  }
  EC_CHECK(image == image_tokens.size(), "the rendered prompt holds {} image pads for {} images", image,
           image_tokens.size());
  return ids;
}

std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, const ChatOptions& o,
                                        std::span<const ProcessedImage> images) {
  std::vector<int64_t> counts;
  counts.reserve(images.size());
  for (const auto& im : images) {
    const GridThw& g = im.grid_thw;
    int64_t m2 = o.spatial_merge * o.spatial_merge;
    EC_CHECK(g[0] > 0 && g[1] > 0 && g[2] > 0 && (g[0] * g[1] * g[2]) % m2 == 0,
             "image grid ({}, {}, {}) is not a whole number of {}x{} merge windows", g[0], g[1], g[2], o.spatial_merge,
             o.spatial_merge);
    counts.push_back(im.num_tokens(o.spatial_merge));
  }
  return encode_chat_prompt(tokenizer, o, counts);
}

std::vector<int32_t> encode_chat_answer(const Tokenizer& tokenizer, std::string_view answer, std::string_view what) {
  unicode::require_utf8(answer, fmt::format("{}: the answer", what));
  if (answer.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    throw EC_USER_ERROR(Input, "{}: the answer is empty", what);
  }
  if (auto t = find_chat_special_token(answer)) {
    throw EC_USER_ERROR(Input, "{}: the answer contains the special token '{}'", what, *t);
  }
  std::vector<int32_t> ids = tokenizer.encode(answer);
  ids.push_back(tokenizer.special_tokens().im_end);
  return ids;
}

}  // namespace ec::data
