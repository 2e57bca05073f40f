// `editcaption eval judge` end to end against a local OpenAI-compatible server started by the test
// (loopback only): scripted 500s, timeouts, malformed replies, a fatal 401, and resuming.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <atomic>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <thread>

#include "tests/common/test_util.h"

namespace ec {
namespace {
namespace fs = std::filesystem;
using json = nlohmann::json;

// A tiny HTTP/1.1 server on 127.0.0.1: one thread per connection, one request per connection.
// `handler` gets the request body and returns (status, body, delay before answering).
struct Reply {
  int status = 200;
  std::string body;
  double delay_s = 0;
};

class LocalServer {
 public:
  using Handler = std::function<Reply(const std::string& headers, const std::string& body)>;
  explicit LocalServer(Handler h) : handler_(std::move(h)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd_, 64) != 0) {
      throw std::runtime_error("cannot listen on 127.0.0.1");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
  }
  ~LocalServer() {
    stop_ = true;
    accept_thread_.join();
    std::lock_guard lock(mutex_);
    for (auto& t : workers_) t.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/chat/completions"; }
  int requests() const { return requests_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      std::lock_guard lock(mutex_);
      workers_.emplace_back([this, c] { serve(c); });
    }
  }
  void serve(int c) {
    std::string data;
    char buf[65536];
    size_t header_end = std::string::npos, need = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0) break;
      data.append(buf, n);
      if (header_end == std::string::npos && (header_end = data.find("\r\n\r\n")) != std::string::npos) {
        std::smatch m;
        std::string head = data.substr(0, header_end);
        need = std::regex_search(head, m, std::regex("Content-Length: *([0-9]+)", std::regex::icase))
                   ? std::stoul(m[1]) : 0;
      }
      if (header_end != std::string::npos && data.size() >= header_end + 4 + need) break;
    }
    ++requests_;
    std::string headers = header_end == std::string::npos ? data : data.substr(0, header_end);
    std::string body = header_end == std::string::npos ? "" : data.substr(header_end + 4);
    Reply r = handler_(headers, body);
    if (r.delay_s > 0) {
      auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(r.delay_s);
      while (!stop_ && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
                      std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
    ::send(c, out.data(), out.size(), MSG_NOSIGNAL);
    ::close(c);
  }
  Handler handler_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread accept_thread_;
  std::mutex mutex_;
  std::vector<std::thread> workers_;
};

std::string chat(const std::string& content) {
  return json{{"id", "x"}, {"object", "chat.completion"},
              {"choices", {{{"index", 0}, {"message", {{"role", "assistant"}, {"content", content}}}, {"finish_reason", "stop"}}}}}
      .dump();
}

// The scripted judge. The tag in the evaluated instruction says how to misbehave, per
// (sample, dimension) attempt: "500-once", "timeout-once", "garbage-once", "fenced", "always-bad".
struct Judge {
  std::mutex mutex;
  std::map<std::string, int> attempts;  // per request
  std::vector<std::string> auth;        // Authorization headers seen
  bool healed = false;                  // "always-bad" answers well once healed
  std::atomic<int> image_checks{0};

  Reply operator()(const std::string& headers, const std::string& body) {
    json req = json::parse(body);
    std::string system = req["messages"][0]["content"];
    const json& parts = req["messages"][1]["content"];
    std::string user = parts[4]["text"];
    std::string a = parts[1]["image_url"]["url"], b = parts[3]["image_url"]["url"];
    if (a.rfind("data:image/png;base64,iVBORw0KGgo", 0) == 0 && b.rfind("data:image/png;base64,iVBORw0KGgo", 0) == 0 &&
        parts[0]["text"] == "Image A (source image):" && req["model"] == "judge-1" && req["temperature"] == 0.0) {
      ++image_checks;
    }
    std::string dim = system.find("[Accuracy]") != std::string::npos       ? "accuracy"
                      : system.find("[Completeness]") != std::string::npos ? "completeness"
                                                                           : "clarity";
    std::smatch m;
    std::regex_search(user, m, std::regex("\\[Instruction to Evaluate \\(([^)]*)\\)\\]\n([^\n]*)"));
    std::string instruction = m[2];
    int n;
    {
      std::lock_guard lock(mutex);
      n = ++attempts[instruction + "|" + dim];
      auto at = headers.find("Authorization: ");
      if (at != std::string::npos) auth.push_back(headers.substr(at, headers.find("\r\n", at) - at));
    }
    double score = dim == "accuracy" ? 4 : dim == "completeness" ? 4.5 : 3.5;
    std::string good = "Step 1: N=2\n{\"dimension\":\"" + dim + "\",\"score\":" + json(score).dump() + ",\"reasoning\":\"ok\"}";
    if (instruction.find("500-once") != std::string::npos && n == 1) return {500, "{\"error\":\"boom\"}"};
    if (instruction.find("timeout-once") != std::string::npos && n == 1) return {200, chat(good), 3.0};
    if (instruction.find("garbage-once") != std::string::npos && n == 1) return {200, chat("I would say about four.")};
    if (instruction.find("always-bad") != std::string::npos && !healed) return {200, chat("{\"score\": \"n/a\"}")};
    if (instruction.find("fenced") != std::string::npos) return {200, chat("```json\n" + good.substr(12) + "\n```")};
    return {200, chat(good)};
  }
};

struct Fixture {
  test::TempDir dir{"ec-judge"};
  fs::path manifest = dir / "test.jsonl", predictions = dir / "preds.jsonl", out = dir / "judge";
  explicit Fixture(const std::vector<std::string>& tags) {
    cv::Mat img(24, 32, CV_8UC3, cv::Scalar(30, 120, 200));
    cv::imwrite((dir / "a.png").string(), img);
    cv::imwrite((dir / "b.png").string(), img * 0.5);
    std::string m, p;
    for (size_t i = 0; i < tags.size(); ++i) {
      std::string id = "pair-" + std::to_string(i);
      m += json{{"id", id}, {"source", "a.png"}, {"target", "b.png"}, {"instruction", "Move the red cube left."},
                {"category", i % 2 ? "semantic" : "structural"},
                {"gt", {{"primary", {"The red cube moves to the left edge."}}, {"overall", "The cube moved."}}}}
               .dump() + "\n";
      p += json{{"id", id}, {"instruction", "Move the cube left " + tags[i]}}.dump() + "\n";
    }
    test::write_text(manifest, m);
    test::write_text(predictions, p);
  }
  std::vector<std::string> args(const std::string& url) const {
    return {"eval", "judge", "--manifest", manifest.string(), "--predictions", predictions.string(), "--out",
            out.string(), "--endpoint", url, "--model", "judge-1", "--concurrency", "3", "--timeout", "1",
            "--backoff", "0.01", "--max-attempts", "3"};
  }
};

TEST(JudgeServer, RetriesThenScoresLikeThePaper) {
  Judge judge;
  LocalServer server([&](const std::string& h, const std::string& b) { return judge(h, b); });
  Fixture f({"plain", "500-once", "timeout-once", "garbage-once", "fenced"});
  ::setenv("EC_TEST_JUDGE_KEY", "sk-local-test", 1);
  auto args = f.args(server.url());
  args.insert(args.end(), {"--api-key-env", "EC_TEST_JUDGE_KEY", "--name", "tiny-sft"});
  auto r = test::run_cli(args);
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;

  // 15 requests answered; the 500, the timeout and the malformed reply cost one retry each (x3 dims).
  auto summary = json::parse(test::read_text(f.out / "summary.json"));
  const auto& run = summary["run"];
  EXPECT_EQ(run["answered"], 15);
  EXPECT_EQ(run["failed"], 0);
  EXPECT_EQ(run["retries"], 9);
  EXPECT_EQ(run["timeouts"], 3);
  EXPECT_EQ(run["malformed_replies"], 3);
  EXPECT_EQ(run["http_status"]["500"], 3);
  EXPECT_EQ(judge.image_checks.load(), server.requests());  // every body carried both images as data URLs
  ASSERT_FALSE(judge.auth.empty());
  EXPECT_EQ(judge.auth.front(), "Authorization: Bearer sk-local-test");
  EXPECT_EQ(r.out.find("sk-local-test"), std::string::npos);
  EXPECT_EQ(r.err.find("sk-local-test"), std::string::npos);

  // S = 0.4 * 4 + 0.4 * 4.5 + 0.2 * 3.5 for every sample.
  EXPECT_NEAR(summary["scores"]["overall"]["S"].get<double>(), 0.4 * 4 + 0.4 * 4.5 + 0.2 * 3.5, 1e-12);
  EXPECT_EQ(summary["scores"]["overall"]["samples"], 5);
  EXPECT_EQ(summary["scores"]["by_category"]["structural"]["samples"], 3);
  EXPECT_NE(r.out.find("4.100"), std::string::npos) << r.out;
  auto requests = test::read_text(f.out / "requests.jsonl");
  EXPECT_EQ(std::count(requests.begin(), requests.end(), '\n'), 15);
  EXPECT_NE(requests.find("tiny-sft"), std::string::npos);

  // Rerun: everything is answered, nothing is sent.
  int before = server.requests();
  auto again = test::run_cli(args);
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(server.requests(), before);
  EXPECT_EQ(json::parse(test::read_text(f.out / "summary.json"))["run"]["already_answered"], 15);
  ::unsetenv("EC_TEST_JUDGE_KEY");
}

TEST(JudgeServer, FailuresAreCountedThenResumed) {
  Judge judge;
  LocalServer server([&](const std::string& h, const std::string& b) { return judge(h, b); });
  Fixture f({"plain", "always-bad", "plain"});
  auto r = test::run_cli(f.args(server.url()));
  EXPECT_EQ(r.exit_code, 7) << r.out << r.err;  // comm: rerun to resume
  EXPECT_NE(r.err.find("3 judge request(s) failed after 3 attempts"), std::string::npos) << r.err;
  auto summary = json::parse(test::read_text(f.out / "summary.json"));
  EXPECT_EQ(summary["run"]["malformed_replies"], 9);
  EXPECT_EQ(summary["scores"]["overall"]["samples"], 2);  // the bad sample is unscored, not guessed
  EXPECT_EQ(summary["scores"]["unscored_samples"], 1);
  auto scores = test::read_text(f.out / "scores.jsonl");
  EXPECT_NE(scores.find("\"id\":\"pair-1\",\"category\":\"semantic\",\"accuracy\":null"), std::string::npos) << scores;

  // A crash mid-write leaves a torn line: it is skipped and the next record is not glued to it.
  {
    std::ofstream torn(f.out / "responses.jsonl", std::ios::app);
    torn << "{\"request_id\":\"pair-1:accuracy\",\"sco";
  }
  judge.healed = true;
  int before = server.requests();
  auto resumed = test::run_cli(f.args(server.url()));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(server.requests() - before, 3);  // only the three failed requests
  summary = json::parse(test::read_text(f.out / "summary.json"));
  EXPECT_EQ(summary["scores"]["overall"]["samples"], 3);
  EXPECT_EQ(summary["run"]["already_answered"], 6);
}

TEST(JudgeServer, ChangedPredictionsAreJudgedAgain) {
  Judge judge;
  LocalServer server([&](const std::string& h, const std::string& b) { return judge(h, b); });
  Fixture f({"plain", "plain"});
  ASSERT_EQ(test::run_cli(f.args(server.url())).exit_code, 0);
  test::write_text(f.predictions, "{\"id\":\"pair-0\",\"instruction\":\"Move the cube left plain\"}\n"
                                  "{\"id\":\"pair-1\",\"instruction\":\"A different answer\"}\n");
  int before = server.requests();
  ASSERT_EQ(test::run_cli(f.args(server.url())).exit_code, 0);
  EXPECT_EQ(server.requests() - before, 3);  // the stale responses of pair-1 do not count
}

TEST(JudgeServer, UnauthorizedStopsAtOnce) {
  std::atomic<int> calls{0};
  LocalServer server([&](const std::string&, const std::string&) {
    ++calls;
    return Reply{401, "{\"error\":{\"message\":\"invalid api key\"}}"};
  });
  Fixture f({"a", "b", "c", "d"});
  auto args = f.args(server.url());
  auto c = std::find(args.begin(), args.end(), "--concurrency");
  *(c + 1) = "1";  // one at a time: the stop is seen before the next request
  auto r = test::run_cli(args);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("HTTP 401"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid api key"), std::string::npos) << r.err;
  EXPECT_EQ(calls.load(), 1);
}

TEST(JudgeServer, RequestsOnlyAndOfflineReplies) {
  Fixture f({"plain", "plain"});
  auto r = test::run_cli({"eval", "judge", "--manifest", f.manifest.string(), "--predictions", f.predictions.string(),
                          "--out", f.out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Wrote 6 judge requests"), std::string::npos) << r.out;
  std::string replies;
  for (const auto& line : std::vector<std::string>{"pair-0:accuracy", "pair-0:completeness", "pair-0:clarity",
                                                   "pair-1:accuracy", "pair-1:completeness"}) {
    std::string dim = line.substr(line.find(':') + 1);
    replies += json{{"request_id", line}, {"reply", "```json\n{\"dimension\":\"" + dim + "\",\"score\":5}\n```"}}.dump() + "\n";
  }
  replies += json{{"request_id", "pair-1:clarity"}, {"reply", "five"}}.dump() + "\n";
  test::write_text(f.dir / "replies.jsonl", replies);
  auto s = test::run_cli({"eval", "judge", "--manifest", f.manifest.string(), "--predictions", f.predictions.string(),
                          "--out", f.out.string(), "--replies", (f.dir / "replies.jsonl").string()});
  EXPECT_EQ(s.exit_code, 3) << s.err;
  EXPECT_NE(s.err.find("replies.jsonl:6: malformed reply"), std::string::npos) << s.err;
  auto summary = json::parse(test::read_text(f.out / "summary.json"));
  EXPECT_EQ(summary["scores"]["overall"]["samples"], 1);
  EXPECT_DOUBLE_EQ(summary["scores"]["overall"]["S"].get<double>(), 5.0);
}

TEST(JudgeServer, BadFlagsAreUsageErrors) {
  Fixture f({"plain"});
  auto r = test::run_cli({"eval", "judge", "--manifest", f.manifest.string(), "--predictions", f.predictions.string(),
                          "--out", f.out.string(), "--endpoint", "ftp://x", "--concurrency", "0"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("judge.endpoint"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("judge.concurrency"), std::string::npos) << r.err;
  auto k = test::run_cli({"eval", "judge", "--manifest", f.manifest.string(), "--predictions", f.predictions.string(),
                          "--out", f.out.string(), "--endpoint", "http://127.0.0.1:9/v1", "--model", "m",
                          "--api-key-env", "EC_TEST_NO_SUCH_VARIABLE"});
  EXPECT_EQ(k.exit_code, 2);
  EXPECT_NE(k.err.find("EC_TEST_NO_SUCH_VARIABLE"), std::string::npos) << k.err;
}

}  // namespace
}  // namespace ec
