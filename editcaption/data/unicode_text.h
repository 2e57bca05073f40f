// Unicode helpers for the tokenizers: code-point iteration, NFC (ICU), the character classes the
// Hugging Face `tokenizers` package uses around added tokens (Rust regex \s and \w), and the lossy
// UTF-8 decoding its decoders end with (Rust String::from_utf8_lossy).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace ec::data::unicode {

/// Decodes the code point starting at byte `i` of valid UTF-8 `s` and returns its byte length.
size_t decode_utf8(std::string_view s, size_t i, char32_t& cp);
/// Byte offset where the code point ending at byte `end` (exclusive) of valid UTF-8 starts.
size_t previous_code_point(std::string_view s, size_t end);
void append_utf8(std::string& out, char32_t cp);

/// Unicode Normalization Form C of valid UTF-8 (ASCII and already-normalized text are returned
/// unchanged without a copy through ICU).
std::string nfc(std::string_view s);

/// White_Space property (Rust regex \s).
bool is_white_space(char32_t cp);
/// Rust regex \w: Alphabetic, marks, decimal numbers, connector punctuation, Join_Control.
bool is_word_char(char32_t cp);

/// Bytes to text, each maximal invalid subsequence replaced by U+FFFD (as Rust's
/// String::from_utf8_lossy and Python's errors="replace").
std::string utf8_lossy(std::string_view bytes);

/// Throws UserError(Input) naming `what` and the byte offset if `s` is not valid UTF-8.
void require_utf8(std::string_view s, std::string_view what);

}  // namespace ec::data::unicode
