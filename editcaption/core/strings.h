// Small string helpers used across the code base.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ec {

std::string_view trim(std::string_view s);
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
bool starts_with(std::string_view s, std::string_view prefix);
std::string to_lower(std::string_view s);

/// Levenshtein edit distance (insert, delete, substitute, adjacent transposition).
int edit_distance(std::string_view a, std::string_view b);
/// The candidate closest to `word`, if it is close enough to be a plausible typo.
std::optional<std::string> closest_match(std::string_view word, const std::vector<std::string>& candidates);

/// True if `s` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view s);
/// Byte offset of the first invalid UTF-8 sequence, or npos.
size_t first_invalid_utf8(std::string_view s);

/// "1.5 GiB", "12.0 MiB", "512 B".
std::string human_bytes(double bytes);
/// "01:02:03" or "02:03".
std::string human_duration(double seconds);

}  // namespace ec
