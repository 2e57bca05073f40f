// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available) that lists the
// non-overlapping matches in a UTF-8 string: the pre-tokenizer splits of the BPE tokenizers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ec::data {

class TextRegex {
 public:
  /// Compiles `pattern` (PCRE2 syntax; `literal` treats it as a plain string). Throws
  /// UserError(Input) naming `origin` and the offset of a syntax error.
  TextRegex(std::string_view pattern, std::string_view origin, bool literal = false);
  ~TextRegex();
  TextRegex(const TextRegex&) = delete;
  TextRegex& operator=(const TextRegex&) = delete;

  /// [start, end) byte offsets of the successive leftmost matches in valid UTF-8 `text`; empty
  /// matches are skipped. Thread-safe.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

/// Rewrites the \s and \S classes of a pattern written for Oniguruma (the regex engine of the
/// `tokenizers` package) into explicit code-point sets: Oniguruma's Unicode \s is
/// [\t\n\v\f\r\x85] plus the Zs, Zl and Zp categories, which PCRE2's \s does not reproduce exactly
/// (it adds U+180E). \S inside a bracket class is left as is.
std::string onig_whitespace_to_pcre2(std::string_view pattern);

}  // namespace ec::data
