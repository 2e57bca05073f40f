#include "tests/common/test_util.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace ec::test {
namespace fs = std::filesystem;

fs::path source_dir() {
  if (const char* s = std::getenv("EC_SOURCE_DIR")) return s;
  return EC_TEST_SOURCE_DIR;
}

fs::path binary_dir() {
  if (const char* s = std::getenv("EC_BINARY_DIR")) return s;
  return EC_TEST_BINARY_DIR;
}

fs::path cli_path() { return binary_dir() / "bin" / "editcaption"; }

fs::path fixture_dir(const std::string& name) {
  const char* s = std::getenv("EC_FIXTURE_DIR");
  return (s ? fs::path(s) : binary_dir() / "fixtures") / name;
}

std::string python() {
  const char* s = std::getenv("EC_PYTHON");
  // gtest_discover_tests passes only the first ENVIRONMENT entry on to the tests, so the
  // configured interpreter is compiled in as the fallback.
  return s ? s : EC_TEST_PYTHON;
}

TempDir::TempDir(const std::string& tag) {
  std::random_device rd;
  path_ = fs::temp_directory_path() / (tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

CommandResult run_command(const std::vector<std::string>& argv, const fs::path& cwd) {
  TempDir tmp("ec-cmd");
  fs::path out_path = tmp / "stdout", err_path = tmp / "stderr";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + argv[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = read_text(out_path);
  r.err = read_text(err_path);
  return r;
}

CommandResult run_cli(const std::vector<std::string>& args, const fs::path& cwd) {
  std::vector<std::string> argv{cli_path().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, cwd);
}

void write_text(const fs::path& path, const std::string& text) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << text;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace ec::test
