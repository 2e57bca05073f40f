#include "editcaption/data/sentencepiece_tokenizer.h"

#include <nlohmann/json.hpp>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <unordered_map>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/hash.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/data/unicode_text.h"

namespace ec::data {

SentencePieceTokenizer::SentencePieceTokenizer(std::string serialized_model, std::string origin)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()), origin_(std::move(origin)) {
  auto status = sp_->LoadFromSerializedProto(serialized_model);
  if (!status.ok()) {
    throw EC_USER_ERROR(Input, "{}: not a sentencepiece model: {}", origin_, status.ToString());
  }
  fingerprint_ = "sentencepiece:" + sha256_hex(serialized_model);
  special_.assign(static_cast<size_t>(sp_->GetPieceSize()), false);
  for (int i = 0; i < sp_->GetPieceSize(); ++i) special_[i] = sp_->IsControl(i);
  for (const auto& t : chat_special_tokens()) {
    if (auto id = token_to_id(t)) special_[*id] = true;
  }
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::from_file(const std::filesystem::path& path) {
  return std::make_unique<SentencePieceTokenizer>(read_file(path), path.string());
}

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text) const {
  unicode::require_utf8(text, "text to tokenize");
  std::vector<int> ids;
  auto status = sp_->Encode(absl::string_view(text.data(), text.size()), &ids);
  EC_CHECK(status.ok(), "sentencepiece encode failed: {}", status.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

std::string SentencePieceTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  std::vector<int> keep;
  keep.reserve(ids.size());
  for (int32_t id : ids) {
    if (id < 0 || id >= sp_->GetPieceSize()) continue;  // unknown ids are dropped, as for hf-bpe
    if (skip_special && special_[id]) continue;
    keep.push_back(id);
  }
  std::string text;
  auto status = sp_->Decode(keep, &text);
  EC_CHECK(status.ok(), "sentencepiece decode failed: {}", status.ToString());
  return text;
}

int64_t SentencePieceTokenizer::vocab_size() const { return sp_->GetPieceSize(); }

std::optional<int32_t> SentencePieceTokenizer::token_to_id(std::string_view token) const {
  int id = sp_->PieceToId(absl::string_view(token.data(), token.size()));
  // PieceToId answers the unknown id for pieces it does not have.
  if (sp_->IsUnknown(id) && sp_->IdToPiece(id) != token) return std::nullopt;
  return id;
}

std::string SentencePieceTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= sp_->GetPieceSize()) return {};
  return sp_->IdToPiece(id);
}

float SentencePieceTokenizer::piece_score(int32_t id) const {
  return id >= 0 && id < sp_->GetPieceSize() ? sp_->GetScore(id) : 0.0f;
}

bool SentencePieceTokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < special_.size() && special_[id];
}

// ---------------------------------------------------------------------------------------------
// Training

namespace {

class VectorSentenceIterator : public sentencepiece::SentenceIterator {
 public:
  explicit VectorSentenceIterator(const std::vector<std::string>& s) : s_(s) {}
  bool done() const override { return i_ >= s_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return s_[i_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& s_;
  size_t i_ = 0;
};

void read_text_file(const std::filesystem::path& path, std::vector<std::string>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EC_USER_ERROR(Input, "{}: cannot open the training text file", path.string());
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    unicode::require_utf8(line, fmt::format("{}:{}", path.string(), n));
    if (!trim(line).empty()) out.push_back(line);
  }
}

void read_manifest(const std::filesystem::path& path, std::vector<std::string>& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw EC_USER_ERROR(Input, "{}: cannot open the manifest", path.string());
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (trim(line).empty()) continue;
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw EC_USER_ERROR(Input, "{}:{}: not valid JSON: {}", path.string(), n, e.what());
    }
    if (!j.is_object()) throw EC_USER_ERROR(Input, "{}:{}: a manifest record must be a JSON object", path.string(), n);
    for (const char* key : {"instruction", "chosen", "rejected"}) {
      auto it = j.find(key);
      if (it == j.end() || it->is_null()) continue;
      if (!it->is_string()) throw EC_USER_ERROR(Input, "{}:{}: '{}' must be a string", path.string(), n, key);
      std::string s = it->get<std::string>();
      if (!trim(s).empty()) out.push_back(std::move(s));
    }
  }
}

}  // namespace

SentencePieceTrainResult train_sentencepiece(const SentencePieceTrainOptions& o, const std::filesystem::path& out_dir) {
  EC_USER_CHECK(!o.inputs.empty() || !o.manifests.empty(), Usage, "tokenizer train: give at least one --input or --manifest");
  EC_USER_CHECK(o.model_type == "unigram" || o.model_type == "bpe", Usage,
                "tokenizer train: model type must be unigram or bpe, got '{}'", o.model_type);
  int reserved = static_cast<int>(chat_special_tokens().size()) + 1 + 256;  // specials, unk, byte pieces
  EC_USER_CHECK(o.vocab_size > reserved, Usage,
                "tokenizer train: vocab size {} is too small: {} ids are reserved (unk, {} chat special tokens, 256 "
                "byte-fallback pieces)",
                o.vocab_size, reserved, chat_special_tokens().size());
  EC_USER_CHECK(o.threads >= 1, Usage, "tokenizer train: threads must be >= 1");

  std::vector<std::string> sentences;
  nlohmann::ordered_json sources = nlohmann::ordered_json::array();
  for (const auto& p : o.inputs) {
    size_t before = sentences.size();
    read_text_file(p, sentences);
    sources.push_back({{"input", p.string()}, {"sha256", sha256_file(p)}, {"sentences", sentences.size() - before}});
  }
  for (const auto& p : o.manifests) {
    size_t before = sentences.size();
    read_manifest(p, sentences);
    sources.push_back({{"manifest", p.string()}, {"sha256", sha256_file(p)}, {"sentences", sentences.size() - before}});
  }
  EC_USER_CHECK(!sentences.empty(), Input, "tokenizer train: the inputs hold no text");

  // The same options as tools/reference/text_reference.py (docs/tokenizers.md explains each).
  std::unordered_map<std::string, std::string> args{
      {"model_type", o.model_type},
      {"vocab_size", std::to_string(o.vocab_size)},
      {"character_coverage", fmt::format("{}", o.character_coverage)},
      {"user_defined_symbols", join(chat_special_tokens(), ",")},
      {"unk_id", "0"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_id", "-1"},
      {"byte_fallback", "true"},
      {"split_digits", "true"},
      {"normalization_rule_name", "nfkc"},
      {"remove_extra_whitespaces", "false"},
      {"add_dummy_prefix", "false"},
      {"hard_vocab_limit", "false"},
      {"num_threads", std::to_string(o.threads)},
      {"minloglevel", "2"},
  };
  sentencepiece::SetRandomGeneratorSeed(static_cast<unsigned int>(o.seed));
  log::info("tokenizer train: {} sentences, {} model, vocab size {}", sentences.size(), o.model_type, o.vocab_size);
  VectorSentenceIterator it(sentences);
  std::string model;
  auto status = sentencepiece::SentencePieceTrainer::Train(args, &it, &model);
  if (!status.ok()) throw EC_USER_ERROR(Input, "tokenizer train: sentencepiece failed: {}", status.ToString());

  std::filesystem::create_directories(out_dir);
  SentencePieceTrainResult result;
  result.model_path = out_dir / "tokenizer.model";
  write_file_atomic(result.model_path, model);
  SentencePieceTokenizer trained(model, result.model_path.string());
  result.vocab_size = trained.vocab_size();
  result.sentences = static_cast<int64_t>(sentences.size());
  nlohmann::ordered_json info{{"kind", "sentencepiece"},
                              {"model_type", o.model_type},
                              {"vocab_size_requested", o.vocab_size},
                              {"vocab_size", result.vocab_size},
                              {"character_coverage", o.character_coverage},
                              {"seed", o.seed},
                              {"threads", o.threads},
                              {"sentences", result.sentences},
                              {"sources", sources},
                              {"special_tokens", chat_special_tokens()},
                              {"fingerprint", trained.fingerprint()}};
  write_file_atomic(out_dir / "tokenizer_train.json", info.dump(2) + "\n");
  return result;
}

}  // namespace ec::data
