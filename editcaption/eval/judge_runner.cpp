#include "editcaption/eval/judge_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <random>
#include <thread>

#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/core/progress.h"
#include "editcaption/eval/http_client.h"
#include "editcaption/eval/judge_reply.h"

namespace ec::eval {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

// ---------------------------------------------------------------------------------------------
// ResponseStore

ResponseStore::ResponseStore(const fs::path& path) : path_(path) {
  bool ends_mid_line = false;
  if (fs::exists(path)) {
    for (const auto& l : read_jsonl(path)) {
      const ojson& v = l.value;
      auto dim = l.error.empty() ? parse_dimension(v.value("dimension", "")) : std::nullopt;
      if (!l.error.empty() || !dim || !v.contains("score") || !v["score"].is_number() ||
          !v.value("request_id", "").size() || !v.value("hash", "").size()) {
        ++unreadable_;
        continue;
      }
      JudgeResponse r;
      r.request_id = v["request_id"].get<std::string>();
      r.id = v.value("id", "");
      r.dimension = *dim;
      r.hash = v["hash"].get<std::string>();
      r.score = v["score"].get<double>();
      r.reasoning = v.value("reasoning", "");
      r.reply = v.value("reply", "");
      r.attempts = v.value("attempts", 0);
      r.origin = v.value("origin", "");
      by_request_[r.request_id] = std::move(r);  // a later line for the same request wins
    }
    std::string text = read_file(path);
    ends_mid_line = !text.empty() && text.back() != '\n';
    if (unreadable_) log::warn("{}: {} unreadable line(s) skipped (a crash mid-write leaves one)", path.string(), unreadable_);
  }
  out_.open(path, std::ios::app | std::ios::binary);
  if (!out_) throw EC_USER_ERROR(Input, "cannot open '{}' for appending", path.string());
  // A torn last line must not swallow the next record.
  if (ends_mid_line) out_ << '\n';
}

const JudgeResponse* ResponseStore::find(const JudgeRequest& r) const {
  auto it = by_request_.find(r.request_id);
  return it != by_request_.end() && it->second.hash == r.hash ? &it->second : nullptr;
}

bool ResponseStore::answers(const JudgeRequest& r) const { return find(r) != nullptr; }

void ResponseStore::append(const JudgeResponse& r) {
  ojson j;
  j["request_id"] = r.request_id;
  j["id"] = r.id;
  j["dimension"] = dimension_name(r.dimension);
  j["score"] = r.score;
  j["reasoning"] = r.reasoning;
  j["hash"] = r.hash;
  j["attempts"] = r.attempts;
  j["origin"] = r.origin;
  j["reply"] = r.reply;
  std::lock_guard lock(mutex_);
  out_ << j.dump(-1, ' ', false, ojson::error_handler_t::replace) << '\n';
  out_.flush();
  if (!out_) throw EC_USER_ERROR(Input, "cannot write '{}'", path_.string());
  by_request_[r.request_id] = r;
}

ojson JudgeRunStats::to_json() const {
  ojson j;
  j["requests"] = requests;
  j["already_answered"] = already_answered;
  j["answered"] = answered;
  j["failed"] = failed;
  j["attempts"] = attempts;
  j["retries"] = retries;
  j["timeouts"] = timeouts;
  j["transport_errors"] = transport_errors;
  j["malformed_replies"] = malformed_replies;
  j["bad_responses"] = bad_responses;
  ojson st = ojson::object();
  for (const auto& [code, n] : http_status) st[std::to_string(code)] = n;
  j["http_status"] = st;
  j["seconds"] = seconds;
  if (!fatal.empty()) j["fatal"] = fatal;
  ojson f = ojson::array();
  for (const auto& x : failures) f.push_back({{"request_id", x.request_id}, {"attempts", x.attempts}, {"last_error", x.last_error}});
  j["failures"] = f;
  return j;
}

// ---------------------------------------------------------------------------------------------
// Runner

namespace {

enum class Outcome { Accepted, Retry, Fatal };

struct Shared {
  Shared(const JudgeConfig& c, ResponseStore& s, JudgeRunStats& st) : cfg(c), store(s), stats(st) {}
  const JudgeConfig& cfg;
  std::vector<std::string> headers;
  ResponseStore& store;
  JudgeRunStats& stats;
  std::mutex mutex;  // guards stats and the progress bar
  std::condition_variable wake;
  std::atomic<bool> stop{false};
  Progress* progress = nullptr;
};

bool retryable_status(long status) { return status == 408 || status == 409 || status == 429 || status >= 500; }

std::string snippet(std::string_view s, size_t n = 200) {
  std::string out(s.substr(0, std::min(n, s.size())));
  for (auto& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return s.size() > n ? out + "..." : out;
}

// One attempt: send, classify, and store an accepted reply.
Outcome attempt(Shared& sh, HttpClient& http, const JudgeRequest& req, const std::string& body, int attempt_no,
                std::string& error, double& retry_after) {
  HttpResponse resp = http.post_json(sh.cfg.endpoint, body, sh.headers, sh.cfg.timeout_s, sh.cfg.connect_timeout_s);
  retry_after = resp.retry_after_s;
  std::lock_guard lock(sh.mutex);
  ++sh.stats.attempts;
  if (!resp.error.empty()) {
    if (resp.timed_out) {
      ++sh.stats.timeouts;
      error = fmt::format("timeout after {} s", sh.cfg.timeout_s);
    } else {
      ++sh.stats.transport_errors;
      error = resp.error;
    }
    return Outcome::Retry;
  }
  if (resp.status < 200 || resp.status >= 300) {
    ++sh.stats.http_status[resp.status];
    error = fmt::format("HTTP {}: {}", resp.status, snippet(resp.body));
    return retryable_status(resp.status) ? Outcome::Retry : Outcome::Fatal;
  }
  ChatContent content = chat_completion_content(resp.body);
  if (!content.error.empty()) {
    ++sh.stats.bad_responses;
    error = content.error + ": " + snippet(resp.body);
    return Outcome::Retry;
  }
  JudgeReply reply = parse_judge_reply(content.text, req.dimension);
  if (!reply.ok) {
    ++sh.stats.malformed_replies;
    error = "malformed reply (" + reply.error + "): " + snippet(content.text);
    return Outcome::Retry;
  }
  JudgeResponse r;
  r.request_id = req.request_id;
  r.id = req.id;
  r.dimension = req.dimension;
  r.hash = req.hash;
  r.score = reply.score;
  r.reasoning = reply.reasoning;
  r.reply = content.text;
  r.attempts = attempt_no;
  r.origin = "endpoint";
  sh.store.append(r);
  ++sh.stats.answered;
  return Outcome::Accepted;
}

double backoff_delay(const JudgeConfig& cfg, const std::string& request_id, int attempt_no, double retry_after) {
  double d = std::min(cfg.max_backoff_s, cfg.backoff_s * std::pow(2.0, attempt_no - 1));
  // Jitter in [0.5, 1) so that concurrent workers do not retry in lockstep.
  std::mt19937_64 rng(std::hash<std::string>{}(request_id) + attempt_no);
  d *= 0.5 + 0.5 * double(rng() >> 11) / double(1ull << 53);
  if (retry_after >= 0) d = std::max(d, std::min(retry_after, cfg.max_backoff_s));
  return d;
}

void worker(Shared& sh, const std::vector<const JudgeRequest*>& todo, std::atomic<size_t>& next) {
  HttpClient http;
  for (;;) {
    if (sh.stop) return;
    size_t i = next++;
    if (i >= todo.size()) return;
    const JudgeRequest& req = *todo[i];
    std::string body;
    try {
      body = chat_request_body(req, sh.cfg).dump(-1, ' ', false, ojson::error_handler_t::replace);
    } catch (const UserError& e) {
      // An unreadable image fails this request only; the others go on.
      std::lock_guard lock(sh.mutex);
      sh.stats.failures.push_back({req.request_id, 0, e.what()});
      ++sh.stats.failed;
      sh.progress->advance(1);
      continue;
    }
    std::string error;
    int n = 1;
    for (;; ++n) {
      double retry_after = -1;
      Outcome o = attempt(sh, http, req, body, n, error, retry_after);
      if (o == Outcome::Accepted) break;
      if (o == Outcome::Fatal) {
        std::lock_guard lock(sh.mutex);
        if (sh.stats.fatal.empty()) sh.stats.fatal = fmt::format("request {}: {}", req.request_id, error);
        sh.stats.failures.push_back({req.request_id, n, error});
        ++sh.stats.failed;
        sh.stop = true;
        sh.wake.notify_all();
        return;
      }
      if (n >= sh.cfg.max_attempts || sh.stop) {
        std::lock_guard lock(sh.mutex);
        sh.stats.failures.push_back({req.request_id, n, error});
        ++sh.stats.failed;
        log::warn("judge request {} failed after {} attempt(s): {}", req.request_id, n, error);
        break;
      }
      double delay = backoff_delay(sh.cfg, req.request_id, n, retry_after);
      log::debug("judge request {} attempt {} failed ({}); retrying in {:.2f} s", req.request_id, n, error, delay);
      std::unique_lock lock(sh.mutex);
      ++sh.stats.retries;
      sh.wake.wait_for(lock, std::chrono::duration<double>(delay), [&] { return sh.stop.load(); });
    }
    std::lock_guard lock(sh.mutex);
    sh.progress->advance(1);
  }
}

}  // namespace

JudgeRunStats run_judge(const std::vector<JudgeRequest>& requests, const JudgeConfig& cfg, const std::string& api_key,
                        ResponseStore& store) {
  EC_CHECK(!cfg.endpoint.empty(), "run_judge needs an endpoint");
  JudgeRunStats stats;
  stats.requests = requests.size();
  std::vector<const JudgeRequest*> todo;
  for (const auto& r : requests) {
    if (store.answers(r)) {
      ++stats.already_answered;
    } else {
      todo.push_back(&r);
    }
  }
  if (stats.already_answered) log::info("judge: {} of {} requests already answered (resuming)", stats.already_answered, requests.size());
  if (todo.empty()) return stats;

  auto start = std::chrono::steady_clock::now();
  Shared sh(cfg, store, stats);
  if (!api_key.empty()) sh.headers.push_back("Authorization: Bearer " + api_key);
  Progress progress("judge", static_cast<int64_t>(todo.size()), "req");
  sh.progress = &progress;
  std::atomic<size_t> next{0};
  size_t n_threads = std::min<size_t>(cfg.concurrency, todo.size());
  {
    std::vector<std::jthread> threads;
    for (size_t t = 0; t < n_threads; ++t) threads.emplace_back([&] { worker(sh, todo, next); });
  }
  progress.finish(fmt::format("{} answered, {} failed", stats.answered, stats.failed));
  // Requests a fatal stop never reached count as failed too.
  size_t untouched = todo.size() - std::min(todo.size(), next.load());
  stats.failed += untouched;
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

JudgeRunStats import_judge_replies(const fs::path& replies, const std::vector<JudgeRequest>& requests,
                                   ResponseStore& store) {
  JudgeRunStats stats;
  stats.requests = requests.size();
  std::map<std::string, const JudgeRequest*> by_id;
  for (const auto& r : requests) by_id[r.request_id] = &r;
  for (const auto& l : read_jsonl(replies)) {
    std::string where = fmt::format("{}:{}", replies.string(), l.line);
    if (!l.error.empty()) {
      stats.failures.push_back({"", 0, where + ": " + l.error});
      ++stats.failed;
      continue;
    }
    std::string rid = l.value.value("request_id", "");
    auto it = by_id.find(rid);
    if (it == by_id.end()) {
      stats.failures.push_back({rid, 0, where + ": unknown request_id '" + rid + "'"});
      ++stats.failed;
      continue;
    }
    const JudgeRequest& req = *it->second;
    if (store.answers(req)) {
      ++stats.already_answered;
      continue;
    }
    auto text = l.value.find("reply");
    if (text == l.value.end() || !text->is_string()) {
      stats.failures.push_back({rid, 0, where + ": no string field 'reply'"});
      ++stats.failed;
      continue;
    }
    JudgeReply reply = parse_judge_reply(text->get<std::string>(), req.dimension);
    if (!reply.ok) {
      ++stats.malformed_replies;
      stats.failures.push_back({rid, 1, where + ": malformed reply (" + reply.error + ")"});
      ++stats.failed;
      continue;
    }
    JudgeResponse r{req.request_id, req.id, req.dimension, req.hash, reply.score, reply.reasoning,
                    text->get<std::string>(), 1, "import"};
    store.append(r);
    ++stats.answered;
  }
  return stats;
}

}  // namespace ec::eval
