// Exact capture and restore of LibTorch random generators, as JSON a checkpoint can hold.
//
// A CPU generator's state is its whole mt19937 state plus cached normal samples (get_state(),
// 5056 bytes); a CUDA generator's is its seed and Philox offset. Both round-trip bit for bit:
// after restore, the generator produces exactly the numbers it would have produced at capture.
//
//   {"device": "cpu", "seed": 1234, "state": "<base64 of get_state()>"}
//   {"device": "cuda:0", "seed": 1234, "offset": 8192, "state": "<base64>"}
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

namespace ec::ckpt {

nlohmann::json capture_generator(const at::Generator& generator);
/// Throws UserError(Checkpoint) naming `what` if the state is malformed or for another device type.
void restore_generator(at::Generator& generator, const nlohmann::json& state, std::string_view what);

/// The default CPU generator and the default generators of the given CUDA devices (a rank
/// usually passes its own device): {"cpu": {...}, "cuda": [{...}, ...]}.
nlohmann::json capture_default_rng(const std::vector<at::Device>& cuda_devices = {});
/// Restores what capture_default_rng captured; UserError(Checkpoint) if a CUDA device it names
/// is not available here.
void restore_default_rng(const nlohmann::json& state, std::string_view what);

std::string base64_encode(const uint8_t* data, size_t size);
/// Throws UserError(Checkpoint) naming `what` on invalid input.
std::vector<uint8_t> base64_decode(std::string_view text, std::string_view what);

}  // namespace ec::ckpt
