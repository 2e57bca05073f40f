// Sending judge requests to an OpenAI-compatible endpoint: a fixed number of worker threads,
// per-request timeouts, retries with exponential backoff (timeouts, connection errors, HTTP 408,
// 429 and 5xx, malformed replies), Retry-After honoured, and fatal stops on other 4xx answers
// (bad key, bad URL, bad model). Every accepted reply is appended to responses.jsonl at once, so
// a rerun skips what was already answered (same request id and same request hash).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <fstream>
#include <string>
#include <vector>

#include "editcaption/eval/judge_config.h"
#include "editcaption/eval/judge_requests.h"

namespace ec::eval {

struct JudgeResponse {
  std::string request_id;
  std::string id;
  JudgeDimension dimension = JudgeDimension::Accuracy;
  std::string hash;
  double score = 0;
  std::string reasoning;
  std::string reply;     ///< the judge's full text
  int attempts = 0;
  std::string origin;    ///< "endpoint" or "import"
};

/// responses.jsonl: loaded on construction, appended to (thread-safe, flushed per line).
class ResponseStore {
 public:
  explicit ResponseStore(const std::filesystem::path& path);
  /// True if a stored response answers exactly this request (id and hash).
  bool answers(const JudgeRequest& r) const;
  const JudgeResponse* find(const JudgeRequest& r) const;
  void append(const JudgeResponse& r);
  size_t size() const { return by_request_.size(); }
  size_t unreadable_lines() const { return unreadable_; }

 private:
  std::filesystem::path path_;
  std::map<std::string, JudgeResponse> by_request_;
  size_t unreadable_ = 0;
  std::ofstream out_;
  std::mutex mutex_;
};

struct JudgeFailure {
  std::string request_id;
  int attempts = 0;
  std::string last_error;
};

struct JudgeRunStats {
  size_t requests = 0;          ///< all requests of the set
  size_t already_answered = 0;  ///< skipped: answered by an earlier run
  size_t answered = 0;          ///< answered in this run
  size_t failed = 0;            ///< gave up after max_attempts
  size_t attempts = 0;          ///< HTTP requests sent
  size_t retries = 0;
  size_t timeouts = 0;
  size_t transport_errors = 0;  ///< connection refused/reset, DNS, TLS (timeouts excluded)
  size_t malformed_replies = 0; ///< 2xx answers whose text had no valid score (retried)
  size_t bad_responses = 0;     ///< 2xx answers that were not chat-completions JSON (retried)
  std::map<long, size_t> http_status;  ///< non-2xx statuses seen
  std::vector<JudgeFailure> failures;
  std::string fatal;            ///< set when a non-retryable answer stopped the run
  double seconds = 0;
  nlohmann::ordered_json to_json() const;
};

/// Sends every request that `store` does not answer yet. `api_key` may be empty.
JudgeRunStats run_judge(const std::vector<JudgeRequest>& requests, const JudgeConfig& cfg, const std::string& api_key,
                        ResponseStore& store);

/// Offline judging: replies gathered elsewhere, JSONL {request_id, reply} (reply = the judge's
/// text). Valid replies are stored with origin "import"; malformed ones and unknown request ids
/// are counted and listed in `failures`, never scored.
JudgeRunStats import_judge_replies(const std::filesystem::path& replies, const std::vector<JudgeRequest>& requests,
                                   ResponseStore& store);

}  // namespace ec::eval
