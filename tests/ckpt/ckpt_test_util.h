// Synthetic training state for the checkpoint tests: tensors and JSON whose values encode the step
// and the rank, so a loaded checkpoint can be checked against the step its manifest claims.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "editcaption/ckpt/checkpoint.h"
#include "editcaption/ckpt/state.h"
#include "editcaption/core/fs.h"

namespace ec::test {

inline ckpt::CheckpointHeader header_for(int64_t step) {
  ckpt::CheckpointHeader h;
  h.step = step;
  h.epoch = step / 10;
  h.micro_step = step % 3;
  h.consumed_samples = step * 32;
  h.consumed_tokens = step * 32 * 512;
  h.config_hash = "c0ffee";
  h.reference_identity = "ref-1";
  h.extra = {{"tp", 1}};
  return h;
}

/// "model" and "optimizer" tensor files and "cursor" / "groups" JSON, every value a function of
/// (step, rank). `numel` sets the size of the big tensor.
inline ckpt::RankState state_for(int64_t step, int rank, int64_t numel = 1000) {
  ckpt::RankState s;
  float v = static_cast<float>(step * 100 + rank);
  s.tensors["model"].tensors = {{"w", at::full({numel}, v)},
                                {"b", at::arange(7, at::kBFloat16) + static_cast<double>(step)}};
  s.tensors["model"].metadata = {{"tp_rank", std::to_string(rank)}};
  s.tensors["optimizer"].tensors = {{"w.exp_avg", at::full({numel}, -v)},
                                    {"w.step", at::full({}, step, at::kLong)}};
  s.json["cursor"] = {{"step", step}, {"rank", rank}, {"position", step * 4 + rank}};
  s.json["groups"] = {{"lr", 1e-4}, {"betas", {0.9, 0.95}}, {"eps", 1e-8}, {"weight_decay", 0.1}};
  return s;
}

/// Checks that `dir` holds exactly state_for(step, rank) for every rank.
inline void expect_state(const ckpt::Checkpoint& c, int64_t step, int world_size) {
  ASSERT_EQ(c.step(), step);
  ASSERT_EQ(c.world_size(), world_size);
  EXPECT_EQ(c.header().consumed_tokens, step * 32 * 512);
  for (int r = 0; r < world_size; ++r) {
    ckpt::RankState want = state_for(step, r, c.tensors(r, "model").info("w").numel);
    ckpt::RankState got = c.load(r);
    ASSERT_EQ(got.tensors.size(), want.tensors.size());
    for (const auto& [file, tf] : want.tensors) {
      ASSERT_TRUE(got.tensors.count(file)) << file;
      EXPECT_EQ(got.tensors[file].metadata, tf.metadata);
      for (const auto& [name, t] : tf.tensors) {
        at::Tensor g;
        for (const auto& [n, gt] : got.tensors[file].tensors) {
          if (n == name) g = gt;
        }
        ASSERT_TRUE(g.defined()) << file << "/" << name;
        EXPECT_TRUE(at::equal(g, t)) << file << "/" << name << " at step " << step << " rank " << r;
      }
    }
    EXPECT_EQ(got.json, want.json);
  }
}

}  // namespace ec::test
