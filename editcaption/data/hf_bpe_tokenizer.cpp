#include "editcaption/data/hf_bpe_tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_map>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/hash.h"
#include "editcaption/data/bpe_model.h"
#include "editcaption/data/byte_level.h"
#include "editcaption/data/text_regex.h"
#include "editcaption/data/unicode_text.h"

namespace ec::data {
namespace {

using json = nlohmann::json;

// The regex of the ByteLevel pre-tokenizer when use_regex is true (GPT-2).
constexpr std::string_view kGpt2Regex = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  bool special = false;
};

/// Leftmost-longest matching of a set of strings (the aho-corasick automaton of `tokenizers`):
/// at each position the candidates sharing the first byte are tried longest first.
class TokenMatcher {
 public:
  void add(std::string pattern, size_t token_index) {
    if (pattern.empty()) return;
    auto& list = by_first_byte_[static_cast<unsigned char>(pattern[0])];
    list.push_back({std::move(pattern), token_index});
    std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
    empty_ = false;
  }
  bool empty() const { return empty_; }
  /// First match at or after `from`: (start, length, token index), or start == npos.
  std::tuple<size_t, size_t, size_t> find(std::string_view s, size_t from) const {
    for (size_t i = from; i < s.size(); ++i) {
      const auto& list = by_first_byte_[static_cast<unsigned char>(s[i])];
      for (const auto& [p, index] : list) {
        if (s.compare(i, p.size(), p) == 0) return {i, p.size(), index};
      }
    }
    return {std::string_view::npos, 0, 0};
  }

 private:
  std::array<std::vector<std::pair<std::string, size_t>>, 256> by_first_byte_;
  bool empty_ = true;
};

/// A piece of text: either an added token (id >= 0) or text still to tokenize.
struct Piece {
  size_t start;
  size_t end;
  int32_t id;
};

struct PreTokenizerStep {
  enum class Kind { Split, ByteLevel } kind;
  std::unique_ptr<TextRegex> regex;  // Split, or ByteLevel with use_regex
  bool add_prefix_space = false;
};

bool get_bool(const json& obj, const char* key, bool fallback, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return fallback;
  if (!it->is_boolean()) throw EC_USER_ERROR(Input, "{}: '{}' must be true or false", where, key);
  return it->get<bool>();
}

std::string get_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) throw EC_USER_ERROR(Input, "{}: '{}' must be a string", where, key);
  return it->get<std::string>();
}

}  // namespace

struct HfBpeTokenizer::Impl {
  std::string origin;
  std::string fingerprint;
  std::unordered_map<std::string, int32_t> vocab;  // model vocabulary
  std::vector<std::string> id_to_token;            // model and added tokens; empty for holes
  std::vector<int8_t> id_kind;                     // 0 none, 1 model, 2 added, 3 added special
  std::vector<AddedToken> added;
  std::unordered_map<std::string, int32_t> added_ids;
  TokenMatcher raw_matcher;         // added tokens with normalized=false, matched on the raw text
  TokenMatcher normalized_matcher;  // normalized=true, matched on the normalized text
  bool nfc = false;
  std::vector<PreTokenizerStep> pre_tokenizer;
  bool byte_level_decoder = false;
  std::unique_ptr<BpeModel> model;

  void parse(const json& j);
  void parse_normalizer(const json& n, const std::string& where);
  void parse_pre_tokenizer(const json& p, const std::string& where);
  void parse_decoder(const json& d, const std::string& where);
  void parse_model(const json& m);
  void parse_added_tokens(const json& a);
  void set_token(int32_t id, const std::string& token, int8_t kind);

  std::string normalize(std::string_view s) const { return nfc ? unicode::nfc(s) : std::string(s); }
  std::vector<Piece> find_added(std::string_view s, const TokenMatcher& matcher) const;
  void pre_tokenize(std::string_view text, std::vector<std::string>& words) const;
  /// Runs the whole pipeline; `on_word` receives raw words, `on_added` added-token ids.
  template <class OnWord, class OnAdded>
  void run(std::string_view text, OnWord&& on_word, OnAdded&& on_added) const;
};

HfBpeTokenizer::HfBpeTokenizer(std::string_view json_text, std::string origin) : impl_(std::make_unique<Impl>()) {
  impl_->origin = std::move(origin);
  impl_->fingerprint = "hf-bpe:" + sha256_hex(json_text);
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw EC_USER_ERROR(Input, "{}: not valid JSON: {}", impl_->origin, e.what());
  }
  if (!j.is_object()) throw EC_USER_ERROR(Input, "{}: expected a JSON object (tokenizer.json)", impl_->origin);
  try {
    impl_->parse(j);
  } catch (const json::exception& e) {
    throw EC_USER_ERROR(Input, "{}: unexpected tokenizer.json structure: {}", impl_->origin, e.what());
  }
}

HfBpeTokenizer::~HfBpeTokenizer() = default;

std::unique_ptr<HfBpeTokenizer> HfBpeTokenizer::from_file(const std::filesystem::path& path) {
  return std::make_unique<HfBpeTokenizer>(read_file(path), path.string());
}

void HfBpeTokenizer::Impl::parse(const json& j) {
  if (!j.contains("model") || !j["model"].is_object()) throw EC_USER_ERROR(Input, "{}: missing the 'model' object", origin);
  parse_model(j["model"]);
  if (auto it = j.find("normalizer"); it != j.end() && !it->is_null()) parse_normalizer(*it, origin + ": normalizer");
  if (auto it = j.find("pre_tokenizer"); it != j.end() && !it->is_null()) {
    parse_pre_tokenizer(*it, origin + ": pre_tokenizer");
  }
  bool byte_level = !pre_tokenizer.empty() && pre_tokenizer.back().kind == PreTokenizerStep::Kind::ByteLevel;
  for (size_t i = 0; i + 1 < pre_tokenizer.size(); ++i) {
    if (pre_tokenizer[i].kind == PreTokenizerStep::Kind::ByteLevel) byte_level = false;
  }
  if (!byte_level) {
    throw EC_USER_ERROR(Input,
                        "{}: only byte-level BPE is supported: the pre_tokenizer must end with one ByteLevel step "
                        "(the Qwen2/Qwen3 and GPT-2 layouts)",
                        origin);
  }
  if (auto it = j.find("decoder"); it != j.end() && !it->is_null()) parse_decoder(*it, origin + ": decoder");
  if (auto it = j.find("added_tokens"); it != j.end() && !it->is_null()) parse_added_tokens(*it);
}

void HfBpeTokenizer::Impl::parse_normalizer(const json& n, const std::string& where) {
  std::string type = get_string(n, "type", where);
  if (type == "NFC") {
    nfc = true;
  } else if (type == "Sequence") {
    for (const auto& sub : n.at("normalizers")) parse_normalizer(sub, where);
  } else {
    throw EC_USER_ERROR(Input, "{}: normalizer type '{}' is not supported (supported: NFC, Sequence)", where, type);
  }
}

void HfBpeTokenizer::Impl::parse_pre_tokenizer(const json& p, const std::string& where) {
  std::string type = get_string(p, "type", where);
  if (type == "Sequence") {
    for (const auto& sub : p.at("pretokenizers")) parse_pre_tokenizer(sub, where);
  } else if (type == "Split") {
    std::string behavior = p.value("behavior", std::string("Isolated"));
    if (behavior != "Isolated" || get_bool(p, "invert", false, where)) {
      throw EC_USER_ERROR(Input, "{}: Split with behavior '{}'{} is not supported (only Isolated, invert false)", where,
                          behavior, get_bool(p, "invert", false, where) ? " and invert" : "");
    }
    const json& pattern = p.at("pattern");
    PreTokenizerStep step{PreTokenizerStep::Kind::Split, nullptr, false};
    if (pattern.contains("Regex")) {
      step.regex = std::make_unique<TextRegex>(onig_whitespace_to_pcre2(get_string(pattern, "Regex", where)), where);
    } else if (pattern.contains("String")) {
      step.regex = std::make_unique<TextRegex>(get_string(pattern, "String", where), where, /*literal=*/true);
    } else {
      throw EC_USER_ERROR(Input, "{}: Split pattern must be {{\"Regex\": ...}} or {{\"String\": ...}}", where);
    }
    pre_tokenizer.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    PreTokenizerStep step{PreTokenizerStep::Kind::ByteLevel, nullptr, get_bool(p, "add_prefix_space", true, where)};
    if (get_bool(p, "use_regex", true, where)) {
      step.regex = std::make_unique<TextRegex>(onig_whitespace_to_pcre2(kGpt2Regex), where);
    }
    pre_tokenizer.push_back(std::move(step));
  } else {
    throw EC_USER_ERROR(Input, "{}: pre-tokenizer type '{}' is not supported (supported: Split, ByteLevel, Sequence)",
                        where, type);
  }
}

void HfBpeTokenizer::Impl::parse_decoder(const json& d, const std::string& where) {
  std::string type = get_string(d, "type", where);
  if (type == "ByteLevel") {
    byte_level_decoder = true;
  } else if (type == "Sequence" && d.at("decoders").size() == 1) {
    parse_decoder(d.at("decoders")[0], where);
  } else {
    throw EC_USER_ERROR(Input, "{}: decoder type '{}' is not supported (supported: ByteLevel)", where, type);
  }
}

void HfBpeTokenizer::Impl::set_token(int32_t id, const std::string& token, int8_t kind) {
  if (id < 0) throw EC_USER_ERROR(Input, "{}: negative token id {} for '{}'", origin, id, token);
  if (static_cast<size_t>(id) >= id_to_token.size()) {
    id_to_token.resize(static_cast<size_t>(id) + 1);
    id_kind.resize(static_cast<size_t>(id) + 1, 0);
  }
  id_to_token[id] = token;
  id_kind[id] = kind;
}

void HfBpeTokenizer::Impl::parse_model(const json& m) {
  std::string where = origin + ": model";
  std::string type = m.value("type", std::string("BPE"));
  if (type != "BPE") throw EC_USER_ERROR(Input, "{}: type '{}' is not supported (only BPE)", where, type);
  if (auto d = m.find("dropout"); d != m.end() && !d->is_null() && d->get<double>() != 0.0) {
    throw EC_USER_ERROR(Input, "{}: BPE dropout is not supported for encoding (set it to null)", where);
  }
  if (get_bool(m, "byte_fallback", false, where)) {
    throw EC_USER_ERROR(Input, "{}: byte_fallback is not supported (byte-level BPE never needs it)", where);
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (auto it = m.find(key); it != m.end() && !it->is_null() && !it->get<std::string>().empty()) {
      throw EC_USER_ERROR(Input, "{}: '{}' is not supported for byte-level BPE", where, key);
    }
  }
  const json& v = m.at("vocab");
  if (!v.is_object()) throw EC_USER_ERROR(Input, "{}: 'vocab' must be an object of token -> id", where);
  vocab.reserve(v.size());
  for (const auto& [token, id] : v.items()) {
    int32_t i = id.get<int32_t>();
    vocab.emplace(token, i);
    set_token(i, token, 1);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const json& ms = m.at("merges");
  merges.reserve(ms.size());
  for (size_t r = 0; r < ms.size(); ++r) {
    const json& x = ms[r];
    if (x.is_string()) {
      // Legacy form "left right": tokens never contain a space in byte-level BPE (space is U+0120).
      const std::string& s = x.get_ref<const std::string&>();
      size_t sp = s.find(' ');
      if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos) {
        throw EC_USER_ERROR(Input, "{}: merge {} '{}' must be two tokens separated by one space", where, r, s);
      }
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (x.is_array() && x.size() == 2 && x[0].is_string() && x[1].is_string()) {
      merges.emplace_back(x[0].get<std::string>(), x[1].get<std::string>());
    } else {
      throw EC_USER_ERROR(Input, "{}: merge {} must be \"a b\" or [\"a\", \"b\"], got {}", where, r, x.dump());
    }
  }
  BpeModelOptions options;
  if (auto u = m.find("unk_token"); u != m.end() && !u->is_null()) {
    auto it = vocab.find(u->get<std::string>());
    if (it == vocab.end()) throw EC_USER_ERROR(Input, "{}: unk_token '{}' is not in the vocabulary", where, u->get<std::string>());
    options.unk_id = it->second;
  }
  options.fuse_unk = get_bool(m, "fuse_unk", false, where);
  options.ignore_merges = get_bool(m, "ignore_merges", false, where);
  model = std::make_unique<BpeModel>(vocab, merges, options, where);
}

void HfBpeTokenizer::Impl::parse_added_tokens(const json& a) {
  for (size_t i = 0; i < a.size(); ++i) {
    const json& t = a[i];
    std::string where = fmt::format("{}: added_tokens[{}]", origin, i);
    AddedToken tok;
    tok.id = t.at("id").get<int32_t>();
    tok.content = get_string(t, "content", where);
    unicode::require_utf8(tok.content, where + " content");
    tok.single_word = get_bool(t, "single_word", false, where);
    tok.lstrip = get_bool(t, "lstrip", false, where);
    tok.rstrip = get_bool(t, "rstrip", false, where);
    tok.special = get_bool(t, "special", false, where);
    tok.normalized = get_bool(t, "normalized", !tok.special, where);
    if (tok.content.empty()) continue;
    set_token(tok.id, tok.content, tok.special ? 3 : 2);
    added_ids[tok.content] = tok.id;
    added.push_back(tok);
  }
  for (size_t i = 0; i < added.size(); ++i) {
    if (added[i].normalized) {
      // `tokenizers` matches, and decodes, a normalized added token by its normalized content.
      std::string content = normalize(added[i].content);
      id_to_token[added[i].id] = content;
      normalized_matcher.add(std::move(content), i);
    } else {
      raw_matcher.add(added[i].content, i);
    }
  }
}

std::vector<Piece> HfBpeTokenizer::Impl::find_added(std::string_view s, const TokenMatcher& matcher) const {
  std::vector<Piece> out;
  if (matcher.empty()) {
    out.push_back({0, s.size(), -1});
    return out;
  }
  size_t start_offset = 0, from = 0;
  while (true) {
    auto [start, len, index] = matcher.find(s, from);
    if (start == std::string_view::npos) break;
    size_t stop = start + len;
    from = stop;
    const AddedToken& tok = added[index];
    if (tok.single_word) {
      char32_t cp = 0;
      bool start_space = start == 0 || (unicode::decode_utf8(s, unicode::previous_code_point(s, start), cp),
                                        !unicode::is_word_char(cp));
      bool stop_space = stop == s.size() || (unicode::decode_utf8(s, stop, cp), !unicode::is_word_char(cp));
      if (!start_space || !stop_space) continue;
    }
    if (tok.lstrip) {
      size_t new_start = start;
      while (new_start > 0) {
        char32_t cp = 0;
        size_t prev = unicode::previous_code_point(s, new_start);
        unicode::decode_utf8(s, prev, cp);
        if (!unicode::is_white_space(cp)) break;
        new_start = prev;
      }
      start = std::max(new_start, start_offset);
    }
    if (tok.rstrip) {
      while (stop < s.size()) {
        char32_t cp = 0;
        size_t n = unicode::decode_utf8(s, stop, cp);
        if (!unicode::is_white_space(cp)) break;
        stop += n;
      }
      from = stop;
    }
    if (start_offset < start) out.push_back({start_offset, start, -1});
    out.push_back({start, stop, tok.id});
    start_offset = stop;
  }
  if (start_offset != s.size() || out.empty()) out.push_back({start_offset, s.size(), -1});
  return out;
}

void HfBpeTokenizer::Impl::pre_tokenize(std::string_view text, std::vector<std::string>& words) const {
  std::vector<std::string> pieces{std::string(text)};
  std::vector<std::string> next;
  for (const auto& step : pre_tokenizer) {
    next.clear();
    for (auto& piece : pieces) {
      if (step.kind == PreTokenizerStep::Kind::ByteLevel && step.add_prefix_space && !piece.empty() && piece[0] != ' ') {
        piece.insert(piece.begin(), ' ');
      }
      if (!step.regex) {
        if (!piece.empty()) next.push_back(std::move(piece));
        continue;
      }
      // Isolated: the matches and the gaps between them all become pieces.
      size_t prev = 0;
      for (auto [start, end] : step.regex->find_all(piece)) {
        if (start > prev) next.emplace_back(piece.substr(prev, start - prev));
        next.emplace_back(piece.substr(start, end - start));
        prev = end;
      }
      if (prev < piece.size()) next.emplace_back(piece.substr(prev));
    }
    pieces.swap(next);
  }
  for (auto& p : pieces) words.push_back(std::move(p));
}

template <class OnWord, class OnAdded>
void HfBpeTokenizer::Impl::run(std::string_view text, OnWord&& on_word, OnAdded&& on_added) const {
  std::vector<std::string> words;
  for (const Piece& raw : find_added(text, raw_matcher)) {
    if (raw.id >= 0) {
      on_added(raw.id, text.substr(raw.start, raw.end - raw.start));
      continue;
    }
    if (raw.end == raw.start) continue;
    std::string normalized = normalize(text.substr(raw.start, raw.end - raw.start));
    for (const Piece& p : find_added(normalized, normalized_matcher)) {
      if (p.id >= 0) {
        on_added(p.id, std::string_view(normalized).substr(p.start, p.end - p.start));
        continue;
      }
      if (p.end == p.start) continue;
      words.clear();
      pre_tokenize(std::string_view(normalized).substr(p.start, p.end - p.start), words);
      for (const auto& w : words) on_word(w);
    }
  }
}

std::vector<int32_t> HfBpeTokenizer::encode(std::string_view text) const {
  unicode::require_utf8(text, "text to tokenize");
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  impl_->run(
      text, [&](const std::string& word) { impl_->model->tokenize(word, ids); },
      [&](int32_t id, std::string_view) { ids.push_back(id); });
  return ids;
}

std::vector<std::string> HfBpeTokenizer::pre_tokenize(std::string_view text) const {
  unicode::require_utf8(text, "text to tokenize");
  std::vector<std::string> out;
  impl_->run(
      text, [&](const std::string& word) { out.push_back(word); },
      [&](int32_t, std::string_view content) { out.emplace_back(content); });
  return out;
}

std::string HfBpeTokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const Impl& m = *impl_;
  std::string bytes;
  bool first = true;
  for (int32_t id : ids) {
    // Unknown ids are dropped, as `tokenizers` does.
    if (id < 0 || static_cast<size_t>(id) >= m.id_to_token.size() || m.id_kind[id] == 0) continue;
    if (skip_special && m.id_kind[id] == 3) continue;
    const std::string& token = m.id_to_token[id];
    if (!m.byte_level_decoder) {
      // No decoder: tokens joined with spaces (the `tokenizers` default).
      if (!first) bytes += ' ';
      bytes += token;
      first = false;
      continue;
    }
    // A token whose characters are all byte characters becomes those bytes; any other token
    // (an added token like "<|é|>" with a non-byte character) is kept as its UTF-8 text.
    std::string token_bytes;
    bool all_bytes = true;
    for (size_t i = 0; i < token.size();) {
      char32_t cp = 0;
      i += unicode::decode_utf8(token, i, cp);
      auto b = byte_level::char_to_byte(cp);
      if (!b) {
        all_bytes = false;
        break;
      }
      token_bytes += static_cast<char>(*b);
    }
    bytes += all_bytes ? token_bytes : token;
  }
  return m.byte_level_decoder ? unicode::utf8_lossy(bytes) : bytes;
}

int64_t HfBpeTokenizer::vocab_size() const { return static_cast<int64_t>(impl_->id_to_token.size()); }

std::optional<int32_t> HfBpeTokenizer::token_to_id(std::string_view token) const {
  std::string t(token);
  if (auto it = impl_->added_ids.find(t); it != impl_->added_ids.end()) return it->second;
  if (auto it = impl_->vocab.find(t); it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

std::string HfBpeTokenizer::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size()) return {};
  return impl_->id_to_token[id];
}

bool HfBpeTokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->id_kind.size() && impl_->id_kind[id] == 3;
}

std::string HfBpeTokenizer::fingerprint() const { return impl_->fingerprint; }
std::string HfBpeTokenizer::origin() const { return impl_->origin; }

}  // namespace ec::data
