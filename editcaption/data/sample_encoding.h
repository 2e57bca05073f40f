// Manifest record -> tokenized training example. The SFT sample is the full chat sequence with
// shifted labels on the answer and its end-of-turn token only; the DPO pair shares one prompt and
// carries the two answers separately (see sample.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "editcaption/data/chat_template.h"
#include "editcaption/data/sample.h"
#include "editcaption/data/tokenizer.h"

namespace ec::data {

/// input_ids = prompt (system/user turn with the images, "<|im_start|>assistant\n") + answer +
/// <|im_end|> + "\n" (the template's newline). labels[i] = input_ids[i + 1] where that next token
/// is an answer token or <|im_end|>, kIgnoreIndex elsewhere (prompt, image pads, the final newline,
/// the last position). Throws UserError naming `id` for an empty answer, invalid UTF-8 or an answer
/// containing a chat special token.
Sample make_sft_sample(const Tokenizer& tokenizer, const ChatOptions& chat, std::string id,
                       std::vector<ProcessedImage> images, std::string_view answer);

/// prompt_ids ends with "<|im_start|>assistant\n"; chosen_ids / rejected_ids are each answer +
/// <|im_end|>. prompt_ids + chosen_ids equals make_sft_sample(chosen).input_ids without its final
/// newline. Optional metadata (error type, severity, margin, weight) is left for the caller.
PairSample make_pair_sample(const Tokenizer& tokenizer, const ChatOptions& chat, std::string id,
                            std::vector<ProcessedImage> images, std::string_view chosen, std::string_view rejected);

}  // namespace ec::data
