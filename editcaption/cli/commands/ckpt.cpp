// `editcaption ckpt verify DIR` and `editcaption ckpt inspect DIR`: check checkpoints the way
// `resume: auto` does, and show what one holds. DIR is one checkpoint (step_NNNNNNNN/) or a
// checkpoint root holding several.
#include <chrono>
#include <ctime>
#include <iostream>

#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/ckpt/discovery.h"
#include "editcaption/ckpt/manager.h"
#include "editcaption/ckpt/manifest.h"
#include "editcaption/ckpt/verify.h"
#include "editcaption/cli/command.h"
#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"

namespace ec::cli {
namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

namespace {

struct CkptArgs {
  std::string dir;
  std::string level = "full";
  bool json = false;
};

bool is_single_checkpoint(const fs::path& dir) {
  std::string name = dir.filename().string();
  if (name.empty()) name = dir.parent_path().filename().string();
  return fs::exists(dir / ckpt::kManifestFile) || ckpt::parse_step_dir_name(name) || ckpt::is_leftover_dir_name(name);
}

json report_json(const ckpt::VerifyReport& r) {
  json files = json::array();
  for (const auto& f : r.files) {
    files.push_back({{"path", f.path},
                     {"size", f.actual_size ? json(*f.actual_size) : json(nullptr)},
                     {"expected_size", f.expected_size},
                     {"sha256", f.expected_sha256},
                     {"ok", f.problem.empty()},
                     {"problem", f.problem}});
  }
  json out = {{"dir", r.dir.string()}, {"ok", r.ok()}, {"problems", r.problems}, {"notes", r.notes}, {"files", files}};
  if (r.manifest) out["manifest"] = ckpt::to_json(*r.manifest);
  return out;
}

std::string file_status(const ckpt::FileCheck& f, ckpt::VerifyLevel level) {
  if (!f.problem.empty()) return "BAD: " + f.problem;
  return level == ckpt::VerifyLevel::Full ? "ok (sha256)" : "ok (size)";
}

void print_report(const ckpt::VerifyReport& r, bool details) {
  std::cout << r.dir.string() << ": " << (r.ok() ? "OK" : "FAILED") << "\n";
  if (r.manifest && details) {
    const auto& m = *r.manifest;
    std::time_t t = static_cast<std::time_t>(m.created_unix);
    char when[64] = "?";
    std::strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&t));
    std::cout << fmt::format("  format {} (editcaption {}), created {}\n", m.format_version, m.editcaption_version, when)
              << fmt::format("  step {}  epoch {}  micro_step {}  consumed samples {}  tokens {}\n", m.step,
                             m.header.epoch, m.header.micro_step, m.header.consumed_samples, m.header.consumed_tokens)
              << fmt::format("  world size {}  config {}  reference {}\n", m.world_size,
                             m.header.config_hash.empty() ? "-" : m.header.config_hash.substr(0, 16),
                             m.header.reference_identity.empty() ? "-" : m.header.reference_identity.substr(0, 16));
    if (!m.header.extra.empty()) std::cout << "  extra " << m.header.extra.dump() << "\n";
  }
  if (details) {
    uint64_t total = 0;
    for (const auto& f : r.files) {
      total += f.expected_size;
      std::cout << fmt::format("  {:<44} {:>10}  {}  {}\n", f.path, human_bytes(static_cast<double>(f.expected_size)),
                               f.expected_sha256.substr(0, 16), file_status(f, r.level));
    }
    if (!r.files.empty()) std::cout << fmt::format("  {} files, {}\n", r.files.size(), human_bytes(double(total)));
  }
  for (const auto& p : r.problems) std::cout << "  problem: " << p << "\n";
  for (const auto& n : r.notes) std::cout << "  note: " << n << "\n";
}

int run_ckpt(const CkptArgs& args, bool details) {
  ckpt::VerifyLevel level = config::parse_enum<ckpt::VerifyLevel>(args.level, "--level");
  fs::path dir = args.dir;
  EC_USER_CHECK(fs::exists(dir), Checkpoint, "'{}' does not exist", dir.string());
  if (is_single_checkpoint(dir)) {
    ckpt::VerifyReport r = ckpt::verify_checkpoint(dir, level);
    if (args.json) {
      std::cout << report_json(r).dump(2) << "\n";
    } else {
      print_report(r, details);
    }
    if (!r.ok()) throw EC_USER_ERROR(Checkpoint, "checkpoint '{}' is not usable: {}", dir.string(), r.summary());
    return 0;
  }
  ckpt::DirectoryScan scan = ckpt::scan_checkpoints(dir);
  EC_USER_CHECK(!scan.checkpoints.empty() || !scan.leftovers.empty(), Checkpoint,
                "'{}' holds no checkpoints (no step_NNNNNNNN directories and no manifest.json)", dir.string());
  json out = {{"root", dir.string()}, {"latest", scan.latest ? json(*scan.latest) : json(nullptr)}};
  json list = json::array();
  std::vector<std::string> failed;
  std::optional<std::string> resume;
  for (auto it = scan.checkpoints.rbegin(); it != scan.checkpoints.rend(); ++it) {
    ckpt::VerifyReport r = ckpt::verify_checkpoint(it->dir, level);
    if (r.ok() && !resume) resume = it->dir.filename().string();
    if (!r.ok()) failed.push_back(fmt::format("{}: {}", it->dir.filename().string(), r.summary()));
    if (args.json) {
      list.push_back(report_json(r));
    } else {
      print_report(r, details);
    }
  }
  for (const auto& p : scan.leftovers) {
    std::string msg = fmt::format("{}: temporary directory of a save or deletion that never finished (ignored by resume)",
                                  p.string());
    if (args.json) {
      out["leftovers"].push_back(p.string());
    } else {
      std::cout << msg << "\n";
    }
  }
  if (args.json) {
    out["checkpoints"] = list;
    out["resume_auto"] = resume ? json(*resume) : json(nullptr);
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << "latest: " << (scan.latest ? *scan.latest : std::string("(none)")) << "\n"
              << "resume auto would use: " << (resume ? *resume : std::string("nothing usable")) << "\n";
  }
  if (!failed.empty()) {
    throw EC_USER_ERROR(Checkpoint, "{} of {} checkpoint(s) in '{}' failed verification:\n  {}", failed.size(),
                        scan.checkpoints.size(), dir.string(), join(failed, "\n  "));
  }
  return 0;
}

struct BenchArgs {
  std::string dir;
  double size_mib = 512;
  int tensors = 16;
  int repeats = 3;
};

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Save / verify / load throughput of the checkpoint protocol on synthetic state (one rank).
int run_bench(const BenchArgs& args) {
  EC_USER_CHECK(args.size_mib > 0 && args.tensors > 0 && args.repeats > 0, Usage, "sizes and counts must be > 0");
  fs::path root = fs::path(args.dir) / "ckpt-bench";
  EC_USER_CHECK(!fs::exists(root), Usage, "'{}' exists; pick an empty place", root.string());
  int64_t per_tensor = static_cast<int64_t>(args.size_mib * 1024 * 1024 / 4 / args.tensors);
  ckpt::RankState state;
  for (int i = 0; i < args.tensors; ++i) {
    state.tensors["model"].tensors.emplace_back(fmt::format("w{}", i), at::randn({per_tensor}));
  }
  state.json["cursor"] = {{"position", 1}};
  double mib = static_cast<double>(per_tensor) * 4 * args.tensors / (1024.0 * 1024.0);
  auto comm = std::make_shared<ckpt::SingleProcessCoordinator>();
  auto report = [&](const char* what, double s) {
    std::cout << fmt::format("{:<34} {:8.3f} s  {:8.0f} MiB/s\n", what, s, mib / s);
  };
  std::cout << fmt::format("checkpoint bench: {:.0f} MiB in {} tensors under '{}', best of {}\n", mib, args.tensors,
                           root.string(), args.repeats);
  for (bool async : {false, true}) {
    ckpt::CheckpointConfig cfg;
    cfg.async = async;
    cfg.keep_last = 2;
    ckpt::CheckpointManager mgr(cfg, root, comm, FaultPlan{});
    double best_return = 1e30, best_total = 1e30;
    for (int r = 0; r < args.repeats; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      ckpt::CheckpointHeader h;
      h.step = (async ? 1000 : 0) + r + 1;
      mgr.save(h, state);
      best_return = std::min(best_return, seconds_since(t0));
      mgr.wait();
      best_total = std::min(best_total, seconds_since(t0));
    }
    if (async) {
      report("async save: snapshot (blocking)", best_return);
      report("async save: until committed", best_total);
    } else {
      report("sync save (write+fsync+sha256)", best_total);
    }
  }
  auto latest = ckpt::find_resume_checkpoint(root, ckpt::VerifyLevel::Sizes);
  double best_verify = 1e30, best_load = 1e30;
  for (int r = 0; r < args.repeats; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    auto v = ckpt::verify_checkpoint(latest->dir, ckpt::VerifyLevel::Full);
    EC_CHECK(v.ok(), "bench checkpoint failed verification: {}", v.summary());
    best_verify = std::min(best_verify, seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    ckpt::Checkpoint c(latest->dir);
    double sum = 0;
    ckpt::RankState loaded = c.load(0);
    for (auto& [name, t] : loaded.tensors["model"].tensors) sum += t.sum().item<double>();
    best_load = std::min(best_load, seconds_since(t0));
    if (sum == 0.12345) std::cout << "";  // keep the reads
  }
  report("verify (sha256 of every file)", best_verify);
  report("load (mmap views, read once)", best_load);
  std::error_code ec;
  fs::remove_all(root, ec);
  std::cout << "(the page cache holds recent files: reads measure memory, not the disk)\n";
  return 0;
}

}  // namespace

void register_ckpt(CLI::App& app, Context& ctx) {
  auto* cmd = app.add_subcommand("ckpt", "Verify and inspect checkpoints");
  cmd->require_subcommand(1);
  for (bool inspect : {false, true}) {
    auto* sub = inspect ? cmd->add_subcommand("inspect", "Show a checkpoint's manifest, files, sizes and digest status")
                        : cmd->add_subcommand("verify", "Verify a checkpoint (or every checkpoint under a root) as "
                                                        "`resume: auto` does; exit code 5 if one fails");
    auto args = std::make_shared<CkptArgs>();
    sub->add_option("DIR", args->dir, "A checkpoint directory (step_NNNNNNNN) or a checkpoint root")->required();
    sub->add_option("--level", args->level, "full (SHA-256 of every file) or sizes");
    sub->add_flag("--json", args->json, "Print JSON");
    sub->callback([&ctx, args, inspect] { ctx.action = [args, inspect] { return run_ckpt(*args, inspect); }; });
  }
  auto* bench = cmd->add_subcommand("bench", "Measure save (sync and async), verify and load throughput");
  auto bargs = std::make_shared<BenchArgs>();
  bench->add_option("--dir", bargs->dir, "Where to write (a ckpt-bench/ directory is created and removed)")->required();
  bench->add_option("--size-mib", bargs->size_mib, "State size in MiB (float32 tensors)");
  bench->add_option("--tensors", bargs->tensors, "Number of tensors");
  bench->add_option("--repeats", bargs->repeats, "Repetitions (the best is reported)");
  bench->callback([&ctx, bargs] { ctx.action = [bargs] { return run_bench(*bargs); }; });
}

}  // namespace ec::cli
