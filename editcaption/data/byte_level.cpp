#include "editcaption/data/byte_level.h"

#include "editcaption/data/unicode_text.h"

namespace ec::data::byte_level {
namespace {

bool maps_to_itself(uint32_t b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); }

std::array<char32_t, 256> build_code_points() {
  std::array<char32_t, 256> cps{};
  uint32_t n = 0;
  for (uint32_t b = 0; b < 256; ++b) cps[b] = maps_to_itself(b) ? b : 256 + n++;
  return cps;
}

const std::array<char32_t, 256>& code_points() {
  static const std::array<char32_t, 256> table = build_code_points();
  return table;
}

}  // namespace

const std::array<std::string, 256>& byte_to_char() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    for (int b = 0; b < 256; ++b) unicode::append_utf8(t[b], code_points()[b]);
    return t;
  }();
  return table;
}

std::optional<uint8_t> char_to_byte(char32_t cp) {
  if (cp < 256) {
    if (maps_to_itself(cp)) return static_cast<uint8_t>(cp);
    return std::nullopt;
  }
  if (cp >= 256 + 68) return std::nullopt;
  static const std::array<uint8_t, 68> shifted = [] {
    std::array<uint8_t, 68> t{};
    for (int b = 0; b < 256; ++b) {
      if (code_points()[b] >= 256) t[code_points()[b] - 256] = static_cast<uint8_t>(b);
    }
    return t;
  }();
  return shifted[cp - 256];
}

}  // namespace ec::data::byte_level
