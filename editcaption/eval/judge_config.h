// Options of judge-mode evaluation (`judge:` section; `editcaption eval judge` flags override).
#pragma once

#include <string>

#include "editcaption/config/visitor.h"

namespace ec::eval {

struct JudgeConfig {
  using is_config_section = void;
  /// OpenAI-compatible chat-completions URL; empty: only write the requests.
  std::string endpoint;
  /// Judge model name sent in the request body.
  std::string model;
  /// Environment variable holding the API key (sent as a Bearer token); empty: no key.
  std::string api_key_env;
  /// Name of the evaluated model, filled into the prompts' {model_name}; empty: the predictions file stem.
  std::string candidate_name;
  int concurrency = 4;
  double timeout_s = 120.0;
  double connect_timeout_s = 10.0;
  int max_attempts = 5;
  double backoff_s = 1.0;
  double max_backoff_s = 60.0;
  double temperature = 0.0;
  int max_tokens = 2048;

  template <class V>
  void visit(V& v) {
    v("endpoint", endpoint, "OpenAI-compatible chat-completions URL (empty: only write requests.jsonl).");
    v("model", model, "Judge model name sent as `model` in each request.");
    v("api_key_env", api_key_env, "Environment variable holding the judge API key (empty: no Authorization header).");
    v("candidate_name", candidate_name, "Name of the evaluated model in the prompts (empty: the predictions file stem).");
    v("concurrency", concurrency, "Requests in flight at once.", config::range(1, 256));
    v("timeout_s", timeout_s, "Whole-request timeout in seconds.", config::greater_than(0.0));
    v("connect_timeout_s", connect_timeout_s, "Connection timeout in seconds.", config::greater_than(0.0));
    v("max_attempts", max_attempts, "Attempts per request (timeouts, 429/5xx, malformed replies are retried).",
      config::range(1, 100));
    v("backoff_s", backoff_s, "Delay before the first retry; doubles each attempt (with jitter).", config::at_least(0.0));
    v("max_backoff_s", max_backoff_s, "Upper bound of the retry delay.", config::at_least(0.0));
    v("temperature", temperature, "Sampling temperature of the judge.", config::range(0.0, 2.0));
    v("max_tokens", max_tokens, "max_tokens of each request (0: not sent).", config::at_least(0));
  }
  void validate(config::Validation& v) const {
    if (!endpoint.empty() && !endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
      v.error("endpoint", "must start with http:// or https://, got '{}'", endpoint);
    }
    if (!endpoint.empty() && model.empty()) v.error("model", "must name the judge model when an endpoint is set");
    if (max_backoff_s < backoff_s) v.error("max_backoff_s", "must be >= backoff_s ({})", backoff_s);
  }
};

}  // namespace ec::eval
