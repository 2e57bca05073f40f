// Is the current run allowed to continue a checkpoint? The stored resolved config is compared
// with the current one key by key; every difference must be allowed, by the built-in list of keys
// that cannot change training (logging, checkpoint cadence...) or by the user's
// `checkpoint.allow_config_changes`. A changed DPO reference model needs
// `checkpoint.allow_reference_change`. Anything else is refused with UserError(Checkpoint) naming
// each key with its old and new value and the setting that would allow it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ec::ckpt {

struct ConfigChange {
  std::string key;  ///< dotted path, e.g. "optim.lr"; list elements as "a.b[2]"
  nlohmann::json stored;   ///< null when the key is new
  nlohmann::json current;  ///< null when the key was removed
};

/// Differences between two config trees, by leaf key, sorted.
std::vector<ConfigChange> diff_configs(const nlohmann::json& stored, const nlohmann::json& current);

/// "a.b" matches "a.b" and everything under it ("a.b.c", "a.b[0]"); '*' matches any characters
/// within one dotted part ("data.*_workers", "*.log_level").
bool key_matches(std::string_view pattern, std::string_view key);

/// Keys no run depends on for exactness: logging, threads, where and how often to checkpoint.
const std::vector<std::string>& always_allowed_changes();

struct ResumeIdentity {
  nlohmann::json config;           ///< the resolved config
  std::string reference_identity;  ///< DPO reference identity, empty without one
};

struct CompatibilityOptions {
  std::vector<std::string> allow_config_changes;
  bool allow_reference_change = false;
};

/// Returns the (allowed) changes for the log; throws UserError(Checkpoint) for refused ones.
std::vector<ConfigChange> check_resume_compatible(const ResumeIdentity& stored, const ResumeIdentity& current,
                                                  const CompatibilityOptions& options);

}  // namespace ec::ckpt
