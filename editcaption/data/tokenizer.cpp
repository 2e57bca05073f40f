#include "editcaption/data/tokenizer.h"

#include <fstream>

#include "editcaption/core/check.h"
#include "editcaption/data/hf_bpe_tokenizer.h"
#include "editcaption/data/sentencepiece_tokenizer.h"

namespace ec::data {

const std::vector<std::string>& chat_special_tokens() {
  static const std::vector<std::string> tokens{
      "<|endoftext|>",  "<|im_start|>",     "<|im_end|>",     "<|object_ref_start|>", "<|object_ref_end|>",
      "<|box_start|>",  "<|box_end|>",      "<|quad_start|>", "<|quad_end|>",         "<|vision_start|>",
      "<|vision_end|>", "<|vision_pad|>",   "<|image_pad|>",  "<|video_pad|>",
  };
  return tokens;
}

SpecialTokenIds Tokenizer::special_tokens() const {
  auto need = [this](std::string_view token) {
    auto id = token_to_id(token);
    if (!id) {
      throw EC_USER_ERROR(Input,
                          "tokenizer {} ({}) has no token '{}': the chat layout needs the Qwen special tokens "
                          "(editcaption tokenizer train reserves them)",
                          origin(), kind(), token);
    }
    return *id;
  };
  SpecialTokenIds ids;
  ids.endoftext = need("<|endoftext|>");
  ids.im_start = need("<|im_start|>");
  ids.im_end = need("<|im_end|>");
  ids.vision_start = need("<|vision_start|>");
  ids.vision_end = need("<|vision_end|>");
  ids.image_pad = need("<|image_pad|>");
  ids.video_pad = need("<|video_pad|>");
  return ids;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::filesystem::path& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(path / "tokenizer.json")) return HfBpeTokenizer::from_file(path / "tokenizer.json");
    if (fs::exists(path / "tokenizer.model")) return SentencePieceTokenizer::from_file(path / "tokenizer.model");
    throw EC_USER_ERROR(Input, "{}: no tokenizer.json (Hugging Face) or tokenizer.model (sentencepiece) in this directory",
                        path.string());
  }
  if (!fs::exists(path, ec)) throw EC_USER_ERROR(Input, "{}: tokenizer file not found", path.string());
  if (path.extension() == ".json") return HfBpeTokenizer::from_file(path);
  if (path.extension() == ".model") return SentencePieceTokenizer::from_file(path);
  // Any other name: a JSON document starts with '{'; everything else is taken as a sentencepiece proto.
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c) && std::isspace(static_cast<unsigned char>(c))) {
  }
  if (c == '{') return HfBpeTokenizer::from_file(path);
  return SentencePieceTokenizer::from_file(path);
}

}  // namespace ec::data
