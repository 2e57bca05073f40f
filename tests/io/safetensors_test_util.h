// Helpers shared by the safetensors tests: tensors of every dtype, exact comparison, hand-made files.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <string>

#include "editcaption/io/safetensors.h"
#include "tests/common/test_util.h"

namespace ec::test {

/// Deterministic values of any safetensors dtype (full range for integers, normal for floats).
inline at::Tensor random_tensor(io::Dtype dtype, at::IntArrayRef shape, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  at::ScalarType st = io::to_scalar_type(dtype);
  if (dtype == io::Dtype::BOOL) return at::randint(0, 2, shape, gen, at::kLong).to(at::kBool);
  if (at::isFloatingType(st)) return (at::randn(shape, gen, at::kDouble) * 3).to(st);
  // Random bytes reinterpreted: every bit pattern of the integer type.
  int64_t n = 1;
  for (auto d : shape) n *= d;
  at::Tensor bytes = at::randint(0, 256, {n * static_cast<int64_t>(io::dtype_size(dtype))}, gen, at::kLong).to(at::kByte);
  return bytes.view(st).reshape(shape).clone();
}

/// Same dtype, shape and bytes.
inline bool bits_equal(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  at::Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), ca.numel() * ca.element_size()) == 0;
}

/// A flat JSON list of a tensor's exact values (floats as double, integers exact).
inline nlohmann::json values_json(const at::Tensor& t) {
  nlohmann::json out = nlohmann::json::array();
  at::Tensor flat = t.contiguous().flatten();
  if (t.scalar_type() == at::kBool) {
    auto p = flat.data_ptr<bool>();
    for (int64_t i = 0; i < flat.numel(); ++i) out.push_back(p[i]);
  } else if (at::isFloatingType(t.scalar_type())) {
    at::Tensor d = flat.to(at::kDouble);
    auto p = d.data_ptr<double>();
    for (int64_t i = 0; i < d.numel(); ++i) out.push_back(p[i]);
  } else if (t.scalar_type() == at::kUInt64) {
    auto p = static_cast<const uint64_t*>(flat.data_ptr());
    for (int64_t i = 0; i < flat.numel(); ++i) out.push_back(p[i]);
  } else if (t.scalar_type() == at::kUInt32) {
    auto p = static_cast<const uint32_t*>(flat.data_ptr());
    for (int64_t i = 0; i < flat.numel(); ++i) out.push_back(static_cast<uint64_t>(p[i]));
  } else if (t.scalar_type() == at::kUInt16) {
    auto p = static_cast<const uint16_t*>(flat.data_ptr());
    for (int64_t i = 0; i < flat.numel(); ++i) out.push_back(static_cast<uint64_t>(p[i]));
  } else {
    at::Tensor l = flat.to(at::kLong);
    auto p = l.data_ptr<int64_t>();
    for (int64_t i = 0; i < l.numel(); ++i) out.push_back(p[i]);
  }
  return out;
}

/// The bytes of a safetensors file with the given header text (length prefix `n`, or the text's
/// length when n < 0) followed by `data`.
inline std::string make_safetensors_bytes(const std::string& header, const std::string& data, int64_t n = -1) {
  uint64_t len = n < 0 ? header.size() : static_cast<uint64_t>(n);
  std::string out(8, '\0');
  std::memcpy(out.data(), &len, 8);
  return out + header + data;
}

}  // namespace ec::test
