// Helpers of the multi-process suites (tests/dist, tests/dist_fault): spawning ranks with the
// launcher variables, waiting with a deadline, and comparing the tensors the workers write.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/common/test_util.h"

extern char** environ;

namespace ec::test {

inline std::string worker() { return (binary_dir() / "bin" / "dist_worker").string(); }

/// A free TCP port (bound then released; good enough for tests on one machine).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  ::close(fd);
  return port;
}

struct Proc {
  pid_t pid = -1;
  std::filesystem::path out, err;
  int code = -1;
  double seconds = 0;
  std::string stdout_text() const { return read_text(out); }
  std::string stderr_text() const { return read_text(err); }
};

/// Starts argv with extra environment variables; stdout/stderr go to files in `dir`.
inline Proc start(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                  const std::filesystem::path& dir, const std::string& tag) {
  Proc p;
  p.out = dir / (tag + ".out");
  p.err = dir / (tag + ".err");
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    if (!env.count(kv.substr(0, kv.find('=')))) envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, p.out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, p.err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (posix_spawnp(&p.pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data()) != 0) p.pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return p;
}

/// Waits up to `timeout_s`; kills the process (SIGKILL) when it is still running then.
/// Returns false on timeout.
inline bool wait_for(Proc& p, double timeout_s) {
  auto t0 = std::chrono::steady_clock::now();
  while (true) {
    int status = 0;
    pid_t r = waitpid(p.pid, &status, WNOHANG);
    p.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (r == p.pid) {
      p.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      return true;
    }
    if (p.seconds > timeout_s) {
      kill(p.pid, SIGKILL);
      waitpid(p.pid, &status, 0);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

/// Ranks spawned directly with torchrun-style variables (no launcher: rank 0 hosts the store).
inline std::vector<Proc> start_ranks(int world, const std::vector<std::string>& argv, const std::filesystem::path& dir) {
  int port = free_port();
  std::vector<Proc> procs;
  for (int r = 0; r < world; ++r) {
    procs.push_back(start(argv,
                          {{"RANK", std::to_string(r)},
                           {"WORLD_SIZE", std::to_string(world)},
                           {"LOCAL_RANK", std::to_string(r)},
                           {"LOCAL_WORLD_SIZE", std::to_string(world)},
                           {"MASTER_ADDR", "127.0.0.1"},
                           {"MASTER_PORT", std::to_string(port)},
                           {"OMP_NUM_THREADS", "1"}},
                          dir, "rank" + std::to_string(r)));
  }
  return procs;
}

/// name -> values, from the files dist_worker writes.
inline std::map<std::string, std::vector<double>> read_tensors(const std::filesystem::path& path) {
  std::map<std::string, std::vector<double>> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::string name;
    size_t n = 0;
    ss >> name >> n;
    std::vector<double> v(n);
    for (auto& x : v) ss >> x;
    out[name] = std::move(v);
  }
  return out;
}

/// Every tensor of `a` matches `b` within tol * max(1, |b|).
inline void expect_close(const std::filesystem::path& a, const std::filesystem::path& b, double tol) {
  auto ta = read_tensors(a), tb = read_tensors(b);
  ASSERT_FALSE(ta.empty()) << a;
  ASSERT_EQ(ta.size(), tb.size()) << a << " vs " << b;
  for (const auto& [name, va] : ta) {
    auto it = tb.find(name);
    ASSERT_NE(it, tb.end()) << name;
    ASSERT_EQ(va.size(), it->second.size()) << name;
    double worst = 0;
    for (size_t i = 0; i < va.size(); ++i) {
      worst = std::max(worst, std::abs(va[i] - it->second[i]) / std::max(1.0, std::abs(it->second[i])));
    }
    EXPECT_LE(worst, tol) << name << " differs";
  }
}

/// Runs dist_worker in one process (world size 1) and returns its output directory's path.
inline CommandResult run_single(const std::vector<std::string>& args) {
  std::vector<std::string> argv{worker()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv);
}

/// Runs dist_worker under `editcaption launch --nproc-per-node n --master-port 0`.
inline CommandResult run_launched(int n, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"launch", "--nproc-per-node", std::to_string(n), "--master-port", "0", "--",
                                worker()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_cli(argv);
}

}  // namespace ec::test
