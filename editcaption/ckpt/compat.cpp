#include "editcaption/ckpt/compat.h"

#include <algorithm>

#include "editcaption/core/check.h"
#include "editcaption/core/strings.h"

namespace ec::ckpt {
using json = nlohmann::json;

namespace {

void flatten(const json& j, const std::string& prefix, std::map<std::string, json>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto& [k, v] : j.items()) flatten(v, prefix.empty() ? k : prefix + "." + k, out);
  } else if (j.is_array() && !j.empty()) {
    for (size_t i = 0; i < j.size(); ++i) flatten(j[i], fmt::format("{}[{}]", prefix, i), out);
  } else {
    out[prefix] = j;
  }
}

// '*' within one part: glob over characters other than '.'.
bool glob_part(std::string_view p, std::string_view s) {
  if (p.empty()) return s.empty();
  if (p.front() == '*') {
    for (size_t i = 0; i <= s.size(); ++i) {
      if (glob_part(p.substr(1), s.substr(i))) return true;
      if (i < s.size() && s[i] == '.') break;
    }
    return false;
  }
  return !s.empty() && p.front() == s.front() && glob_part(p.substr(1), s.substr(1));
}

std::string brief(const json& v) {
  if (v.is_null()) return "(absent)";
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 60) + "..." : s;
}

}  // namespace

std::vector<ConfigChange> diff_configs(const json& stored, const json& current) {
  std::map<std::string, json> a, b;
  flatten(stored, "", a);
  flatten(current, "", b);
  std::vector<ConfigChange> out;
  for (const auto& [k, v] : a) {
    auto it = b.find(k);
    if (it == b.end()) {
      out.push_back({k, v, nullptr});
    } else if (it->second != v) {
      out.push_back({k, v, it->second});
    }
  }
  for (const auto& [k, v] : b) {
    if (!a.count(k)) out.push_back({k, nullptr, v});
  }
  std::sort(out.begin(), out.end(), [](const ConfigChange& x, const ConfigChange& y) { return x.key < y.key; });
  return out;
}

bool key_matches(std::string_view pattern, std::string_view key) {
  // Try the pattern against the key and against each ancestor of it ("a.b" covers "a.b.c").
  for (size_t end = key.size();;) {
    std::string_view prefix = key.substr(0, end);
    if (glob_part(pattern, prefix)) return true;
    size_t cut = prefix.find_last_of(".[");
    if (cut == std::string_view::npos || cut == 0) return false;
    end = cut;
  }
}

const std::vector<std::string>& always_allowed_changes() {
  static const std::vector<std::string> keys = {
      "run.log_level", "run.threads", "run.name", "run.output_dir",
      "checkpoint.dir", "checkpoint.interval_steps", "checkpoint.keep_last", "checkpoint.keep_every",
      "checkpoint.async", "checkpoint.resume", "checkpoint.verify", "checkpoint.allow_config_changes",
      "checkpoint.allow_reference_change",
      // Where a run stops, how often it logs and validates, and how long collectives may wait
      // change nothing in the trained values.
      "train.stop_at_step", "train.time_budget_s", "train.log_every", "train.eval_every", "train.eval_batches",
      "data.val", "data.loader", "dist.timeout_s", "dist.first_step_timeout_s", "dist.init_timeout_s",
      "dist.heartbeat_s", "eval", "judge", "generation", "synth", "ablate", "demo",
  };
  return keys;
}

std::vector<ConfigChange> check_resume_compatible(const ResumeIdentity& stored, const ResumeIdentity& current,
                                                  const CompatibilityOptions& options) {
  std::vector<std::string> refused;
  std::string first_refused_key;
  if (stored.reference_identity != current.reference_identity && !options.allow_reference_change) {
    refused.push_back(fmt::format("the DPO reference model: checkpoint '{}', now '{}' (allow with "
                                  "checkpoint.allow_reference_change: true)",
                                  stored.reference_identity, current.reference_identity));
  }
  std::vector<ConfigChange> changes = diff_configs(stored.config, current.config);
  std::vector<ConfigChange> allowed;
  for (const ConfigChange& c : changes) {
    auto matches = [&](const std::string& p) { return key_matches(p, c.key); };
    const auto& builtin = always_allowed_changes();
    if (std::any_of(builtin.begin(), builtin.end(), matches) ||
        std::any_of(options.allow_config_changes.begin(), options.allow_config_changes.end(), matches)) {
      allowed.push_back(c);
    } else {
      refused.push_back(fmt::format("{}: {} -> {}", c.key, brief(c.stored), brief(c.current)));
      if (first_refused_key.empty()) first_refused_key = c.key;
    }
  }
  if (!refused.empty()) {
    std::string hint;
    if (!first_refused_key.empty()) {
      hint = fmt::format("\nIf this is intended, list the keys that may change in checkpoint.allow_config_changes "
                         "(e.g. \"{}\").",
                         first_refused_key);
    }
    throw EC_USER_ERROR(Checkpoint,
                        "resume refused: the run differs from the checkpoint in {} setting(s) that change training:\n"
                        "  {}{}",
                        refused.size(), join(refused, "\n  "), hint);
  }
  return allowed;
}

}  // namespace ec::ckpt
