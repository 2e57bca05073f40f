// The Qwen-VL chat layout for one editcaption example: a user turn holding the source image, the
// target image and the instruction-writing prompt, then the assistant's answer. Two layouts:
//   Qwen2-VL / Qwen2.5-VL: a system turn is always written ("You are a helpful assistant." unless
//     another system prompt is given);
//   Qwen3-VL (Instruct): a system turn only when a system prompt is given.
// Token for token what the Hugging Face processors (Qwen2VLProcessor / Qwen3VLProcessor) produce
// with the published chat templates; each image's <|image_pad|> is expanded to its number of merged
// visual tokens (ProcessedImage::num_tokens).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "editcaption/config/visitor.h"
#include "editcaption/data/batch.h"
#include "editcaption/data/tokenizer.h"
#include "editcaption/data/types.h"

namespace ec::data {

enum class ChatLayout { Qwen2VL, Qwen3VL };
EC_CONFIG_ENUM(ChatLayout, {{"qwen2_vl", ChatLayout::Qwen2VL}, {"qwen3_vl", ChatLayout::Qwen3VL}})

/// Qwen2.5-VL uses the Qwen2-VL layout.
ChatLayout chat_layout(ModelFamily family);

/// The system prompt the Qwen2-VL/Qwen2.5-VL template writes when none is given.
inline constexpr std::string_view kQwen2DefaultSystemPrompt = "You are a helpful assistant.";
/// editcaption's default instruction-writing prompt (the user text after the two images).
inline constexpr std::string_view kDefaultInstructionPrompt =
    "The first image is the source image and the second image is the edited image. Write the editing "
    "instruction that turns the source image into the edited image. Name every change precisely: the "
    "object, its attributes (colour and shade, material, size, text), its position and direction "
    "(left and right as seen by the viewer), and whether the object or the camera moves.";

/// The `prompt:` config section.
struct PromptConfig {
  using is_config_section = void;
  std::string text = std::string(kDefaultInstructionPrompt);
  /// null: the layout's default (Qwen2/2.5: the default system prompt; Qwen3: no system turn).
  std::optional<std::string> system;
  bool add_vision_id = false;

  template <class V>
  void visit(V& v) {
    v("text", text, "Instruction-writing prompt: the user text after the source and target images.",
      config::non_empty());
    v("system", system,
      "System prompt. null: the model family's default (Qwen2-VL/Qwen2.5-VL write \"You are a helpful "
      "assistant.\", Qwen3-VL writes no system turn); a string (even empty) writes that system turn.");
    v("add_vision_id", add_vision_id, "Write \"Picture 1: \" / \"Picture 2: \" before each image (HF add_vision_id).");
  }
  void validate(config::Validation& v) const;
};

/// Everything the chat layout needs; built from PromptConfig and the model family.
struct ChatOptions {
  ChatLayout layout = ChatLayout::Qwen2VL;
  std::string prompt = std::string(kDefaultInstructionPrompt);
  std::optional<std::string> system_prompt;
  bool add_vision_id = false;
  /// Spatial merge of the vision tower (2 for every Qwen-VL): pads per image = t*h*w / merge^2.
  int64_t spatial_merge = 2;
};

ChatOptions make_chat_options(const PromptConfig& prompt, ModelFamily family);

/// The prompt as the chat template renders it with add_generation_prompt (one <|image_pad|> per
/// image): system turn (per layout), user turn with the images and the prompt text, and
/// "<|im_start|>assistant\n".
std::string render_chat_prompt(const ChatOptions& options, size_t num_images);

/// Token ids of the prompt for images occupying `image_tokens[k]` merged visual tokens each.
/// Throws UserError(Usage) if the prompt or system text contains a chat special token.
std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, const ChatOptions& options,
                                        std::span<const int64_t> image_tokens);
std::vector<int32_t> encode_chat_prompt(const Tokenizer& tokenizer, const ChatOptions& options,
                                        std::span<const ProcessedImage> images);

/// Token ids of an assistant answer followed by the end-of-turn token <|im_end|> (the template's
/// newline after it is not included). Throws UserError(Input) for an empty answer, invalid UTF-8 or
/// an answer containing a chat special token; `what` names the sample in the message.
std::vector<int32_t> encode_chat_answer(const Tokenizer& tokenizer, std::string_view answer, std::string_view what);

/// The first chat special token written in `text`, if any.
std::optional<std::string> find_chat_special_token(std::string_view text);

}  // namespace ec::data
