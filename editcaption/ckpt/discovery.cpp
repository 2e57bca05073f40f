#include "editcaption/ckpt/discovery.h"

#include <algorithm>

#include "editcaption/ckpt/manifest.h"
#include "editcaption/ckpt/verify.h"
#include "editcaption/core/check.h"
#include "editcaption/core/fs.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"

namespace ec::ckpt {
namespace fs = std::filesystem;
using json = nlohmann::json;

DirectoryScan scan_checkpoints(const fs::path& root) {
  DirectoryScan scan;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return scan;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    std::string name = entry.path().filename().string();
    if (!entry.is_directory()) continue;
    if (auto step = parse_step_dir_name(name)) {
      scan.checkpoints.push_back({entry.path(), *step});
    } else if (is_leftover_dir_name(name)) {
      scan.leftovers.push_back(entry.path());
    }
  }
  if (ec) throw EC_USER_ERROR(Checkpoint, "cannot list checkpoint directory '{}': {}", root.string(), ec.message());
  std::sort(scan.checkpoints.begin(), scan.checkpoints.end(),
            [](const CheckpointDir& a, const CheckpointDir& b) { return a.step < b.step; });
  std::sort(scan.leftovers.begin(), scan.leftovers.end());
  fs::path latest = root / kLatestFile;
  if (fs::is_regular_file(latest, ec)) {
    try {
      scan.latest = std::string(trim(read_file(latest)));
    } catch (const UserError&) {
      scan.latest = "";
    }
  }
  return scan;
}

std::optional<ResumeChoice> find_resume_checkpoint(const fs::path& root, VerifyLevel level) {
  DirectoryScan scan = scan_checkpoints(root);
  for (const fs::path& p : scan.leftovers) {
    log::warn("checkpoint: ignoring '{}', left by a save or deletion that did not finish", p.string());
  }
  if (scan.checkpoints.empty()) return std::nullopt;
  ResumeChoice choice;
  for (auto it = scan.checkpoints.rbegin(); it != scan.checkpoints.rend(); ++it) {
    VerifyReport report = verify_checkpoint(it->dir, level);
    if (report.ok()) {
      choice.dir = it->dir;
      choice.step = it->step;
      if (!choice.rejected.empty()) {
        log::warn("checkpoint: FALLING BACK to '{}' (step {}) because {} newer checkpoint(s) failed verification",
                  it->dir.string(), it->step, choice.rejected.size());
      }
      if (scan.latest && *scan.latest != it->dir.filename().string()) {
        log::warn("checkpoint: '{}' names '{}', resuming from '{}' instead", (root / kLatestFile).string(),
                  *scan.latest, it->dir.filename().string());
      }
      return choice;
    }
    std::string why = fmt::format("{}: {}", it->dir.filename().string(), report.summary());
    log::warn("checkpoint: REJECTED {}", why);
    choice.rejected.push_back(std::move(why));
  }
  throw EC_USER_ERROR(Checkpoint, "no usable checkpoint in '{}': all {} failed verification:\n  {}", root.string(),
                      choice.rejected.size(), join(choice.rejected, "\n  "));
}

std::optional<ResumeChoice> resolve_resume(const std::string& spec, const fs::path& root, VerifyLevel level) {
  if (spec == "none") return std::nullopt;
  if (spec == "auto") return find_resume_checkpoint(root, level);
  fs::path dir = spec;
  VerifyReport report = verify_checkpoint(dir, level);
  if (!report.ok()) {
    throw EC_USER_ERROR(Checkpoint, "cannot resume from '{}': {}", dir.string(), report.summary());
  }
  return ResumeChoice{dir, report.manifest->step, {}};
}

std::optional<ResumeChoice> resolve_resume(const std::string& spec, const fs::path& root, VerifyLevel level,
                                           Coordinator& comm) {
  json decision;
  if (comm.rank() == 0) {
    try {
      auto choice = resolve_resume(spec, root, level);
      decision = choice ? json{{"dir", choice->dir.string()}, {"step", choice->step}, {"rejected", choice->rejected}}
                        : json{{"none", true}};
    } catch (const UserError& e) {
      decision = {{"error", e.what()}, {"code", static_cast<int>(e.code())}};
    }
  }
  decision = json::parse(comm.broadcast(decision.dump(), 0));
  if (decision.contains("error")) {
    throw UserError(decision["error"].get<std::string>(), static_cast<ExitCode>(decision["code"].get<int>()));
  }
  if (decision.contains("none")) return std::nullopt;
  return ResumeChoice{decision["dir"].get<std::string>(), decision["step"].get<int64_t>(),
                      decision["rejected"].get<std::vector<std::string>>()};
}

}  // namespace ec::ckpt
