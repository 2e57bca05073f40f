// Helpers for the test suites: paths, temporary directories and running the CLI binary.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace ec::test {

std::filesystem::path source_dir();
std::filesystem::path binary_dir();
/// build/bin/editcaption
std::filesystem::path cli_path();
/// build/fixtures/<name>: reference outputs written by a python fixture (tools/reference/).
std::filesystem::path fixture_dir(const std::string& name);
/// The Python with the reference packages (EC_PYTHON), for tests that run a reference directly.
std::string python();

/// A fresh directory removed at destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "ec-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

/// Runs a command (argv, no shell) and captures stdout, stderr and the exit code.
CommandResult run_command(const std::vector<std::string>& argv, const std::filesystem::path& cwd = {});
/// Runs build/bin/editcaption with the given arguments.
CommandResult run_cli(const std::vector<std::string>& args, const std::filesystem::path& cwd = {});

void write_text(const std::filesystem::path& path, const std::string& text);
std::string read_text(const std::filesystem::path& path);

}  // namespace ec::test
