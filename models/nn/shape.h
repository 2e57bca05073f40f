// "[2, 3, 4]": tensor shapes in error messages (fmt cannot format IntArrayRef).
#pragma once

#include <ATen/Tensor.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <string>

namespace ec::nn {

inline std::string shape_str(const at::Tensor& t) {
  if (!t.defined()) return "undefined";
  return fmt::format("[{}]", fmt::join(t.sizes().vec(), ", "));
}

}  // namespace ec::nn
