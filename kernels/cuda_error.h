// The throwing half of the CUDA check macros (kernels/cuda_check.h), kept free of CUDA headers so
// that it compiles in every build.
#pragma once

namespace ec::kernels::detail {
/// Throws ec::InternalError: "<api_call> failed: <status_name> (<status>) at <file>:<line>".
[[noreturn]] void throw_cuda_error(const char* api_call, const char* status_name, long status, const char* file,
                                   int line);
}  // namespace ec::kernels::detail
