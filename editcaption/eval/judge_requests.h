// Judge requests: one per (sample, dimension) with the paper's prompt filled in and both images
// referenced. Written as requests.jsonl for any multimodal judge, and turned into
// OpenAI-compatible chat-completions bodies (images as base64 data URLs) by the runner.
#pragma once

#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "editcaption/eval/judge_config.h"
#include "editcaption/eval/judge_prompts.h"
#include "editcaption/eval/records.h"

namespace ec::eval {

struct JudgeRequest {
  std::string request_id;  ///< "<id>:<dimension>"
  std::string id;
  JudgeDimension dimension = JudgeDimension::Accuracy;
  std::string category;
  std::filesystem::path source;
  std::filesystem::path target;
  JudgePrompt prompt;
  /// sha256 of everything that decides the answer (prompt, image paths, judge model and
  /// sampling settings): a stored response counts on resume only if its hash matches.
  std::string hash;
};

struct JudgeRequestSet {
  std::vector<JudgeRequest> requests;       ///< manifest order, three per sample
  std::vector<std::string> missing_predictions;  ///< manifest ids without a prediction
  std::vector<std::string> unknown_predictions;  ///< prediction ids not in the manifest
};

/// Labels introducing the two images in the user message (paper appendix B: Image A, Image B).
inline constexpr const char* kImageALabel = "Image A (source image):";
inline constexpr const char* kImageBLabel = "Image B (edited image):";

JudgeRequestSet build_judge_requests(const PairManifest& manifest, const std::map<std::string, std::string>& predictions,
                                     const std::string& candidate_name, const JudgeConfig& cfg);

/// The requests.jsonl line: request_id, id, dimension, category, images [{label, path}], system,
/// user, hash.
nlohmann::ordered_json request_json(const JudgeRequest& r);
/// The chat-completions body: system message, then a user message with the two labelled images
/// (data URLs) and the user text.
nlohmann::ordered_json chat_request_body(const JudgeRequest& r, const JudgeConfig& cfg);

}  // namespace ec::eval
