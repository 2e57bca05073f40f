#include "editcaption/io/json_strict.h"

#include <fmt/format.h>

#include <string>
#include <unordered_set>
#include <vector>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"

namespace ec::io {
namespace {

using json = nlohmann::json;

// Thrown from inside the parser callback to stop at the first violation; converted below.
struct StrictViolation {
  std::string message;
};

}  // namespace

std::string quote_for_message(std::string_view s, size_t max_chars) {
  bool cut = s.size() > max_chars;
  std::string_view head = s.substr(0, max_chars);
  // Replace invalid UTF-8 rather than fail: this runs while reporting another error.
  std::string text = json(std::string(head)).dump(-1, ' ', true, json::error_handler_t::replace);
  if (cut) text += fmt::format("...({} bytes)", s.size());
  return text;
}

json parse_json_strict(std::string_view text, std::string_view what, const StrictJsonOptions& options) {
  size_t bad = first_invalid_utf8(text);
  if (bad != std::string_view::npos) {
    throw EC_USER_ERROR(Input, "{}: invalid UTF-8 at byte {} of the JSON text", what, bad);
  }
  // nlohmann's lexer takes a NUL byte for the end of input and would ignore whatever follows it;
  // JSON never needs a raw NUL (inside strings it is escaped), so any NUL is an error.
  size_t nul = text.find('\0');
  if (nul != std::string_view::npos) throw EC_USER_ERROR(Input, "{}: NUL byte at offset {} of the JSON text", what, nul);
  // One set of keys per open object; arrays push an empty marker so that depth counts both.
  std::vector<std::unordered_set<std::string>> open;
  std::vector<bool> is_object;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        if (static_cast<int>(is_object.size()) >= options.max_depth) {
          throw StrictViolation{fmt::format("nesting deeper than {} levels", options.max_depth)};
        }
        is_object.push_back(event == json::parse_event_t::object_start);
        if (is_object.back()) open.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!is_object.empty()) {
          if (is_object.back()) open.pop_back();
          is_object.pop_back();
        }
        break;
      case json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!open.empty() && !open.back().insert(key).second) {
          throw StrictViolation{fmt::format("duplicate key {}", quote_for_message(key))};
        }
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    return json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const StrictViolation& v) {
    throw EC_USER_ERROR(Input, "{}: {}", what, v.message);
  } catch (const json::exception& e) {
    std::string detail = e.what();
    if (detail.size() > 300) {
      size_t cut = 300;
      while (cut > 0 && (static_cast<unsigned char>(detail[cut]) & 0xC0) == 0x80) --cut;  // keep UTF-8 whole
      detail = detail.substr(0, cut) + "...";
    }
    throw EC_USER_ERROR(Input, "{}: invalid JSON: {}", what, detail);
  }
}

}  // namespace ec::io
