#include "editcaption/eval/judge_reply.h"

#include <cmath>
#include <optional>
#include <vector>

namespace ec::eval {
using json = nlohmann::json;

namespace {

// End (one past the closing brace) of the balanced object starting at text[open], honouring
// strings and escapes; npos if it never closes.
size_t object_end(std::string_view text, size_t open) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{') {
      ++depth;
    } else if (c == '}') {
      if (--depth == 0) return i + 1;
    }
  }
  return std::string_view::npos;
}

// Judges often put raw line breaks or tabs inside the reasoning string: escape control
// characters that appear inside strings so that the object parses. Nothing else is changed.
std::string escape_controls_in_strings(std::string_view s) {
  std::string out;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string && !escaped && static_cast<unsigned char>(c) < 0x20) {
      out += c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : " ";
      continue;
    }
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    }
    out += c;
  }
  return out;
}

std::optional<json> parse_object(std::string_view candidate) {
  for (int pass = 0; pass < 2; ++pass) {
    try {
      json j = pass == 0 ? json::parse(candidate) : json::parse(escape_controls_in_strings(candidate));
      if (j.is_object()) return j;
      return std::nullopt;
    } catch (const json::parse_error&) {
    }
  }
  return std::nullopt;
}

std::optional<double> number_of(const json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    char* end = nullptr;
    double x = std::strtod(s.c_str(), &end);
    if (end != s.c_str() && *end == '\0' && std::isfinite(x)) return x;
  }
  return std::nullopt;
}

}  // namespace

JudgeReply parse_judge_reply(std::string_view text, JudgeDimension d) {
  JudgeReply r;
  // The last object with a "score" is the final answer: the steps before it may quote others.
  std::optional<json> found;
  size_t pos = 0;
  bool saw_brace = false;
  while ((pos = text.find('{', pos)) != std::string_view::npos) {
    saw_brace = true;
    size_t end = object_end(text, pos);
    if (end == std::string_view::npos) {
      ++pos;
      continue;
    }
    if (auto obj = parse_object(text.substr(pos, end - pos)); obj && obj->contains("score")) {
      found = std::move(obj);
      pos = end;
    } else {
      ++pos;
    }
  }
  if (!found) {
    r.error = saw_brace ? "no parsable JSON object with a \"score\" in the reply" : "no JSON object in the reply";
    return r;
  }
  const json& j = *found;
  if (auto dim = j.find("dimension"); dim != j.end()) {
    std::string name = dim->is_string() ? dim->get<std::string>() : dim->dump();
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name != dimension_name(d)) {
      r.error = "reply is for dimension '" + name + "', expected '" + dimension_name(d) + "'";
      return r;
    }
  }
  auto score = number_of(j.at("score"));
  if (!score) {
    r.error = "\"score\" is not a number: " + j.at("score").dump();
    return r;
  }
  double s = *score;
  if (s < 1.0 || s > 5.0) {
    r.error = "score " + j.at("score").dump() + " is outside [1, 5]";
    return r;
  }
  if (d == JudgeDimension::Accuracy && s != std::floor(s)) {
    r.error = "accuracy score " + j.at("score").dump() + " is not an integer";
    return r;
  }
  if (d == JudgeDimension::Completeness && s * 2 != std::floor(s * 2)) {
    r.error = "completeness score " + j.at("score").dump() + " is not on the lookup table's 0.5 grid";
    return r;
  }
  r.ok = true;
  r.score = s;
  if (auto why = j.find("reasoning"); why != j.end()) r.reasoning = why->is_string() ? why->get<std::string>() : why->dump();
  return r;
}

ChatContent chat_completion_content(std::string_view body) {
  ChatContent c;
  json j;
  try {
    j = json::parse(body);
  } catch (const json::parse_error&) {
    c.error = "response body is not JSON";
    return c;
  }
  if (!j.is_object() || !j.contains("choices") || !j["choices"].is_array() || j["choices"].empty()) {
    c.error = j.is_object() && j.contains("error") ? "endpoint error: " + j["error"].dump() : "response has no choices";
    return c;
  }
  const json& choice = j["choices"][0];
  if (!choice.is_object() || !choice.contains("message") || !choice["message"].is_object()) {
    c.error = "choices[0] has no message";
    return c;
  }
  const json& content = choice["message"].value("content", json());
  if (content.is_string()) {
    c.text = content.get<std::string>();
  } else if (content.is_array()) {
    for (const auto& part : content) {
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") && part["text"].is_string()) {
        c.text += part["text"].get<std::string>();
      }
    }
  }
  if (c.text.empty()) c.error = "choices[0].message.content is empty";
  return c;
}

}  // namespace ec::eval
