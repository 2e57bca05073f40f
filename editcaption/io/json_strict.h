// Strict JSON parsing for files we do not trust (safetensors headers, shard indexes, checkpoint
// manifests): well-formed UTF-8, bounded nesting, and no duplicate keys in any object (a parser
// that keeps the last of two keys lets two readers disagree about the same file).
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace ec::io {

struct StrictJsonOptions {
  /// Deepest nesting of objects and arrays accepted (the root object is depth 1).
  int max_depth = 64;
};

/// Parses `text`; throws UserError(Input) whose message starts with `what` (e.g. the file name)
/// on invalid UTF-8, a syntax error, nesting deeper than max_depth or a duplicate key.
nlohmann::json parse_json_strict(std::string_view text, std::string_view what, const StrictJsonOptions& options = {});

/// A string quoted for an error message: JSON-escaped and shortened to about `max_chars`, so a
/// hostile name cannot flood or garble a log line.
std::string quote_for_message(std::string_view s, size_t max_chars = 80);

}  // namespace ec::io
