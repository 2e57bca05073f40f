#include "editcaption/data/sampler.h"

#include <algorithm>
#include <numeric>

#include "editcaption/core/check.h"
#include "editcaption/core/hash.h"
#include "editcaption/data/rng.h"

namespace ec::data {

void SamplerLayout::validate() const {
  EC_USER_CHECK(micro_batch_size > 0 && world_size > 0 && rank >= 0 && rank < world_size, Usage,
                "invalid data-parallel layout: micro batch {}, rank {} of {}", micro_batch_size, rank, world_size);
  EC_USER_CHECK(global_batch_size > 0 && global_batch_size % (micro_batch_size * world_size) == 0, Usage,
                "the global batch size ({}) must be a multiple of micro batch size x data-parallel ranks ({} x {})",
                global_batch_size, micro_batch_size, world_size);
}

Sampler::Sampler(int64_t dataset_size, const SamplerConfig& config, uint64_t seed, const SamplerLayout& layout,
                 std::vector<int64_t> lengths)
    : dataset_size_(dataset_size), config_(config), seed_(seed), layout_(layout), lengths_(std::move(lengths)) {
  layout_.validate();
  EC_USER_CHECK(dataset_size_ > 0, Input, "the dataset is empty");
  if (config_.bucket_by_length) {
    EC_CHECK(static_cast<int64_t>(lengths_.size()) == dataset_size_, "bucket_by_length needs {} lengths, got {}",
             dataset_size_, lengths_.size());
  }
  const int64_t G = layout_.global_batch_size;
  steps_per_epoch_ = config_.drop_last ? dataset_size_ / G : (dataset_size_ + G - 1) / G;
  EC_USER_CHECK(steps_per_epoch_ > 0, Usage,
                "the dataset has {} samples, fewer than one global batch ({}) with data.sampler.drop_last", dataset_size_, G);
}

std::vector<int64_t> Sampler::epoch_order(int64_t epoch) const {
  const int64_t N = dataset_size_, G = layout_.global_batch_size, total = samples_per_epoch();
  std::vector<int64_t> perm(static_cast<size_t>(N));
  std::iota(perm.begin(), perm.end(), 0);
  if (config_.shuffle) Rng(stream_key({seed_, kShuffleStream, static_cast<uint64_t>(epoch)})).shuffle(perm);
  // Whole optimizer steps: truncate (drop_last) or wrap around to the start of this order.
  std::vector<int64_t> order(static_cast<size_t>(total));
  for (int64_t i = 0; i < total; ++i) order[i] = perm[i % N];
  if (!config_.bucket_by_length) return order;

  // Sort each window of bucket_steps steps by length (stable: ties keep the shuffled order), so
  // that consecutive micro-batches hold similar lengths; then shuffle whole steps.
  const int64_t window = config_.bucket_steps * G;
  for (int64_t w = 0; w < total; w += window) {
    auto first = order.begin() + w, last = order.begin() + std::min(total, w + window);
    std::stable_sort(first, last, [&](int64_t a, int64_t b) { return lengths_[a] < lengths_[b]; });
  }
  std::vector<int64_t> steps(static_cast<size_t>(steps_per_epoch_));
  std::iota(steps.begin(), steps.end(), 0);
  Rng(stream_key({seed_, kBucketStream, static_cast<uint64_t>(epoch)})).shuffle(steps);
  std::vector<int64_t> out;
  out.reserve(order.size());
  for (int64_t s : steps) out.insert(out.end(), order.begin() + s * G, order.begin() + (s + 1) * G);
  return out;
}

const std::vector<int64_t>& Sampler::order_for(int64_t epoch) {
  if (cached_epoch_ != epoch) {
    cached_order_ = epoch_order(epoch);
    cached_epoch_ = epoch;
  }
  return cached_order_;
}

MicroBatchPlan Sampler::next() {
  const int64_t b = layout_.micro_batch_size, W = layout_.world_size, G = layout_.global_batch_size;
  const std::vector<int64_t>& order = order_for(cursor_.epoch);
  MicroBatchPlan plan;
  plan.begin = cursor_;
  plan.step = cursor_.position / G;
  plan.micro = (cursor_.position % G) / (W * b);
  plan.last_in_step = plan.micro == layout_.accumulation() - 1;
  const int64_t start = cursor_.position + layout_.rank * b;
  plan.indices.assign(order.begin() + start, order.begin() + start + b);
  cursor_.position += W * b;
  if (cursor_.position >= samples_per_epoch()) {
    ++cursor_.epoch;
    cursor_.position = 0;
  }
  plan.end = cursor_;
  return plan;
}

void Sampler::seek(const SamplerCursor& c) {
  const int64_t unit = layout_.micro_batch_size * layout_.world_size;
  EC_USER_CHECK(c.epoch >= 0 && c.position >= 0 && c.position < samples_per_epoch(), Checkpoint,
                "data cursor (epoch {}, position {}) is outside an epoch of {} samples", c.epoch, c.position,
                samples_per_epoch());
  EC_USER_CHECK(c.position % unit == 0, Checkpoint,
                "data cursor position {} is not a micro-batch boundary of this layout ({} ranks x micro batch {}); "
                "resume mid-step only with the layout that saved it",
                c.position, layout_.world_size, layout_.micro_batch_size);
  cursor_ = c;
}

std::string Sampler::lengths_digest() const {
  if (lengths_.empty()) return "";
  return Sha256().update(lengths_.data(), lengths_.size() * sizeof(int64_t)).hex_digest();
}

nlohmann::ordered_json Sampler::state() const {
  nlohmann::ordered_json j;
  j["version"] = 1;
  j["epoch"] = cursor_.epoch;
  j["position"] = cursor_.position;
  j["seed"] = seed_;
  j["dataset_size"] = dataset_size_;
  j["global_batch_size"] = layout_.global_batch_size;
  j["micro_batch_size"] = layout_.micro_batch_size;
  j["world_size"] = layout_.world_size;
  j["shuffle"] = config_.shuffle;
  j["bucket_by_length"] = config_.bucket_by_length;
  j["bucket_steps"] = config_.bucket_steps;
  j["drop_last"] = config_.drop_last;
  j["lengths_sha256"] = config_.bucket_by_length ? lengths_digest() : "";
  return j;
}

void Sampler::load_state(const nlohmann::json& j) {
  try {
    EC_USER_CHECK(j.at("version").get<int>() == 1, Checkpoint, "unsupported sampler state version {}", j.at("version").dump());
    auto same = [&](const char* key, const auto& mine) {
      using T = std::decay_t<decltype(mine)>;
      T saved = j.at(key).get<T>();
      EC_USER_CHECK(saved == mine, Checkpoint,
                    "cannot resume the data order: sampler '{}' was {} when saved, is {} now", key,
                    nlohmann::json(saved).dump(), nlohmann::json(mine).dump());
    };
    same("seed", seed_);
    same("dataset_size", dataset_size_);
    same("global_batch_size", layout_.global_batch_size);
    same("shuffle", config_.shuffle);
    same("bucket_by_length", config_.bucket_by_length);
    same("drop_last", config_.drop_last);
    if (config_.bucket_by_length) {
      same("bucket_steps", config_.bucket_steps);
      same("lengths_sha256", lengths_digest());
    }
    seek({j.at("epoch").get<int64_t>(), j.at("position").get<int64_t>()});
  } catch (const nlohmann::json::exception& e) {
    throw EC_USER_ERROR(Checkpoint, "malformed sampler state: {}", e.what());
  }
}

}  // namespace ec::data
