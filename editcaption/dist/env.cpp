#include "editcaption/dist/env.h"

#include <charconv>
#include <cstdlib>

#include "editcaption/core/check.h"

namespace ec::dist {

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

namespace {

int parse_int(const EnvLookup& env, const std::string& name, int lo, int hi) {
  auto value = env(name);
  EC_USER_CHECK(value.has_value(), Usage, "environment variable {} is not set (needed with the other launcher variables)",
                name);
  int out = 0;
  const char* b = value->data();
  const char* e = b + value->size();
  auto [ptr, ec] = std::from_chars(b, e, out);
  EC_USER_CHECK(ec == std::errc() && ptr == e && !value->empty(), Usage,
                "environment variable {}='{}' is not an integer", name, *value);
  EC_USER_CHECK(out >= lo && out <= hi, Usage, "environment variable {}={} must be in [{}, {}]", name, out, lo, hi);
  return out;
}

int optional_int(const EnvLookup& env, const std::string& name, int fallback, int lo, int hi) {
  return env(name) ? parse_int(env, name, lo, hi) : fallback;
}

void check_layout(const DistEnv& d, const char* names) {
  EC_USER_CHECK(d.rank < d.world_size, Usage, "rank {} is not below the world size {} ({})", d.rank, d.world_size,
                names);
  EC_USER_CHECK(d.local_rank < d.local_world_size, Usage, "local rank {} is not below the local world size {} ({})",
                d.local_rank, d.local_world_size, names);
  EC_USER_CHECK(d.local_world_size <= d.world_size, Usage, "local world size {} exceeds the world size {} ({})",
                d.local_world_size, d.world_size, names);
}

}  // namespace

std::string first_slurm_host(const std::string& nodelist) {
  // The first entry ends at the first comma outside brackets.
  std::string entry;
  int depth = 0;
  for (char c : nodelist) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) break;
    entry += c;
  }
  auto open = entry.find('[');
  if (open == std::string::npos) return entry;
  std::string prefix = entry.substr(0, open);
  auto close = entry.find(']', open);
  std::string ranges = entry.substr(open + 1, close == std::string::npos ? std::string::npos : close - open - 1);
  std::string first = ranges.substr(0, ranges.find(','));
  first = first.substr(0, first.find('-'));  // keeps the zero padding: "007-009" -> "007"
  std::string suffix = close == std::string::npos ? "" : entry.substr(close + 1);
  return prefix + first + suffix;
}

DistEnv read_dist_env(const EnvLookup& env) {
  DistEnv d;
  if (env("RANK") || env("WORLD_SIZE")) {
    d.source = "torchrun";
    d.world_size = parse_int(env, "WORLD_SIZE", 1, 1 << 20);
    d.rank = parse_int(env, "RANK", 0, 1 << 20);
    d.local_rank = optional_int(env, "LOCAL_RANK", d.rank, 0, 1 << 20);
    d.local_world_size = optional_int(env, "LOCAL_WORLD_SIZE", d.world_size, 1, 1 << 20);
    if (d.world_size > 1) {
      auto addr = env("MASTER_ADDR");
      EC_USER_CHECK(addr && !addr->empty(), Usage, "environment variable MASTER_ADDR is not set (WORLD_SIZE={})",
                    d.world_size);
      d.master_addr = *addr;
      d.master_port = parse_int(env, "MASTER_PORT", 1, 65535);
    }
    d.launcher_store = env("TORCHELASTIC_USE_AGENT_STORE").value_or("") == "True";
    d.attempt = optional_int(env, "TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 20);
    check_layout(d, "RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE");
    return d;
  }
  if (env("SLURM_PROCID") && env("SLURM_NTASKS")) {
    d.source = "slurm";
    d.world_size = parse_int(env, "SLURM_NTASKS", 1, 1 << 20);
    d.rank = parse_int(env, "SLURM_PROCID", 0, 1 << 20);
    d.local_rank = optional_int(env, "SLURM_LOCALID", 0, 0, 1 << 20);
    // SLURM_NTASKS_PER_NODE may read "4(x2)"; SLURM_TASKS_PER_NODE too. Only a plain number is used.
    d.local_world_size = d.world_size;
    for (const char* name : {"SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE"}) {
      auto v = env(name);
      if (!v) continue;
      int n = 0;
      auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
      if (ec == std::errc() && n > 0) {
        d.local_world_size = n;
        break;
      }
      (void)ptr;
    }
    d.local_world_size = std::max(d.local_world_size, d.local_rank + 1);
    if (auto addr = env("MASTER_ADDR")) {
      d.master_addr = *addr;
    } else if (auto nodes = env("SLURM_JOB_NODELIST")) {
      d.master_addr = first_slurm_host(*nodes);
    } else if (auto nodes2 = env("SLURM_NODELIST")) {
      d.master_addr = first_slurm_host(*nodes2);
    } else if (d.world_size > 1) {
      throw EC_USER_ERROR(Usage, "Slurm job without SLURM_JOB_NODELIST or MASTER_ADDR: cannot find the rendezvous host");
    }
    // A port derived from the job id keeps two jobs sharing a node apart (as in common Slurm setups).
    int fallback_port = 29500;
    if (auto job = env("SLURM_JOB_ID")) {
      long id = std::strtol(job->c_str(), nullptr, 10);
      fallback_port = 20000 + static_cast<int>(id % 20000);
    }
    d.master_port = optional_int(env, "MASTER_PORT", fallback_port, 1, 65535);
    check_layout(d, "SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID");
    return d;
  }
  return d;
}

}  // namespace ec::dist
