#include "editcaption/data/bad_sample_policy.h"

#include <cmath>

#include "editcaption/core/check.h"
#include "editcaption/core/log.h"
#include "editcaption/core/strings.h"
#include "editcaption/data/rng.h"

namespace ec::data {

BadSamplePolicy::BadSamplePolicy(const BadSampleConfig& config, uint64_t seed, int64_t dataset_size)
    : config_(config), seed_(seed), dataset_size_(dataset_size) {
  EC_CHECK(dataset_size_ > 0, "bad-sample policy over an empty dataset");
}

int64_t BadSamplePolicy::replacement(int64_t epoch, int64_t index, int64_t attempt) const {
  Rng rng(stream_key({seed_, kReplacementStream, static_cast<uint64_t>(epoch), static_cast<uint64_t>(index),
                      static_cast<uint64_t>(attempt)}));
  if (dataset_size_ == 1) return 0;
  // Uniform over the other samples.
  int64_t r = static_cast<int64_t>(rng.below(static_cast<uint64_t>(dataset_size_ - 1)));
  return r >= index ? r + 1 : r;
}

std::string BadSamplePolicy::reason_key(const std::string& reason) {
  // Skip location prefixes ("line 12 [id x]: ", "/data/a.jpg: "): segments without spaces
  // (paths) or starting with "line ".
  std::string_view rest(reason);
  while (true) {
    size_t sep = rest.find(": ");
    if (sep == std::string_view::npos) break;
    std::string_view head = rest.substr(0, sep);
    if (head.find(' ') != std::string_view::npos && !starts_with(head, "line ")) break;
    rest = rest.substr(sep + 2);
  }
  size_t cut = rest.find_first_of(":;(");
  std::string key(trim(rest.substr(0, cut)));
  return key.empty() ? std::string("unknown") : key;
}

void BadSamplePolicy::record_failure(const BadSampleEvent& e, int64_t epoch_samples) {
  if (e.epoch != epoch_) {
    epoch_ = e.epoch;
    epoch_failures_ = 0;
  }
  ++total_;
  ++epoch_failures_;
  ++consecutive_;
  ++by_reason_[reason_key(e.reason)];
  if (logged_ < config_.log_first) {
    ++logged_;
    log::warn("bad sample {} (epoch {}, attempt {}): {}; replaced by sample {}", e.index, e.epoch, e.attempt, e.reason,
              e.attempt + 1 <= config_.max_attempts ? std::to_string(replacement(e.epoch, e.index, e.attempt + 1)) : "-");
    if (logged_ == config_.log_first) log::warn("further bad samples are counted but not logged (data.bad_samples.log_first)");
  } else {
    log::debug("bad sample {} (epoch {}, attempt {}): {}", e.index, e.epoch, e.attempt, e.reason);
  }
  if (config_.strict) {
    throw EC_USER_ERROR(DataPolicy, "bad sample (data.bad_samples.strict): {}", e.reason);
  }
  const int64_t allowed = static_cast<int64_t>(std::ceil(config_.max_fraction * static_cast<double>(epoch_samples)));
  if (epoch_failures_ > allowed) {
    throw EC_USER_ERROR(DataPolicy,
                        "too many bad samples: {} in epoch {} of {} samples on this rank (data.bad_samples.max_fraction "
                        "{} allows {}); {}. Last: {}. Run `editcaption data check` on the manifest.",
                        epoch_failures_, e.epoch, epoch_samples, config_.max_fraction, allowed, summary(), e.reason);
  }
  if (consecutive_ >= config_.max_consecutive) {
    throw EC_USER_ERROR(DataPolicy,
                        "{} sample attempts failed in a row (data.bad_samples.max_consecutive); {}. Last: {}",
                        consecutive_, summary(), e.reason);
  }
  if (e.attempt + 1 > config_.max_attempts) {
    throw EC_USER_ERROR(DataPolicy, "sample {} and {} replacements all failed (data.bad_samples.max_attempts); {}",
                        e.index, config_.max_attempts, summary());
  }
}

std::string BadSamplePolicy::summary() const {
  std::vector<std::string> parts;
  for (const auto& [k, v] : by_reason_) parts.push_back(fmt::format("{} {}", k, v));
  return fmt::format("{} bad sample{} ({})", total_, total_ == 1 ? "" : "s", join(parts, ", "));
}

nlohmann::ordered_json BadSamplePolicy::state() const {
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["total"] = total_;
  j["consecutive"] = consecutive_;
  j["epoch"] = epoch_;
  j["epoch_failures"] = epoch_failures_;
  j["logged"] = logged_;
  j["by_reason"] = by_reason_;
  return j;
}

void BadSamplePolicy::load_state(const nlohmann::json& j) {
  try {
    EC_USER_CHECK(j.at("version").get<int>() == 1, Checkpoint, "unsupported bad-sample state version");
    total_ = j.at("total").get<int64_t>();
    consecutive_ = j.at("consecutive").get<int64_t>();
    epoch_ = j.at("epoch").get<int64_t>();
    epoch_failures_ = j.at("epoch_failures").get<int64_t>();
    logged_ = j.at("logged").get<int64_t>();
    by_reason_ = j.at("by_reason").get<std::map<std::string, int64_t>>();
  } catch (const nlohmann::json::exception& e) {
    throw EC_USER_ERROR(Checkpoint, "malformed bad-sample state: {}", e.what());
  }
}

}  // namespace ec::data
