#include "editcaption/data/sample_encoding.h"

#include "editcaption/core/check.h"

namespace ec::data {

Sample make_sft_sample(const Tokenizer& tokenizer, const ChatOptions& chat, std::string id,
                       std::vector<ProcessedImage> images, std::string_view answer) {
  std::vector<int32_t> prompt = encode_chat_prompt(tokenizer, chat, images);
  std::vector<int32_t> reply = encode_chat_answer(tokenizer, answer, fmt::format("sample '{}'", id));
  std::vector<int32_t> newline = tokenizer.encode("\n");

  Sample s;
  s.id = std::move(id);
  s.images = std::move(images);
  s.input_ids.reserve(prompt.size() + reply.size() + newline.size());
  s.input_ids.insert(s.input_ids.end(), prompt.begin(), prompt.end());
  s.input_ids.insert(s.input_ids.end(), reply.begin(), reply.end());
  s.input_ids.insert(s.input_ids.end(), newline.begin(), newline.end());
  s.labels.assign(s.input_ids.size(), kIgnoreIndex);
  // Position i predicts token i + 1: the last prompt token predicts the first answer token, the
  // last answer token predicts <|im_end|>.
  size_t first = prompt.size(), last = prompt.size() + reply.size();  // reply occupies [first, last)
  for (size_t i = first - 1; i + 1 < last; ++i) s.labels[i] = s.input_ids[i + 1];
  return s;
}

PairSample make_pair_sample(const Tokenizer& tokenizer, const ChatOptions& chat, std::string id,
                            std::vector<ProcessedImage> images, std::string_view chosen, std::string_view rejected) {
  PairSample p;
  p.prompt_ids = encode_chat_prompt(tokenizer, chat, images);
  p.chosen_ids = encode_chat_answer(tokenizer, chosen, fmt::format("sample '{}' (chosen)", id));
  p.rejected_ids = encode_chat_answer(tokenizer, rejected, fmt::format("sample '{}' (rejected)", id));
  p.id = std::move(id);
  p.images = std::move(images);
  return p;
}

}  // namespace ec::data
