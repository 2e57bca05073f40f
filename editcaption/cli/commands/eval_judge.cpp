// `editcaption eval judge --manifest M --predictions P --out DIR [CONFIG] [--endpoint URL --model NAME
// --api-key-env VAR --concurrency N ...] [--replies R.jsonl]`: the paper's judge-mode evaluation.
// Always writes DIR/requests.jsonl (one request per sample and dimension); with an endpoint it
// sends them (resumable through DIR/responses.jsonl), with --replies it reads answers gathered
// elsewhere; then it aggregates S = 0.4 Acc + 0.4 Comp + 0.2 Clar into DIR/scores.jsonl and
// DIR/summary.json and prints the table.
#include <cstdlib>
#include <iostream>

#include "editcaption/cli/command.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/eval/judge_requests.h"
#include "editcaption/eval/judge_runner.h"
#include "editcaption/eval/judge_scores.h"

namespace ec::cli {
namespace fs = std::filesystem;
using ojson = nlohmann::ordered_json;

namespace {

struct JudgeArgs {
  ConfigArgs config;
  std::string manifest, predictions, out, replies;
  std::string endpoint, model, api_key_env, name;
  int concurrency = 0, max_attempts = 0;
  double timeout_s = 0, backoff_s = 0;
};

std::string quoted(const std::string& s) { return ojson(s).dump(); }

int run_eval_judge(const JudgeArgs& a, CLI::App* cmd) {
  // Flags become --set overrides of the `judge:` section, so that they are validated like a config.
  ConfigArgs config = a.config;
  auto given = [&](const char* flag) { return cmd->count(flag) > 0; };
  if (given("--endpoint")) config.overrides.push_back("judge.endpoint=" + quoted(a.endpoint));
  if (given("--model")) config.overrides.push_back("judge.model=" + quoted(a.model));
  if (given("--api-key-env")) config.overrides.push_back("judge.api_key_env=" + quoted(a.api_key_env));
  if (given("--name")) config.overrides.push_back("judge.candidate_name=" + quoted(a.name));
  if (given("--concurrency")) config.overrides.push_back(fmt::format("judge.concurrency={}", a.concurrency));
  if (given("--max-attempts")) config.overrides.push_back(fmt::format("judge.max_attempts={}", a.max_attempts));
  if (given("--timeout")) config.overrides.push_back(fmt::format("judge.timeout_s={}", a.timeout_s));
  if (given("--backoff")) {
    config.overrides.push_back(fmt::format("judge.backoff_s={}", a.backoff_s));
    config.overrides.push_back(fmt::format("judge.max_backoff_s={}", std::max(a.backoff_s * 64, a.backoff_s)));
  }
  eval::JudgeConfig cfg = load_experiment(config).judge;

  eval::PairManifest manifest = eval::read_pair_manifest(a.manifest);
  for (const auto& p : manifest.problems) {
    log::warn("{}:{}: {}{} (skipped)", a.manifest, p.line, p.id.empty() ? "" : "record '" + p.id + "': ", p.reason);
  }
  EC_USER_CHECK(!manifest.records.empty(), Input, "{}: no usable records", a.manifest);
  auto predictions = eval::read_prediction_map(a.predictions);
  std::string candidate = cfg.candidate_name.empty() ? fs::path(a.predictions).stem().string() : cfg.candidate_name;
  eval::JudgeRequestSet set = eval::build_judge_requests(manifest, predictions, candidate, cfg);
  if (!set.missing_predictions.empty()) {
    log::warn("{} manifest record(s) have no prediction and are not judged (first: '{}')",
              set.missing_predictions.size(), set.missing_predictions.front());
  }
  if (!set.unknown_predictions.empty()) {
    log::warn("{} prediction(s) have no manifest record (first: '{}')", set.unknown_predictions.size(),
              set.unknown_predictions.front());
  }
  EC_USER_CHECK(!set.requests.empty(), Input, "no manifest record of {} has a prediction in {}", a.manifest, a.predictions);

  fs::path out(a.out);
  std::error_code err;
  fs::create_directories(out, err);
  EC_USER_CHECK(!err, Input, "cannot create '{}': {}", out.string(), err.message());
  std::string lines;
  for (const auto& r : set.requests) lines += eval::request_json(r).dump(-1, ' ', false, ojson::error_handler_t::replace) + "\n";
  write_file_atomic(out / "requests.jsonl", lines);
  log::info("wrote {} judge requests ({} samples x 3 dimensions) to {}", set.requests.size(), set.requests.size() / 3,
            (out / "requests.jsonl").string());

  eval::ResponseStore store(out / "responses.jsonl");
  eval::JudgeRunStats stats;
  stats.requests = set.requests.size();
  bool judged = false;
  if (!a.replies.empty()) {
    stats = eval::import_judge_replies(a.replies, set.requests, store);
    judged = true;
  } else if (!cfg.endpoint.empty()) {
    std::string key;
    if (!cfg.api_key_env.empty()) {
      const char* v = std::getenv(cfg.api_key_env.c_str());
      EC_USER_CHECK(v && *v, Usage, "judge.api_key_env names '{}', but that environment variable is not set",
                    cfg.api_key_env);
      key = v;
    }
    stats = eval::run_judge(set.requests, cfg, key, store);
    judged = true;
  }

  auto samples = eval::collect_judge_scores(set.requests, store);
  std::string score_lines;
  for (const auto& s : samples) {
    ojson j;
    j["id"] = s.id;
    if (!s.category.empty()) j["category"] = s.category;
    for (auto d : eval::kJudgeDimensions) {
      const auto& v = s.dims[static_cast<int>(d)];
      j[eval::dimension_name(d)] = v ? ojson(*v) : ojson(nullptr);
    }
    j["S"] = s.complete() ? ojson(s.S()) : ojson(nullptr);
    score_lines += j.dump() + "\n";
  }
  write_file_atomic(out / "scores.jsonl", score_lines);
  eval::JudgeSummary summary = eval::summarize_judge_scores(samples);

  ojson report;
  report["manifest"] = a.manifest;
  report["predictions"] = a.predictions;
  report["candidate_name"] = candidate;
  report["judge"] = {{"endpoint", cfg.endpoint}, {"model", cfg.model}, {"temperature", cfg.temperature},
                     {"max_tokens", cfg.max_tokens}};
  report["samples"] = manifest.records.size();
  report["missing_predictions"] = set.missing_predictions;
  report["unknown_predictions"] = set.unknown_predictions;
  report["scores"] = summary.to_json();
  report["run"] = stats.to_json();
  write_file_atomic(out / "summary.json", report.dump(2) + "\n");

  if (!judged && store.size() == 0) {
    std::cout << fmt::format("Wrote {} judge requests to {}.\nScore them with --endpoint URL --model NAME, or "
                             "with --replies FILE holding {{\"request_id\", \"reply\"}} lines from another judge.\n",
                             set.requests.size(), (out / "requests.jsonl").string());
    return 0;
  }
  std::cout << eval::format_judge_table(summary, fmt::format("Judge scores of {} ({} of {} samples)", candidate,
                                                              summary.overall.samples, manifest.records.size()));
  if (judged) {
    std::cout << fmt::format("requests {}: {} answered now, {} already answered, {} failed; {} retries, {} "
                             "timeouts, {} malformed replies\n",
                             stats.requests, stats.answered, stats.already_answered, stats.failed, stats.retries,
                             stats.timeouts, stats.malformed_replies);
  }
  if (!stats.fatal.empty()) {
    throw EC_USER_ERROR(Usage, "the judge endpoint refused a request ({}); fix the endpoint, model or key and rerun "
                        "(answered requests are kept in {})", stats.fatal, (out / "responses.jsonl").string());
  }
  if (stats.failed > 0) {
    std::string first = stats.failures.empty() ? "" : stats.failures.front().last_error;
    if (!a.replies.empty()) {
      throw EC_USER_ERROR(Input, "{} of the replies in {} could not be used (first: {}); see {}", stats.failed,
                          a.replies, first, (out / "summary.json").string());
    }
    throw EC_USER_ERROR(Comm, "{} judge request(s) failed after {} attempts (last error of the first: {}); rerun "
                        "the same command to retry them (answered requests are skipped)", stats.failed,
                        cfg.max_attempts, first);
  }
  return 0;
}

}  // namespace

void register_eval_judge(CLI::App& app, Context& ctx) {
  auto* group = command_group(app, "eval", "Evaluate instructions against the ground truth (paper section 5.2)");
  auto* cmd = group->add_subcommand(
      "judge", "Judge mode: the paper's three judge prompts per sample, sent to an OpenAI-compatible endpoint or "
               "written as JSONL for any multimodal judge; aggregates S = 0.4 Acc + 0.4 Comp + 0.2 Clar");
  auto a = std::make_shared<JudgeArgs>();
  add_config_args(cmd, a->config, false);
  cmd->add_option("--manifest", a->manifest, "Test manifest (JSONL: id, source, target, instruction, optional gt)")
      ->required();
  cmd->add_option("--predictions", a->predictions, "Predictions to judge (JSONL: id, instruction)")->required();
  cmd->add_option("--out", a->out, "Output directory (requests.jsonl, responses.jsonl, scores.jsonl, summary.json)")
      ->required();
  cmd->add_option("--endpoint", a->endpoint, "OpenAI-compatible chat-completions URL (judge.endpoint)");
  cmd->add_option("--model", a->model, "Judge model name (judge.model)");
  cmd->add_option("--api-key-env", a->api_key_env, "Environment variable holding the API key (judge.api_key_env)");
  cmd->add_option("--name", a->name, "Name of the evaluated model in the prompts (judge.candidate_name)");
  cmd->add_option("--concurrency", a->concurrency, "Requests in flight (judge.concurrency)");
  cmd->add_option("--timeout", a->timeout_s, "Per-request timeout in seconds (judge.timeout_s)");
  cmd->add_option("--max-attempts", a->max_attempts, "Attempts per request (judge.max_attempts)");
  cmd->add_option("--backoff", a->backoff_s, "First retry delay in seconds (judge.backoff_s; max 64x)");
  cmd->add_option("--replies", a->replies, "Score replies gathered elsewhere: JSONL {request_id, reply}");
  cmd->callback([&ctx, a, cmd] { ctx.action = [a, cmd] { return run_eval_judge(*a, cmd); }; });
}

}  // namespace ec::cli
