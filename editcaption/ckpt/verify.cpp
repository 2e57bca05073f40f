#include "editcaption/ckpt/verify.h"

#include "editcaption/core/error.h"
#include "editcaption/core/hash.h"

namespace ec::ckpt {
namespace fs = std::filesystem;

std::string VerifyReport::summary() const {
  if (problems.empty()) return "ok";
  std::string out;
  for (size_t i = 0; i < problems.size() && i < 5; ++i) out += (i ? "; " : "") + problems[i];
  if (problems.size() > 5) out += fmt::format("; and {} more", problems.size() - 5);
  return out;
}

VerifyReport verify_checkpoint(const fs::path& dir, VerifyLevel level) {
  VerifyReport report;
  report.dir = dir;
  report.level = level;
  std::string name = dir.filename().string();
  if (is_leftover_dir_name(name)) {
    report.problems.push_back(fmt::format(
        "'{}' is the temporary directory of a save that never finished (resume ignores it)", dir.string()));
    return report;
  }
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    report.problems.push_back(fmt::format("'{}' is not a directory", dir.string()));
    return report;
  }
  try {
    report.manifest = read_manifest(dir);
  } catch (const UserError& e) {
    report.problems.push_back(e.what());
    return report;
  }
  const Manifest& m = *report.manifest;
  auto step = parse_step_dir_name(name);
  if (step && *step != m.step) {
    report.problems.push_back(fmt::format("directory '{}' holds the manifest of step {}", name, m.step));
  }
  for (const auto& [path, entry] : m.files) {
    FileCheck check;
    check.path = path;
    check.expected_size = entry.size;
    check.expected_sha256 = entry.sha256;
    fs::path p = dir / path;
    if (!fs::is_regular_file(p, ec)) {
      check.problem = "missing";
    } else {
      check.actual_size = fs::file_size(p, ec);
      if (ec) {
        check.problem = fmt::format("unreadable: {}", ec.message());
      } else if (*check.actual_size != entry.size) {
        check.problem = fmt::format("size {} bytes, the manifest recorded {} (truncated or overwritten)",
                                    *check.actual_size, entry.size);
      } else if (level == VerifyLevel::Full) {
        try {
          check.actual_sha256 = sha256_file(p);
          if (check.actual_sha256 != entry.sha256) {
            check.problem = fmt::format("SHA-256 {} differs from the recorded {} (the content changed)",
                                        check.actual_sha256.substr(0, 12), entry.sha256.substr(0, 12));
          }
        } catch (const UserError& e) {
          check.problem = e.what();
        }
      }
    }
    if (!check.problem.empty()) report.problems.push_back(fmt::format("{}: {}", path, check.problem));
    report.files.push_back(std::move(check));
  }
  // Files nobody listed are not an error (the manifest alone defines the checkpoint), but worth a word.
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    std::string rel = fs::relative(entry.path(), dir).generic_string();
    if (rel != kManifestFile && !m.files.count(rel)) report.notes.push_back(fmt::format("unlisted file {}", rel));
  }
  return report;
}

}  // namespace ec::ckpt
