#include "kernels/cuda_error.h"

#include <fmt/format.h>

#include "editcaption/core/error.h"

namespace ec::kernels::detail {

void throw_cuda_error(const char* api_call, const char* status_name, long status, const char* file, int line) {
  throw InternalError(fmt::format("{} failed: {} ({}) at {}:{}", api_call, status_name, status, file, line));
}

}  // namespace ec::kernels::detail
