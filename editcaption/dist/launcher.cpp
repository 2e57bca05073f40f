#include "editcaption/dist/launcher.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "editcaption/core/check.h"
#include "editcaption/core/error.h"
#include "editcaption/core/log.h"
#include "editcaption/dist/store.h"

extern char** environ;

namespace ec::dist {

namespace {

using Clock = std::chrono::steady_clock;

constexpr int kForwarded[] = {SIGINT, SIGTERM, SIGUSR1, SIGUSR2, SIGHUP};

struct Child {
  int local_rank = 0;
  int rank = 0;
  pid_t pid = -1;
  bool running = false;
  int code = 0;
};

std::string describe(int code) {
  if (code > 128 && code < 128 + 65) return fmt::format("{} (killed by signal {}: {})", code, code - 128, strsignal(code - 128));
  for (auto c : {ExitCode::Internal, ExitCode::Usage, ExitCode::Input, ExitCode::DataPolicy, ExitCode::Checkpoint,
                 ExitCode::NonFinite, ExitCode::Comm, ExitCode::Preempted}) {
    if (static_cast<int>(c) == code) return fmt::format("{} ({})", code, exit_code_name(c));
  }
  return std::to_string(code);
}

// The environment of one rank: the launcher's own plus the torchrun variables.
std::vector<std::string> rank_env(const LaunchOptions& o, int port, int local_rank) {
  int world = o.nproc_per_node * o.nnodes;
  std::map<std::string, std::string> set{
      {"RANK", std::to_string(o.node_rank * o.nproc_per_node + local_rank)},
      {"WORLD_SIZE", std::to_string(world)},
      {"LOCAL_RANK", std::to_string(local_rank)},
      {"LOCAL_WORLD_SIZE", std::to_string(o.nproc_per_node)},
      {"GROUP_RANK", std::to_string(o.node_rank)},
      {"MASTER_ADDR", o.master_addr},
      {"MASTER_PORT", std::to_string(port)},
      {"TORCHELASTIC_USE_AGENT_STORE", "True"},
      {"TORCHELASTIC_RESTART_COUNT", "0"},
  };
  // As torchrun: one intra-op thread per rank unless the user chose otherwise.
  if (o.nproc_per_node > 1 && std::getenv("OMP_NUM_THREADS") == nullptr) set.emplace("OMP_NUM_THREADS", std::string(1, '1'));
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view kv(*e);
    std::string_view key = kv.substr(0, std::min(kv.size(), kv.find('=')));
    if (!set.count(std::string(key))) out.emplace_back(kv);
  }
  for (const auto& [k, v] : set) out.push_back(k + "=" + v);
  return out;
}

// Signals stay blocked in the launcher and are consumed with sigtimedwait: no handlers and no
// global state. The mask is restored when the launch ends.
class SignalMask {
 public:
  SignalMask() {
    sigemptyset(&set_);
    for (int s : kForwarded) sigaddset(&set_, s);
    sigaddset(&set_, SIGCHLD);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~SignalMask() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  const sigset_t& set() const { return set_; }
  const sigset_t& old() const { return old_; }

 private:
  sigset_t set_{}, old_{};
};

pid_t spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env, const sigset_t& mask,
            pid_t parent) {
  // Everything the child touches is prepared before fork: after it only async-signal-safe calls.
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) throw EC_USER_ERROR(Internal, "fork failed: {}", std::strerror(errno));
  if (pid == 0) {
    // Own process group: a terminal's Ctrl-C reaches the launcher only, which forwards it once.
    setpgid(0, 0);
    // A rank must not outlive a launcher that was killed outright.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    for (int s : kForwarded) signal(s, SIG_DFL);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &mask, nullptr);
    execvpe(cargv[0], cargv.data(), cenv.data());
    const char msg[] = "editcaption launch: cannot execute the rank's command\n";
    (void)!write(2, msg, sizeof(msg) - 1);
    _exit(127);
  }
  setpgid(pid, pid);
  return pid;
}

}  // namespace

int launch(const LaunchOptions& o) {
  EC_USER_CHECK(o.nproc_per_node >= 1, Usage, "--nproc-per-node must be >= 1, got {}", o.nproc_per_node);
  EC_USER_CHECK(o.nnodes >= 1, Usage, "--nnodes must be >= 1, got {}", o.nnodes);
  EC_USER_CHECK(o.node_rank >= 0 && o.node_rank < o.nnodes, Usage, "--node-rank {} is not in [0, {})", o.node_rank,
                o.nnodes);
  EC_USER_CHECK(o.master_port >= 0 && o.master_port <= 65535, Usage, "--master-port {} is not a port", o.master_port);
  EC_USER_CHECK(o.master_port != 0 || o.nnodes == 1, Usage, "--master-port 0 (any free port) needs --nnodes 1");
  EC_USER_CHECK(!o.command.empty(), Usage, "launch needs a command after --");

  SignalMask mask;
  std::unique_ptr<StoreServer> store;
  int port = o.master_port;
  if (o.node_rank == 0) {
    store = std::make_unique<StoreServer>(o.master_port, std::chrono::minutes(30));
    port = store->port();
  }
  int world = o.nproc_per_node * o.nnodes;
  log::info("launch: {} rank(s) on this node (node {} of {}, world size {}), rendezvous {}:{}", o.nproc_per_node,
            o.node_rank, o.nnodes, world, o.master_addr, port);

  std::vector<Child> children(o.nproc_per_node);
  for (int l = 0; l < o.nproc_per_node; ++l) {
    children[l].local_rank = l;
    children[l].rank = o.node_rank * o.nproc_per_node + l;
    children[l].pid = spawn(o.command, rank_env(o, port, l), mask.old(), getpid());
    children[l].running = true;
  }

  std::optional<size_t> failed;
  std::optional<Clock::time_point> kill_at;
  int forwarded = 0;
  auto running = [&] {
    int n = 0;
    for (const auto& c : children) n += c.running ? 1 : 0;
    return n;
  };
  auto signal_all = [&](int sig) {
    for (const auto& c : children) {
      if (c.running) kill(c.pid, sig);
    }
  };

  while (running() > 0) {
    timespec tick{0, 200 * 1000 * 1000};
    siginfo_t info{};
    int sig = sigtimedwait(&mask.set(), &info, &tick);
    if (sig > 0 && sig != SIGCHLD) {
      log::warn("launch: forwarding signal {} ({}) to {} rank(s)", sig, strsignal(sig), running());
      signal_all(sig);
      forwarded = sig;
    }
    // Reap every rank that ended. Within one batch a rank that failed for its own reason is
    // reported before ranks that only lost their peers (exit code 7).
    std::vector<size_t> ended;
    for (size_t i = 0; i < children.size(); ++i) {
      Child& c = children[i];
      if (!c.running) continue;
      int status = 0;
      pid_t r = waitpid(c.pid, &status, WNOHANG);
      if (r != c.pid) continue;
      c.running = false;
      c.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      ended.push_back(i);
    }
    std::stable_sort(ended.begin(), ended.end(), [&](size_t a, size_t b) {
      return (children[a].code == static_cast<int>(ExitCode::Comm)) < (children[b].code == static_cast<int>(ExitCode::Comm));
    });
    for (size_t i : ended) {
      const Child& c = children[i];
      if (c.code == 0) {
        log::debug("launch: rank {} finished", c.rank);
        continue;
      }
      if (!failed) {
        failed = i;
        log::error("launch: rank {} (local rank {}, pid {}) exited with code {}; stopping the other {} rank(s)",
                   c.rank, c.local_rank, c.pid, describe(c.code), running());
      } else {
        log::warn("launch: rank {} exited with code {}", c.rank, describe(c.code));
      }
    }
    if (failed && !kill_at && running() > 0) {
      signal_all(SIGTERM);
      kill_at = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(o.grace_s * 1000));
    }
    if (kill_at && Clock::now() >= *kill_at && running() > 0) {
      log::warn("launch: {} rank(s) still running {} s after SIGTERM: killing them", running(), o.grace_s);
      signal_all(SIGKILL);
      kill_at = Clock::time_point::max();
    }
  }

  if (!failed) {
    if (forwarded) log::info("launch: every rank exited cleanly after signal {}", forwarded);
    return 0;
  }
  const Child& c = children[*failed];
  log::error("launch: exiting with code {} of rank {}", describe(c.code), c.rank);
  return c.code;
}

}  // namespace ec::dist
