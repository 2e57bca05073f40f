// Check macros. EC_CHECK guards internal invariants (a failure is a bug and throws InternalError
// with file:line); EC_USER_CHECK guards user input (throws UserError with the given exit code).
#pragma once

#include <fmt/format.h>

#include "editcaption/core/error.h"

namespace ec::detail {
[[noreturn]] void throw_internal(const char* file, int line, const char* expr, const std::string& msg);
}  // namespace ec::detail

#define EC_CHECK(cond, ...)                                                                   \
  do {                                                                                        \
    if (!(cond)) [[unlikely]] {                                                               \
      ::ec::detail::throw_internal(__FILE__, __LINE__, #cond, ::fmt::format("" __VA_ARGS__)); \
    }                                                                                         \
  } while (0)

#define EC_USER_CHECK(cond, code, ...)                                       \
  do {                                                                       \
    if (!(cond)) [[unlikely]] {                                              \
      throw ::ec::UserError(::fmt::format(__VA_ARGS__), ::ec::ExitCode::code); \
    }                                                                        \
  } while (0)

#define EC_USER_ERROR(code, ...) ::ec::UserError(::fmt::format(__VA_ARGS__), ::ec::ExitCode::code)
