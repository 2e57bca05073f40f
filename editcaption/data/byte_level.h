// The GPT-2 byte-to-unicode table of byte-level BPE: every byte is written as one printable
// character (printable ASCII and Latin-1 map to themselves, the rest to U+0100...U+0143) so that
// vocabularies and merges are plain strings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace ec::data::byte_level {

/// UTF-8 of the character that stands for byte b.
const std::array<std::string, 256>& byte_to_char();
/// The byte a character stands for, if it is one of the 256 byte characters.
std::optional<uint8_t> char_to_byte(char32_t cp);

}  // namespace ec::data::byte_level
